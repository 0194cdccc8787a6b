"""A cache of the loaded course, so a command from the shell need not parse every lesson.

Parsing and validating every YAML lesson costs a tenth of a second or more; ``check`` from
the shell has about 0.3 s in all. The loaded :class:`~tutor.course.model.Course` is kept as
JSON in the data dir, keyed by the size and mtime of every file under the lesson folders
and of the loader's own code, so any edit to a lesson (or to the loader) loads afresh.

Each lesson is also kept in a file of its own (``course-KEY.lesson-ID.json``), and the list
of exercise refs in another (``course-KEY.refs.json``): ``check 1.3/standardize`` from the
shell, and the TUI's first screen for a returning learner, need one lesson (and the count),
and decoding one costs a millisecond where the whole course costs tens
(``load_cached_lesson``, ``load_cached_refs``).

JSON, not pickle, on purpose: learner code runs as the same user and may be able to write
the data dir; a cache it tampers with must not run code here. Only the dataclasses of
``tutor.course.model`` are rebuilt from it (an allow-list), and anything unexpected just
means a fresh load.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

CACHE_FORMAT = 2
#: Lesson ids that may name a file of their own (the loader's ids are ``N.M``; anything else
#: is only ever found through the whole course).
_FILE_SAFE_ID = frozenset("0123456789.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-")


def builtin_lessons_dir() -> Path:
    """``tutor.course.loader.builtin_lessons_dir`` without importing the loader (and YAML):
    a cache hit needs neither. tests/test_watch_files.py checks that the two agree."""
    import importlib.util

    spec = importlib.util.find_spec("pytorch_tutor_lessons")
    if spec is not None and spec.origin:
        return Path(spec.origin).parent
    return Path(__file__).resolve().parents[1] / "lessons"


def _stamps(dirs: list[Path]) -> list[str]:
    out = []
    for d in dirs:
        if d.is_file():
            st = d.stat()
            out.append(f"{d}:{st.st_size}:{st.st_mtime_ns}")
            continue
        for root, subdirs, names in os.walk(d):
            # Bytecode caches are neither lessons nor the loader: Python writes them on the
            # first import (a fresh clone's first start), which must not make the cache stale.
            subdirs[:] = sorted(s for s in subdirs if s != "__pycache__")
            for name in sorted(n for n in names if not n.endswith(".pyc")):
                path = os.path.join(root, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                out.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
        if not d.exists():
            out.append(f"{d}:missing")
    return out


def cache_key(dirs: list[Path]) -> str:
    code = Path(__file__).resolve().parent / "course"
    parts = [str(CACHE_FORMAT), *(str(d.resolve()) for d in dirs), *_stamps(dirs + [code, Path(__file__).resolve()])]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _classes() -> dict[str, type]:
    from tutor.course import model

    return {name: obj for name, obj in vars(model).items()
            if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == model.__name__}


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__dc__": type(value).__name__,
                "f": {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("only string keys")
        return {"__dict__": {k: _encode(v) for k, v in value.items()}}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _decode(value: Any, classes: dict[str, type]) -> Any:
    if isinstance(value, list):
        return [_decode(v, classes) for v in value]
    if isinstance(value, dict):
        if "__dc__" in value:
            cls = classes[value["__dc__"]]  # KeyError: not a model class; the load starts afresh
            return cls(**{k: _decode(v, classes) for k, v in value["f"].items()})
        if "__tuple__" in value:
            return tuple(_decode(v, classes) for v in value["__tuple__"])
        return {k: _decode(v, classes) for k, v in value["__dict__"].items()}
    return value


def _lesson_path(course_path: Path, lesson_id: str) -> Path | None:
    if not lesson_id or not set(lesson_id) <= _FILE_SAFE_ID or lesson_id.startswith("."):
        return None
    return course_path.with_name(f"{course_path.stem}.lesson-{lesson_id}.json")


def _refs_path(course_path: Path) -> Path:
    return course_path.with_name(f"{course_path.stem}.refs.json")


def _read(path: Path, class_name: str) -> Any:
    """The cached object in ``path`` if it is a ``class_name``; None for anything else."""
    try:
        value = _decode(json.loads(path.read_text(encoding="utf-8")), _classes())
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    return value if type(value).__name__ == class_name else None


def _write(cache_dir: Path, path: Path, course: Any) -> None:
    """The course and each of its lessons, written atomically; older caches removed."""
    try:
        files = {path: json.dumps(_encode(course), ensure_ascii=False)}
        files[_refs_path(path)] = json.dumps([exercise.ref for exercise in course.exercises], ensure_ascii=False)
        ids = [lesson.id for lesson in course.lessons]
        for lesson in course.lessons:
            lesson_path = _lesson_path(path, lesson.id)
            if lesson_path is not None and ids.count(lesson.id) == 1:
                files[lesson_path] = json.dumps(_encode(lesson), ensure_ascii=False)
    except (TypeError, ValueError, AttributeError):
        return  # something the cache cannot hold: loading is always right
    try:
        from tutor.storage import atomic_write_text

        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob("course-*.json"):
            if not old.name.startswith(f"{path.stem}."):
                old.unlink(missing_ok=True)
        # The lessons first: a course file present means its lesson files are too.
        for target, data in sorted(files.items(), key=lambda item: item[0] == path):
            atomic_write_text(target, data)
    except (OSError, ImportError):
        pass


def load_cached(dirs: list[Path], cache_dir: Path, load: Callable[[], Any], key: str | None = None) -> Any:
    """The course for ``dirs``: from the cache if it is current, else ``load()`` (and cached).
    ``key``: ``cache_key(dirs)`` if the caller has it already (each costs a walk of the lessons)."""
    try:
        key = key or cache_key(dirs)
    except OSError:
        return load()
    path = cache_dir / f"course-{key}.json"
    course = _read(path, "Course")
    if course is not None:
        return course
    course = load()
    _write(cache_dir, path, course)
    return course


def load_cached_lesson(dirs: list[Path], cache_dir: Path, lesson_id: str, key: str | None = None) -> Any:
    """Lesson ``lesson_id`` from a current cache, or None (not cached, not current, not a
    lesson there): the caller then loads the whole course, which also fills the cache."""
    try:
        key = key or cache_key(dirs)
    except OSError:
        return None
    path = _lesson_path(cache_dir / f"course-{key}.json", lesson_id)
    if path is None:
        return None
    lesson = _read(path, "Lesson")
    return lesson if lesson is not None and lesson.id == lesson_id else None


def load_cached_refs(dirs: list[Path], cache_dir: Path, key: str | None = None) -> list[str] | None:
    """Every exercise's ref, in course order, from a current cache, or None (the status bar's
    "n/N passed" before the course is decoded)."""
    try:
        path = _refs_path(cache_dir / f"course-{key or cache_key(dirs)}.json")
        refs = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
        return None
    return refs
