"""The course cache (tutor/coursecache.py): current, refreshed on any edit, never trusted.

A command from the shell reads the course, or one lesson of it, from JSON in the data dir.
The data dir may be writable by learner code, so a tampered file must only ever mean a
fresh load, and a lesson file must never outlive the course it was cut from.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tutor.context import Context
from tutor.course.loader import builtin_lessons_dir, load_course
from tutor.coursecache import cache_key, load_cached, load_cached_lesson


@pytest.fixture()
def lessons(tmp_path: Path) -> Path:
    """A copy of chapter 1, so lessons can be edited."""
    target = tmp_path / "lessons"
    shutil.copytree(builtin_lessons_dir() / "ch01", target / "ch01")
    return target


def _load_counting(dirs: list[Path], calls: list[int]):
    def load():
        calls.append(1)
        return load_course(dirs, include_builtin=False)
    return load


def test_second_load_is_a_hit_and_equal_to_a_fresh_load(lessons: Path, tmp_path: Path) -> None:
    calls: list[int] = []
    cache = tmp_path / "cache"
    first = load_cached([lessons], cache, _load_counting([lessons], calls))
    second = load_cached([lessons], cache, _load_counting([lessons], calls))
    assert calls == [1]
    assert second == first
    assert [lesson.id for lesson in second.lessons] == ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6"]


def test_each_lesson_has_its_own_file_equal_to_the_course_lesson(lessons: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    course = load_cached([lessons], cache, _load_counting([lessons], []))
    for lesson in course.lessons:
        assert load_cached_lesson([lessons], cache, lesson.id) == lesson
    assert load_cached_lesson([lessons], cache, "9.9") is None
    assert load_cached_lesson([lessons], cache, "../course") is None


def test_an_edited_lesson_makes_both_caches_stale(lessons: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    calls: list[int] = []
    load_cached([lessons], cache, _load_counting([lessons], calls))
    path = next((lessons / "ch01").glob("1.3-*.yaml"))
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title: \"", "title: \"Edited ", 1), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_cached_lesson([lessons], cache, "1.3") is None  # stale: the caller loads afresh
    course = load_cached([lessons], cache, _load_counting([lessons], calls))
    assert calls == [1, 1]
    assert course.lesson("1.3").title.startswith("Edited")
    assert load_cached_lesson([lessons], cache, "1.3").title.startswith("Edited")
    # Only the current key's files are kept.
    key = cache_key([lessons])
    assert {p.name.split(".")[0] for p in cache.iterdir()} == {f"course-{key}"}


@pytest.mark.parametrize("payload", [
    "not json",
    json.dumps({"__dc__": "Popen", "f": {"args": ["true"]}}),  # not a model class
    json.dumps({"__dc__": "Chapter", "f": {"number": 1, "title": "x", "lessons": []}}),  # the wrong class
    "[" * 100_000 + "]" * 100_000,  # deep enough to overflow the decoder's recursion
])
def test_a_tampered_file_means_a_fresh_load(lessons: Path, tmp_path: Path, payload: str) -> None:
    cache = tmp_path / "cache"
    calls: list[int] = []
    good = load_cached([lessons], cache, _load_counting([lessons], calls))
    key = cache_key([lessons])
    (cache / f"course-{key}.json").write_text(payload, encoding="utf-8")
    (cache / f"course-{key}.lesson-1.3.json").write_text(payload, encoding="utf-8")
    assert load_cached_lesson([lessons], cache, "1.3") is None
    assert load_cached([lessons], cache, _load_counting([lessons], calls)) == good
    assert calls == [1, 1]


def test_a_lesson_file_naming_another_lesson_is_refused(lessons: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_cached([lessons], cache, _load_counting([lessons], []))
    key = cache_key([lessons])
    shutil.copy(cache / f"course-{key}.lesson-1.1.json", cache / f"course-{key}.lesson-1.3.json")
    assert load_cached_lesson([lessons], cache, "1.3") is None


def test_context_finds_an_exercise_from_its_lesson_file_alone(lessons: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PYTORCH_TUTOR_DATA", str(tmp_path / "data"))
    first = Context(workspace=str(tmp_path / "ws"), lesson_dirs=[str(lessons)], builtin_lessons=False)
    expected = first.find_exercise("1.3/standardize")  # a miss: loads the course, fills the cache
    assert "course" in first.__dict__
    second = Context(workspace=str(tmp_path / "ws"), lesson_dirs=[str(lessons)], builtin_lessons=False)
    found = second.find_exercise("1.3/standardize")
    assert found == expected and found.ref == "1.3/standardize"
    assert "course" not in second.__dict__  # the whole course was never decoded
    assert second.find_exercise("1.3/no_such_slug") is None
    assert second.find_exercise("1.3.standardize") == expected  # other spellings: the whole course


def test_the_refs_file_lists_every_exercise_and_a_tampered_one_is_refused(lessons: Path, tmp_path: Path) -> None:
    from tutor.coursecache import load_cached_refs

    cache = tmp_path / "cache"
    assert load_cached_refs([lessons], cache) is None  # nothing cached yet
    course = load_cached([lessons], cache, _load_counting([lessons], []))
    assert load_cached_refs([lessons], cache) == [exercise.ref for exercise in course.exercises]
    key = cache_key([lessons])
    for payload in ('{"a": 1}', "[1, 2]", "nope"):
        (cache / f"course-{key}.refs.json").write_text(payload, encoding="utf-8")
        assert load_cached_refs([lessons], cache) is None


def test_context_counts_and_lessons_before_the_course_is_loaded(lessons: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PYTORCH_TUTOR_DATA", str(tmp_path / "data"))
    warm = Context(workspace=str(tmp_path / "ws"), lesson_dirs=[str(lessons)], builtin_lessons=False)
    refs = [exercise.ref for exercise in warm.course.exercises]  # fills the cache
    ctx = Context(workspace=str(tmp_path / "ws"), lesson_dirs=[str(lessons)], builtin_lessons=False)
    assert ctx.exercise_refs() == refs
    assert ctx.lesson("1.2") == warm.course.lesson("1.2")
    assert "course" not in ctx.__dict__
    assert ctx.lesson("7.7") is None  # not in this course: the whole course says so
    assert "course" in ctx.__dict__
    assert ctx.lesson("1.2") is ctx.course.lesson("1.2")  # once loaded, the course's own lesson


def test_bytecode_written_by_a_first_import_does_not_make_the_cache_stale(tmp_path: Path) -> None:
    # A fresh clone's first start imports the loader, and Python writes __pycache__ beside
    # it and beside any lesson module: the second start must still hit the cache.
    lessons = tmp_path / "lessons"
    shutil.copytree(builtin_lessons_dir() / "ch01", lessons / "ch01")
    before = cache_key([lessons])
    (lessons / "ch01" / "__pycache__").mkdir()
    (lessons / "ch01" / "__pycache__" / "helper.cpython-311.pyc").write_bytes(b"\x00" * 16)
    (lessons / "ch01" / "stray.pyc").write_bytes(b"\x00" * 16)
    assert cache_key([lessons]) == before
    (lessons / "ch01" / "notes.yaml").write_text("x: 1\n", encoding="utf-8")
    assert cache_key([lessons]) != before, "any other new file still changes the key"
