"""The course for the TUI's start.

This used to unpickle a cache of the parsed course from the user data dir. Unpickling runs
code, and the data dir is a place learner code may be able to write (where isolation is
partial), so a planted file would have run in the TUI: the pickle cache is gone. The fast
start comes from ``Context.course`` itself, which caches the parsed course as plain JSON
(tutor/coursecache.py, branch ``cli``). A stale pickle left by an older version is removed.
"""

from __future__ import annotations

from typing import Any

OLD_CACHE_NAME = "course-cache.pickle"


def load_course_cached(ctx: Any) -> Any:
    """``ctx.course`` (loaded once, then kept on the context)."""
    try:
        (ctx.paths.data / OLD_CACHE_NAME).unlink(missing_ok=True)
    except OSError:
        pass
    return ctx.course
