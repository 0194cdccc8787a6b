"""Honest timings for the CLI: how long the learner actually waited.

A result's ``duration_ms`` is the sandbox's own time (request received to verdict); from
the shell the learner also waits for this interpreter to start, the course to load and the
worker to be reached. ``waited_s`` counts from the moment this process was started (read
from /proc where there is one), so the figure printed is the one a stopwatch would show.
"""

from __future__ import annotations

import os
import time

_IMPORTED_AT = time.monotonic()


def _process_age_s() -> float | None:
    """Seconds since this process was started, from /proc (Linux), else None."""
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read().decode()
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        fields = stat[stat.rindex(")") + 2:].split()
        started_ticks = int(fields[19])  # field 22 of stat(5), counted after "(comm) "
        return max(0.0, uptime - started_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


_AGE_AT_IMPORT = _process_age_s()


def process_start() -> float:
    """The ``time.monotonic()`` value at which this process started (best effort)."""
    return _IMPORTED_AT - (_AGE_AT_IMPORT or 0.0)


def waited_s(since: float | None = None) -> float:
    """Wall seconds since ``since`` (default: since the process started)."""
    return time.monotonic() - (process_start() if since is None else since)


def timing_text(waited: float, sandbox_ms: float | None = None) -> str:
    """``1.23 s`` or ``1.23 s; sandbox 0.02 s`` — the wall figure first, the sandbox's labelled."""
    text = f"{waited:.2f} s"
    if sandbox_ms:
        text += f"; sandbox {sandbox_ms / 1000:.2f} s"
    return text
