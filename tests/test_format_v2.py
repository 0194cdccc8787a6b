"""Lesson format v2, the parts that need no sandbox: the loader turns v2 files (assets, mistakes,
alternatives, predict questions, per-check keys) into typed objects, names file:line:field for
every malformed one, v1 files still load, the JSON Schema agrees with the validator, extras are
mapped to install commands, and Markdown becomes plain text for the CLI."""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import pytest
import yaml

from tutor.course import extras, schema
from tutor.course.assets import asset_problems
from tutor.course.loader import load_course, load_file
from tutor.mdplain import to_plain

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOOD = FIXTURES / "format_v2" / "9.5-v2.yaml"

V2 = textwrap.dedent("""\
    format_version: 2
    id: "4.7"
    title: A v2 lesson
    prose: Some prose.
    exercises:
      - id: double
        title: Double
        prompt: Double it.
        starter: |
          def double(x):
              return x
        solution: |
          def double(x):
              return 2 * x
        hints: [multiply]
        needs: {extras: [onnx]}
        checks:
          - name: doubles
            function: double
            mutates: true
            budget: 2.5
            cases: |
              yield (torch.randn(3, generator=gen),)
          - name: custom with cases
            cases: |
              return [1, 2]
            probe: |
              return learner.double(case)
            judge: |
              if outputs != [2, 4]:
                  fail("no")
        mistakes:
          - name: adds one
            code: |
              def double(x):
                  return x + 1
            expect: [double]
        alternatives:
          - name: adds itself
            code: |
              def double(x):
                  return x + x
      - id: guess
        kind: predict
        title: Guess
        prompt: What prints?
        snippet: |
          print(1 + 1)
        choices: ["1", "2"]
        explanation: One plus one.
    """)


def load(tmp_path: Path, text: str, author_checks: bool = True):
    path = tmp_path / "lesson.yaml"
    path.write_text(text, encoding="utf-8")
    return load_file(path, author_checks=author_checks)


def errors_of(tmp_path: Path, text: str):
    lesson, errors = load(tmp_path, text)
    assert lesson is None and errors, "expected the file to be refused"
    return errors


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_v2_file_becomes_typed_objects(tmp_path: Path) -> None:
    lesson, errors = load(tmp_path, V2)
    assert errors == []
    assert lesson.format_version == 2
    code, question = lesson.exercises
    assert (code.kind, code.format_version, question.kind) == ("code", 2, "predict")
    assert code.checks[0]["mutates"] is True and code.checks[0]["budget"] == 2.5
    assert [c["kind"] for c in code.checks] == ["function", "custom"]
    assert code.checks[1]["cases_line"] == line_of(V2, "return [1, 2]")
    (mistake,) = code.mistakes
    assert mistake.name == "adds one" and mistake.expect == ("double",) and "x + 1" in mistake.code
    assert mistake.code_line == line_of(V2, "return x + 1") - 1   # the block's first line of code
    assert [a.name for a in code.alternatives] == ["adds itself"]
    assert question.choices == ["1", "2"] and question.observe == "last_line"
    assert question.snippet.startswith("print") and question.checks == [] and question.explanation


def test_shipped_v2_fixture_loads_with_its_assets() -> None:
    lesson, errors = load_file(GOOD)
    assert errors == []
    (asset,) = lesson.assets
    assert Path(asset.path) == GOOD.parent / "assets" / "points.csv"
    assert all(ex.assets == {"points": asset.path} for ex in lesson.exercises)
    assert asset_problems(lesson) == []


def test_v1_files_still_load_and_v2_keys_need_v2(tmp_path: Path) -> None:
    course = load_course([FIXTURES / "lint_good.yaml"], include_builtin=False)
    assert course.errors == [] and course.lessons[0].format_version == 1
    assert course.exercises[0].kind == "code" and course.exercises[0].format_version == 1
    v1 = V2.replace("format_version: 2", "format_version: 1")
    errors = errors_of(tmp_path, v1)
    by_field = {e.field: e for e in errors}
    for field in ("exercises[0].checks[0].mutates", "exercises[0].mistakes", "exercises[1].kind"):
        assert "needs `format_version: 2`" in by_field[field].message, field
    assert by_field["exercises[0].mistakes"].line == line_of(v1, "mistakes:")


