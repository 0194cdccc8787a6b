"""Finding and loading lesson files into a :class:`~tutor.course.model.Course`.

One broken file never stops the others: each problem becomes a :class:`LessonError`
(file, line, field, message) and the lesson is left out; everything else loads.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any, Iterable

from tutor.course import extras, schema, yamlsource
from tutor.course.model import Asset, Chapter, Course, Example, Exercise, Lesson, LessonError, Sample

CHECK_KINDS = ("function", "variable", "source", "stdout", "custom")


def builtin_lessons_dir() -> Path:
    """The shipped lessons: the ``pytorch_tutor_lessons`` data package, or ``lessons/`` in a checkout."""
    try:
        import pytorch_tutor_lessons  # type: ignore[import-not-found]

        return Path(pytorch_tutor_lessons.__file__).parent
    except ImportError:
        return Path(__file__).resolve().parents[2] / "lessons"


def lesson_files(dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        d = Path(d)
        if d.is_file():
            files.append(d)
            continue
        for root, subdirs, names in os.walk(d):
            subdirs[:] = sorted(s for s in subdirs if not s.startswith((".", "_")))
            files.extend(Path(root) / n for n in sorted(names) if n.endswith((".yaml", ".yml")) and not n.startswith("_"))
    return files


def check_kind(check: dict[str, Any]) -> str | None:
    kinds = []
    if "function" in check:
        kinds.append("function")
    if "variable" in check:
        kinds.append("variable")
    if "forbid" in check or "require" in check:
        kinds.append("source")
    if "stdout" in check:
        kinds.append("stdout")
    if "probe" in check or "judge" in check:
        kinds.append("custom")
    return kinds[0] if len(kinds) == 1 else None


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def load_file(path: Path, author_checks: bool = False) -> tuple[Lesson | None, list[LessonError]]:
    """One lesson file. ``author_checks`` (lint) also compiles the set-up, the check code and
    the authored mistakes and alternatives: learners never edit them, lint (and CI) proves
    them, and they are most of a lesson's code, so the tutor does not pay for that on every
    cold load."""
    shown = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [LessonError(shown, 1, "(file)", f"cannot read: {exc}")]
    try:
        doc = yamlsource.load(text)
    except yamlsource.YamlSyntaxError as exc:
        return None, [LessonError(shown, exc.line, "(yaml)", exc.message)]
    if doc.value is None:
        return None, [LessonError(shown, 1, "(file)", "the file is empty")]
    errors = [LessonError(shown, doc.line(p), schema.format_path(p), msg) for p, msg in schema.validate(doc.value)]
    if errors:
        return None, errors
    data = doc.value
    errors += _semantic_errors(data, doc, shown, str(path), author_checks)
    if errors:
        return None, errors
    abs_file = str(path.resolve())
    version = data["format_version"]
    assets = [Asset(name=a["name"], path=str(path.resolve().parent / a["file"]), file=a["file"], sha256=a["sha256"],
                    max_bytes=a["max_bytes"], source=a["source"], made_by=a["made_by"], line=doc.line(("assets", k)))
              for k, a in enumerate(data.get("assets", []))]
    asset_paths = {a.name: a.path for a in assets}
    exercises = [_exercise(ex, i, data["id"], version, asset_paths, doc, abs_file)
                 for i, ex in enumerate(data["exercises"])]
    lesson = Lesson(
        id=data["id"], title=data["title"], prose=data["prose"], exercises=exercises,
        examples=[Example(e["title"], e["code"], e.get("explanation", "")) for e in data.get("examples", [])],
        summary=data.get("summary", ""), chapter_title=data.get("chapter", ""), path=str(path),
        recordings=[str(path.resolve().parent / rel) for rel in data.get("recordings", [])],
        format_version=version, assets=assets,
    )
    return lesson, []


def _exercise(ex: dict[str, Any], i: int, lesson_id: str, version: int, asset_paths: dict[str, str],
              doc: yamlsource.Located, abs_file: str) -> Exercise:
    needs = ex.get("needs") or {}
    common = dict(id=ex["id"], lesson_id=lesson_id, title=ex["title"], prompt=ex["prompt"],
                  hints=list(ex.get("hints") or []), time_budget=float(ex.get("time_budget", 10)),
                  extras=list(needs.get("extras") or []), device=needs.get("device", "any"),
                  limits=dict(ex.get("limits") or {}), line=doc.line(("exercises", i)),
                  format_version=version, assets=dict(asset_paths))
    if ex.get("kind") == "predict":
        return Exercise(**common, kind="predict", starter="", solution="", checks=[], snippet=ex["snippet"],
                        choices=list(ex["choices"]), observe=ex.get("observe", "last_line"),
                        explanation=ex["explanation"])
    checks = []
    for j, check in enumerate(ex["checks"]):
        spec = dict(check)
        spec["kind"] = check_kind(check)
        spec["file"] = abs_file
        spec["format_version"] = version      # the harness picks v1/v2 semantics per check
        for code_key in ("cases", "probe", "judge"):
            if code_key in check:
                spec[f"{code_key}_line"] = doc.content_lines.get(("exercises", i, "checks", j, code_key), 1)
        checks.append(spec)
    setup = None
    if ex.get("setup"):
        setup = {"code": ex["setup"], "file": abs_file, "line": doc.content_lines.get(("exercises", i, "setup"), 1)}

    def samples(key: str) -> list[Sample]:
        return [Sample(s["name"], s["code"], tuple(s.get("expect") or ()), doc.line(("exercises", i, key, k)),
                       doc.content_lines.get(("exercises", i, key, k, "code"), 1))
                for k, s in enumerate(ex.get(key) or [])]

    return Exercise(**common, starter=ex["starter"], solution=ex["solution"], checks=checks, setup=setup,
                    mistakes=samples("mistakes"), alternatives=samples("alternatives"))


def _semantic_errors(data: dict[str, Any], doc: yamlsource.Located, shown: str, real: str,
                     author_checks: bool = False) -> list[LessonError]:
    """What the schema cannot say: one kind per check, unique ids and names, code that compiles,
    known extras, asset files that exist."""
    errors: list[LessonError] = []
    v2 = data["format_version"] >= 2

    def err(path: tuple[Any, ...], message: str) -> None:
        errors.append(LessonError(shown, doc.line(path), schema.format_path(path), message))

    base = Path(real).resolve().parent
    asset_names: set[str] = set()
    for k, asset in enumerate(data.get("assets", [])):
        if asset["name"] in asset_names:
            err(("assets", k, "name"), f"duplicate asset name {asset['name']!r}")
        asset_names.add(asset["name"])
        if not (base / asset["file"]).is_file():
            err(("assets", k, "file"), f"no such file {asset['file']!r} next to the lesson")
    seen: set[str] = set()
    for i, ex in enumerate(data["exercises"]):
        if ex["id"] in seen:
            err(("exercises", i, "id"), f"duplicate exercise id {ex['id']!r} in this lesson")
        seen.add(ex["id"])
        for n, name in enumerate((ex.get("needs") or {}).get("extras") or []):
            if name not in extras.KNOWN:
                err(("exercises", i, "needs", "extras", n),
                    f"unknown extra {name!r}; known: {', '.join(extras.KNOWN)} (a new one is added to "
                    f"tutor/course/extras.py and to an extras group in pyproject.toml)")
        if ex.get("kind") == "predict":
            _compile_error(ex["snippet"], doc.content_lines.get(("exercises", i, "snippet"), 1),
                           ("exercises", i, "snippet"), err)
            continue
        # What learners see and run is compiled at every load; what only the checker runs (set-up,
        # check code) and what only lint runs (mistakes, alternatives) is compiled by lint
        # (``author_checks``): two thirds of the course's code, most of a cold load's time.
        for key in ("starter", "solution", "setup") if author_checks else ("starter", "solution"):
            if key in ex:
                _compile_error(ex[key], doc.content_lines.get(("exercises", i, key), 1), ("exercises", i, key), err)
        for key in ("mistakes", "alternatives"):
            sample_names: set[str] = set()
            for k, sample in enumerate(ex.get(key) or []):
                if sample["name"] in sample_names:
                    err(("exercises", i, key, k, "name"), f"duplicate name {sample['name']!r} in `{key}`")
                sample_names.add(sample["name"])
                if author_checks:
                    _compile_error(sample["code"], doc.content_lines.get(("exercises", i, key, k, "code"), 1),
                                   ("exercises", i, key, k, "code"), err)
        names: set[str] = set()
        for j, check in enumerate(ex["checks"]):
            path = ("exercises", i, "checks", j)
            kind = check_kind(check)
            if kind is None:
                err(path, "a check needs exactly one kind: `function`, `variable`, `forbid`/`require`, "
                          "`stdout`, or `probe` with `judge`")
                continue
            if check["name"] in names:
                err(path + ("name",), f"duplicate check name {check['name']!r}")
            names.add(check["name"])
            if kind == "custom" and not ("probe" in check and "judge" in check):
                err(path, "a custom check needs both `probe` and `judge`")
            if "cases" in check and kind != "function" and not (v2 and kind == "custom"):
                err(path + ("cases",), "`cases` only applies to `function` and (format v2) `custom` checks"
                    if v2 else "`cases` only applies to a `function` check")
            if "mutates" in check and kind != "function":
                err(path + ("mutates",), "`mutates` only applies to a `function` check")
            if "on_device" in check and kind not in ("function", "custom"):
                err(path + ("on_device",), "`on_device` only applies to `function` and `custom` checks")
            if "tolerance" in check and kind not in ("function", "variable"):
                err(path + ("tolerance",), "`tolerance` only applies to `function` and `variable` checks")
            if "scope" in check and kind != "source":
                err(path + ("scope",), "`scope` only applies to `forbid`/`require` checks")
            for key in ("cases", "probe", "judge") if author_checks else ():
                if key in check:
                    _compile_error("def _():\n" + _indent(check[key]), doc.content_lines.get(path + (key,), 1) - 1,
                                   path + (key,), err)
    for k, example in enumerate(data.get("examples", [])):
        _compile_error(example["code"], doc.content_lines.get(("examples", k, "code"), 1), ("examples", k, "code"), err)
    return errors


def _indent(code: str) -> str:
    return "".join("    " + line if line.strip() else line for line in (code.rstrip() or "pass").splitlines(True)) + "\n"


def _compile_error(code: str, first_line: int, path: tuple[Any, ...], err: Any) -> None:
    try:
        ast.parse(code)
    except SyntaxError as exc:
        line = first_line + (exc.lineno or 1) - 1
        errors_path = path
        err(errors_path, f"Python syntax error on line {line} of the file: {exc.msg}")


def load_course(extra_dirs: Iterable[Path] = (), include_builtin: bool = True, author_checks: bool = False) -> Course:
    dirs = ([builtin_lessons_dir()] if include_builtin else []) + [Path(d) for d in extra_dirs]
    errors: list[LessonError] = []
    lessons: dict[str, Lesson] = {}
    for d in dirs:
        if not Path(d).exists():
            errors.append(LessonError(str(d), 1, "(folder)", "no such lesson folder"))
    for path in lesson_files(d for d in dirs if Path(d).exists()):
        lesson, problems = load_file(path, author_checks)
        errors.extend(problems)
        if lesson is None:
            continue
        if lesson.id in lessons:
            errors.append(LessonError(_display(path), 1, "id",
                                      f"lesson {lesson.id} is already defined in {_display(Path(lessons[lesson.id].path))}"))
            continue
        lessons[lesson.id] = lesson
    by_chapter: dict[int, list[Lesson]] = {}
    for lesson in lessons.values():
        by_chapter.setdefault(lesson.chapter, []).append(lesson)
    chapters = []
    for number in sorted(by_chapter):
        members = sorted(by_chapter[number], key=lambda l: l.number)
        title = next((l.chapter_title for l in members if l.chapter_title), f"Chapter {number}")
        chapters.append(Chapter(number, title, members))
    return Course(chapters, errors)
