"""A cache of the loaded course, so a command from the shell need not parse every lesson.

Parsing and validating every YAML lesson costs a tenth of a second or more; ``check`` from
the shell has about 0.3 s in all. The loaded :class:`~tutor.course.model.Course` is kept as
JSON in the data dir, keyed by the size and mtime of every file under the lesson folders
and of the loader's own code, so any edit to a lesson (or to the loader) loads afresh.

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

CACHE_FORMAT = 1


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
            subdirs.sort()
            for name in sorted(names):
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


def load_cached(dirs: list[Path], cache_dir: Path, load: Callable[[], Any]) -> Any:
    """The course for ``dirs``: from the cache if it is current, else ``load()`` (and cached)."""
    try:
        key = cache_key(dirs)
    except OSError:
        return load()
    path = cache_dir / f"course-{key}.json"
    try:
        course = _decode(json.loads(path.read_text(encoding="utf-8")), _classes())
        if type(course).__name__ == "Course":
            return course
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    course = load()
    try:
        data = json.dumps(_encode(course), ensure_ascii=False)
    except (TypeError, ValueError):
        return course  # something the cache cannot hold: loading is always right
    try:
        from tutor.storage import atomic_write_text

        cache_dir.mkdir(parents=True, exist_ok=True)
        for old in cache_dir.glob("course-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
        atomic_write_text(path, data)
    except (OSError, ImportError):
        pass
    return course