@pytest.mark.parametrize("change, field, words, where", [
    (("    choices: [\"1\", \"2\"]", "    choices: [\"2\", \"2\"]"), "exercises[1].choices[1]", "listed twice",
     "choices:"),
    (("    choices: [\"1\", \"2\"]", "    choices: [\"2\"]"), "exercises[1].choices", "at least 2", "choices:"),
    (("    kind: predict", "    kind: quiz"), "exercises[1].kind", "must be one of 'code', 'predict'", "kind: quiz"),
    (("    explanation: One plus one.\n", ""), "exercises[1].explanation", "is required", "- id: guess"),
    (("        expect: [double]", "        expect: []"), "exercises[0].mistakes[0].expect", "at least 1", "expect: []"),
    (("        expect: [double]\n", ""), "exercises[0].mistakes[0].expect", "is required", "- name: adds one"),
    (("        budget: 2.5", "        budget: 0"), "exercises[0].checks[0].budget", "at least 0.1", "budget: 0"),
    (("        mutates: true", "        mutates: yes please"), "exercises[0].checks[0].mutates", "true or false",
     "mutates: yes"),
    (("    needs: {extras: [onnx]}", "    needs: {extras: [onnxx]}"), "exercises[0].needs.extras[0]", "unknown extra",
     "needs:"),
])
def test_malformed_v2_files_name_file_line_and_field(tmp_path: Path, change, field, words, where) -> None:
    text = V2.replace(*change)
    assert text != V2
    errors = errors_of(tmp_path, text)
    (err,) = [e for e in errors if e.field == field]
    assert words in err.message
    assert str(err) == f"{err.file}:{err.line}: {field}: {err.message}"
    assert err.file.endswith("lesson.yaml")
    assert err.line == line_of(text, where)


def test_a_mistake_and_an_alternative_may_share_a_name(tmp_path: Path) -> None:
    assert load(tmp_path, V2.replace("      - name: adds itself", "      - name: adds one"))[1] == []


def test_semantic_errors_in_v2_parts(tmp_path: Path) -> None:
    text = V2.replace("          def double(x):\n              return x + 1",
                      "          def double(x)\n              return x + 1")
    (err,) = errors_of(tmp_path, text)
    assert err.field == "exercises[0].mistakes[0].code" and "syntax error" in err.message
    broken = next(n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "def double(x)")
    assert f"line {broken} of the file" in err.message
    # The tutor itself does not compile authored samples (learners never run them); lint does.
    assert load(tmp_path, text, author_checks=False)[1] == []
    twice = V2.replace("    alternatives:\n      - name: adds itself\n        code: |\n"
                       "          def double(x):\n              return x + x\n",
                       "    alternatives:\n      - name: adds itself\n        code: |\n"
                       "          def double(x):\n              return x + x\n"
                       "      - name: adds itself\n        code: |\n"
                       "          def double(x):\n              return x * 2\n")
    assert twice != V2
    (err,) = errors_of(tmp_path, twice)
    assert err.field == "exercises[0].alternatives[1].name" and "duplicate" in err.message
    snippet = V2.replace("      print(1 + 1)", "      print(1 +)")
    (err,) = errors_of(tmp_path, snippet)
    assert err.field == "exercises[1].snippet"
    assert f"line {line_of(snippet, 'print(1 +)')}" in err.message
    mutates_on_custom = V2.replace("        judge: |", "        mutates: false\n        judge: |")
    (err,) = errors_of(tmp_path, mutates_on_custom)
    assert err.field == "exercises[0].checks[1].mutates"


def test_asset_keys_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "a.bin").write_bytes(b"abc")
    asset = textwrap.dedent("""\
        assets:
          - name: data
            file: assets/a.bin
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            max_bytes: 10
            source: "made up; CC0-1.0"
            made_by: scripts/assets/make_a.py
        """)
    good = V2.replace("exercises:\n", asset + "exercises:\n", 1)
    lesson, errors = load(tmp_path, good)
    assert errors == [] and lesson.assets[0].path == str(tmp_path / "assets" / "a.bin")
    problems = asset_problems(lesson)  # hash and size are right; the script is not in any folder above
    assert len(problems) == 1 and "made_by" in problems[0]
    for old, new, field, words in [
        ("file: assets/a.bin", "file: assets/b.bin", "assets[0].file", "no such file"),
        ("file: assets/a.bin", "file: ../a.bin", "assets[0].file", "relative to the lesson"),
        ('sha256: "ba78', 'sha256: "BA78', "assets[0].sha256", "pattern"),
        ("max_bytes: 10", "max_bytes: 99000000", "assets[0].max_bytes", "at most"),
        ('source: "made up; CC0-1.0"', 'source: ""', "assets[0].source", "must not be empty"),
        ("made_by: scripts/assets/make_a.py", "made_by: /abs/make.py", "assets[0].made_by", "repository root"),
    ]:
        errors = errors_of(tmp_path, good.replace(old, new))
        (err,) = [e for e in errors if e.field == field]
        assert words in err.message, (field, err.message)
        assert err.line == line_of(good.replace(old, new), new)


def test_bad_asset_hash_and_size_are_lint_problems(tmp_path: Path) -> None:
    lesson, errors = load_file(FIXTURES / "format_v2_bad" / "9.6-weak.yaml")
    assert errors == []
    problems = asset_problems(lesson)
    assert any("sha256 of assets/points.csv is df3d1ffe" in p and "the lesson says 0000" in p for p in problems)
    assert any("102 bytes, over its max_bytes 50" in p for p in problems)
    assert all(p.startswith(f"{lesson.path}:") for p in problems)


