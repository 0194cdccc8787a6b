"""A cache of the loaded course for the TUI's start, keyed by every lesson file's mtime and size.

Parsing and validating YAML with line numbers is pure Python and grows with the curriculum;
the TUI must draw its first screen in a blink. The parsed :class:`Course` is pickled into
the user data dir; it is used only while no lesson file (nor the loader's own code, nor the
folder list) has changed since. Any problem with the cache means a normal load.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

from tutor.course import loader

CACHE_NAME = "course-cache.pickle"
CACHE_FORMAT = 1


def _key(ctx: Any) -> str:
    dirs = ([loader.builtin_lessons_dir()] if ctx.builtin_lessons else []) + [Path(d) for d in ctx.lesson_dirs]
    parts: list[str] = [str(CACHE_FORMAT), os.getcwd(), *(str(Path(d).resolve()) for d in dirs)]
    code = [Path(loader.__file__).parent / name for name in ("loader.py", "model.py", "schema.py", "yamlsource.py")]
    for path in [*code, *loader.lesson_files(d for d in dirs if Path(d).exists())]:
        stat = path.stat()
        parts.append(f"{path}\0{stat.st_mtime_ns}\0{stat.st_size}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def load_course_cached(ctx: Any) -> Any:
    """``ctx.course``, from the cache when it is current; fills ``ctx.course`` either way."""
    if "course" in ctx.__dict__:  # already loaded (functools.cached_property stores it here)
        return ctx.course
    try:
        key = _key(ctx)
        cache_file = ctx.paths.data / CACHE_NAME
    except OSError:
        return ctx.course
    try:
        with open(cache_file, "rb") as f:
            stored_key, course = pickle.load(f)
        if stored_key == key:
            ctx.__dict__["course"] = course
            return course
    except Exception:  # noqa: BLE001 - missing, stale or unreadable: load normally
        pass
    course = ctx.course
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            pickle.dump((key, course), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache_file)
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only slower
        pass
    return course
