"""The lesson loader: valid files become typed objects; each kind of invalid file gets an
error naming the file, the line and the field; one broken file never stops the others."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tutor.course import schema
from tutor.course.loader import builtin_lessons_dir, load_course, load_file
from tutor.course.model import Exercise, Lesson

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

VALID = textwrap.dedent("""\
    format_version: 1
    id: "4.2"
    title: A lesson
    prose: |
      Some **markdown**.
    examples:
      - title: An example
        code: |
          print(1)
    exercises:
      - id: add
        title: Add
        prompt: Add two tensors.
        starter: |
          def add(a, b):
              return a
        solution: |
          def add(a, b):
              return a + b
        hints:
          - first hint
          - second hint
        time_budget: 5
        needs: {extras: [onnx], device: cpu}
        checks:
          - name: adds
            function: add
            cases: |
              yield (torch.randn(2, generator=gen), torch.randn(2, generator=gen))
            tolerance: {atol: 1.0e-6}
          - name: no loops
            forbid: {loops: true}
    """)


def write(tmp_path: Path, text: str, name: str = "lesson.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def only_error(tmp_path: Path, text: str):
    lesson, errors = load_file(write(tmp_path, text))
    assert lesson is None
    assert errors, "expected an error"
    return errors


def test_valid_file_becomes_typed_objects(tmp_path: Path) -> None:
    lesson, errors = load_file(write(tmp_path, VALID))
    assert errors == []
    assert isinstance(lesson, Lesson)
    assert lesson.id == "4.2" and lesson.chapter == 4 and lesson.number == 2
    assert lesson.examples[0].title == "An example"
    ex = lesson.exercises[0]
    assert isinstance(ex, Exercise)
    assert ex.ref == "4.2/add"
    assert ex.hints == ["first hint", "second hint"]
    assert ex.time_budget == 5.0
    assert ex.extras == ["onnx"] and ex.device == "cpu"
    assert [c["kind"] for c in ex.checks] == ["function", "source"]
    # Code blocks remember the line their first line of code is on (for error messages).
    cases_line = VALID.splitlines().index("          yield (torch.randn(2, generator=gen), torch.randn(2, generator=gen))") + 1
    assert cases_line > 1
    assert ex.checks[0]["cases_line"] == cases_line


def test_builtin_lessons_load_cleanly() -> None:
    course = load_course()
    assert course.errors == [], "\n".join(map(str, course.errors))
    ids = [lesson.id for lesson in course.lessons]
    assert "1.1" in ids and "1.3" in ids
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("."))))
    refs = [ex.ref for ex in course.exercises]
    assert len(refs) == len(set(refs))


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    errors = only_error(tmp_path, "format_version: 1\nid: \"1.1\"\ntitle: [unclosed\nprose: x\n")
    assert len(errors) == 1
    assert errors[0].file.endswith("lesson.yaml")
    assert errors[0].field == "(yaml)"
    assert errors[0].line >= 3


def test_unknown_key_is_rejected_with_a_suggestion(tmp_path: Path) -> None:
    text = VALID.replace("    hints:\n", "    hint:\n      - oops\n    hints:\n")
    errors = only_error(tmp_path, text)
    (err,) = errors
    assert err.field == "exercises[0].hint"
    assert "unknown key 'hint'" in err.message and "did you mean 'hints'" in err.message
    assert err.line == text.splitlines().index("    hint:") + 1


def test_wrong_type_names_the_field_and_line(tmp_path: Path) -> None:
    text = VALID.replace("time_budget: 5", "time_budget: soon")
    (err,) = only_error(tmp_path, text)
    assert err.field == "exercises[0].time_budget"
    assert "must be a number" in err.message
    assert err.line == text.splitlines().index("    time_budget: soon") + 1


def test_missing_required_field(tmp_path: Path) -> None:
    text = VALID.replace("    solution: |\n      def add(a, b):\n          return a + b\n", "")
    (err,) = only_error(tmp_path, text)
    assert err.field == "exercises[0].solution"
    assert err.message == "is required"


def test_empty_hints_are_rejected(tmp_path: Path) -> None:
    text = VALID.replace("      - first hint\n      - second hint\n", "      - '   '\n")
    (err,) = only_error(tmp_path, text)
    assert err.field == "exercises[0].hints[0]"
    assert "must not be empty" in err.message


def test_bad_ids_are_rejected(tmp_path: Path) -> None:
    errors = only_error(tmp_path, VALID.replace('id: "4.2"', "id: 4.2"))
    assert any(e.field == "id" and "must be a string" in e.message for e in errors)
    errors = only_error(tmp_path, VALID.replace("- id: add", "- id: Add-One"))
    assert any(e.field == "exercises[0].id" and "pattern" in e.message for e in errors)


def test_duplicate_exercise_ids(tmp_path: Path) -> None:
    doc = VALID + textwrap.indent(VALID.split("exercises:\n", 1)[1], "")
    errors = only_error(tmp_path, doc)
    assert any("duplicate exercise id 'add'" in e.message for e in errors)


def test_check_needs_exactly_one_kind(tmp_path: Path) -> None:
    text = VALID.replace("      - name: no loops\n        forbid: {loops: true}\n",
                         "      - name: two kinds\n        variable: x\n        forbid: {loops: true}\n")
    (err,) = only_error(tmp_path, text)
    assert err.field == "exercises[0].checks[1]"
    assert "exactly one kind" in err.message


def test_python_syntax_error_in_code_points_at_the_yaml_line(tmp_path: Path) -> None:
    text = VALID.replace("          return a + b", "          return a +")
    (err,) = only_error(tmp_path, text)
    assert err.field == "exercises[0].solution"
    assert f"line {text.splitlines().index('          return a +') + 1}" in err.message


def test_format_version_must_be_a_known_one(tmp_path: Path) -> None:
    (err,) = only_error(tmp_path, VALID.replace("format_version: 1", "format_version: 3"))
    assert err.field == "format_version" and "must be one of 1, 2" in err.message


def test_empty_file(tmp_path: Path) -> None:
    (err,) = only_error(tmp_path, "")
    assert "empty" in err.message


def test_one_broken_file_never_stops_the_others() -> None:
    course = load_course([FIXTURES / "broken_lessons"], include_builtin=False)
    assert [lesson.id for lesson in course.lessons] == ["5.1"]
    assert len(course.errors) == 1
    assert course.errors[0].file.endswith("5.2-syntax.yaml")
    assert str(course.errors[0]).startswith(course.errors[0].file + ":")


def test_duplicate_lesson_ids_across_files(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID, "b.yaml")
    course = load_course([tmp_path], include_builtin=False)
    assert len(course.lessons) == 1
    assert any("already defined" in e.message for e in course.errors)


def test_exercise_lookup_forms() -> None:
    course = load_course()
    by_slash = course.find_exercise("1.3/standardize")
    assert by_slash is not None and by_slash.ref == "1.3/standardize"
    assert course.find_exercise("1.3.standardize") is by_slash
    position = [e.id for e in course.lesson("1.3").exercises].index("standardize") + 1
    assert course.find_exercise(f"1.3.{position}") is by_slash
    assert course.find_exercise("1.3/nope") is None
    assert course.find_exercise("99.1/x") is None


def test_shipped_json_schema_is_current() -> None:
    shipped = json.loads((ROOT / "tutor" / "schema" / "lesson.schema.json").read_text())
    assert shipped == schema.json_schema(), "run `pytorch-tutor schema > tutor/schema/lesson.schema.json`"


def test_json_schema_agrees_with_the_validator_on_the_builtin_lessons() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    # One validator, its schema checked once (``jsonschema.validate`` checks it per call),
    # and libyaml's loader where there is one: seconds less, the same verdicts.
    document = schema.json_schema()
    validator_class = jsonschema.validators.validator_for(document)
    validator_class.check_schema(document)
    validator = validator_class(document)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted(builtin_lessons_dir().rglob("*.yaml")):
        validator.validate(yaml.load(path.read_text(), Loader=loader))
    bad = yaml.safe_load(VALID.replace("time_budget: 5", "time_budget: soon"))
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(bad)


def test_a_syntax_error_in_set_up_or_check_code_is_lints_to_report(tmp_path: Path) -> None:
    """Set-up and check code are compiled by lint (author_checks), not on every cold load:
    learners never edit them, and they are most of a lesson's code."""
    for field, old, new, bad in [
        ("exercises[0].setup", "    time_budget: 5\n", "    time_budget: 5\n    setup: |\n      def helper(:\n          pass\n",
         "      def helper(:"),
        ("exercises[0].checks[0].cases", "          yield (torch.randn(2, generator=gen), torch.randn(2, generator=gen))",
         "          yield (torch.randn(2, generator=gen), torch.randn(2, generator=gen)", None),
    ]:
        text = VALID.replace(old, new, 1)
        assert text != VALID
        path = write(tmp_path, text)
        lesson, errors = load_file(path)
        assert errors == [] and lesson is not None
        lesson, errors = load_file(path, author_checks=True)
        (err,) = errors
        assert err.field == field and "syntax error" in err.message
        if bad is not None:
            assert f"line {text.splitlines().index(bad) + 1} of the file" in err.message