def test_json_schema_agrees_with_the_validator_on_v2() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    full = schema.json_schema()
    jsonschema.Draft202012Validator.check_schema(full)
    for path in [GOOD, FIXTURES / "format_v2_bad" / "9.6-weak.yaml", FIXTURES / "lint_good.yaml"]:
        data = yaml.safe_load(path.read_text())
        assert schema.validate(data) == []
        jsonschema.validate(data, full)
    data = yaml.safe_load(V2)
    jsonschema.validate(data, full)
    bad_docs = [
        V2.replace("    kind: predict", "    kind: quiz"),
        V2.replace("    choices: [\"1\", \"2\"]", "    choices: [\"2\", \"2\"]"),
        V2.replace("        budget: 2.5", "        budget: soon"),
        V2.replace("        expect: [double]\n", ""),
        V2.replace("format_version: 2", "format_version: 1"),       # v2 keys in a v1 file
        V2.replace("format_version: 2", "format_version: 3"),
        V2.replace("    snippet: |", "    starter: |\n      x = 1\n    snippet: |"),   # code keys on a question
    ]
    for text in bad_docs:
        assert text != V2
        data = yaml.safe_load(text)
        assert schema.validate(data), text
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data, full)


def test_every_known_extra_has_its_group_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    groups = config["project"]["optional-dependencies"]

    def names(requirements: list[str]) -> set[str]:
        return {r.split(">")[0].split("=")[0].split("[")[0].strip().lower() for r in requirements}

    for extra in extras.KNOWN.values():
        assert extra.package in names(groups[extra.group]), extra
    listed = set().union(*(names(groups[g]) for g in groups if g not in ("dev", "all")))
    assert listed == set(extras.KNOWN), "every package of an extras group is known to tutor/course/extras.py"
    (everything,) = groups["all"]
    in_all = set(everything.split("[")[1].rstrip("]").split(","))
    # torchaudio pins one torch release per version: installing `all` must never replace torch.
    assert in_all == set(groups) - {"dev", "all", "audio"}


def test_missing_extras_name_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    extras.forget()
    monkeypatch.setattr(extras, "_probe", lambda python, modules: {m: m != "onnx" for m in modules})
    lesson, _ = load_file(GOOD)

    class Ex:
        ref = "9.5/export"
        extras = ["onnx", "onnxruntime", "fastapi"]

    assert extras.missing_extras(Ex()) == ["onnx"]
    message = extras.extras_problem(Ex())
    assert message and "9.5/export needs onnx" in message and "pip install 'pytorch-tutor[deploy]'" in message
    assert extras.install_command(["fastapi", "onnx", "scikit-learn"]) == "pip install 'pytorch-tutor[data,deploy,serve]'"
    assert extras.extras_problem(lesson.exercises[0]) is None
    extras.forget()


@pytest.mark.subprocess  # extras._probe runs the other interpreter (not visible in this file's source)
def test_availability_is_asked_of_the_worker_interpreter(tmp_path: Path) -> None:
    import os
    import sys

    extras.forget()
    # Another interpreter (here a wrapper around this one: another path) is asked in a subprocess.
    other = tmp_path / "python"
    other.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    os.chmod(other, 0o755)
    assert extras._probe(str(other), ["json", "no_such_module_xyz"]) == {"json": True, "no_such_module_xyz": False}
    # One that cannot be asked must not block the exercise (the check itself will say what is missing).
    assert extras._probe(str(tmp_path / "missing-python"), ["no_such_module_xyz"]) == {"no_such_module_xyz": True}
    assert extras._probe(sys.executable, ["json", "no_such_module_xyz"]) == {"json": True, "no_such_module_xyz": False}
    extras.forget()


def test_markdown_becomes_plain_text() -> None:
    md = textwrap.dedent("""\
        ## Shapes
        Use **`x.sum(dim=0)`** and *keepdim*; see [the docs](https://pytorch.org/docs).
        - first **bold** item
        * second item
        > a _quoted_ note
        ```python
        y = x ** 2  # **not bold**
        ```
        snake_case_name and 2*3*4 stay; \\*literal stars\\*
        """)
    assert to_plain(md).splitlines() == [
        "Shapes",
        "Use x.sum(dim=0) and keepdim; see the docs (https://pytorch.org/docs).",
        "- first bold item",
        "- second item",
        "  a quoted note",
        "    y = x ** 2  # **not bold**",
        "snake_case_name and 2*3*4 stay; *literal stars*",
    ]
    assert to_plain("plain") == "plain"


def test_progress_records_predict_answers(tmp_path: Path) -> None:
    from tutor.progress import Progress, progress_problems

    progress = Progress.load(tmp_path / "progress.json")
    progress.record_answer("9.5/predict_keepdim", 1, correct=False)
    progress.record_answer("9.5/predict_keepdim", 2, correct=True)
    again = Progress.load(tmp_path / "progress.json")
    item = again.data["exercises"]["9.5/predict_keepdim"]
    assert (item["first_answer"], item["last_answer"], item["attempts"], item["state"]) == (1, 2, 2, "passed")
    assert progress_problems(again.data) == []
    item["first_answer"] = 0
    assert any("first_answer" in p for p in progress_problems(again.data))
