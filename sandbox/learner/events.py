"""The learner-side end of the event descriptor.

Learner-side helpers (``show``, metrics) and the child harness write JSON lines to the file
descriptor named by ``PYTORCH_TUTOR_EVENT_FD``. Outside the sandbox the variable is unset
and :func:`emit` returns ``False``, so callers can fall back to plain text.
"""

from __future__ import annotations

import os
from typing import Any

from sandbox.protocol import encode

EVENT_FD_ENV = "PYTORCH_TUTOR_EVENT_FD"

_fd: int | None = None
_resolved = False


def event_fd() -> int | None:
    global _fd, _resolved
    if not _resolved:
        _resolved = True
        raw = os.environ.get(EVENT_FD_ENV, "")
        _fd = int(raw) if raw.isdigit() else None
    return _fd


def reset(fd: int | None) -> None:
    """Point the emitter at ``fd`` (the harness calls this in a freshly forked child)."""
    global _fd, _resolved
    _fd, _resolved = fd, True


def emit(event: dict[str, Any]) -> bool:
    fd = event_fd()
    if fd is None:
        return False
    data = encode(event)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except OSError:
        return False
    return True


def in_sandbox() -> bool:
    return event_fd() is not None
