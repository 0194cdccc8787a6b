"""Resource limits (rlimits) of one sandboxed process.

``apply_rlimits`` runs in the child between fork and the learner's code. Each limit is tried
on its own and the result says which took effect (the isolation report is built from it:
:mod:`sandbox.isolation.report`). Defaults and how an exercise overrides them: docs/sandbox.md.
"""

from __future__ import annotations

import os
import resource
from typing import Any

from sandbox.protocol import Limits

MB = 1024 * 1024


def current_data_bytes() -> int:
    """VmData of this process (what RLIMIT_DATA counts), or 0 where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _set(which: int, value: int) -> bool:
    try:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY and value > hard:
            value = hard
        resource.setrlimit(which, (value, hard if which != resource.RLIMIT_CPU else max(value + 1, value)))
        return True
    except (ValueError, OSError):
        return False


def apply_rlimits(limits: Limits, *, data_limit: bool = True) -> dict[str, bool]:
    """Apply the per-run rlimits to this process. Returns which ones took effect."""
    applied: dict[str, bool] = {}
    cpu = limits.cpu_s if limits.cpu_s is not None else limits.timeout_s
    # RLIMIT_CPU is whole seconds; a soft limit below the hard one delivers SIGXCPU first.
    cpu_soft = max(1, int(cpu + 0.999))
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        new_hard = cpu_soft + 2
        if hard != resource.RLIM_INFINITY:
            new_hard = min(new_hard, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (min(cpu_soft, new_hard), new_hard))
        applied["cpu"] = True
    except (ValueError, OSError):
        applied["cpu"] = False
    if data_limit and limits.memory_mb > 0:
        applied["memory"] = _set(resource.RLIMIT_DATA, current_data_bytes() + limits.memory_mb * MB)
    else:
        applied["memory"] = False
    applied["file_size"] = _set(resource.RLIMIT_FSIZE, limits.file_size_mb * MB)
    applied["open_files"] = _set(resource.RLIMIT_NOFILE, limits.open_files)
    applied["core"] = _set(resource.RLIMIT_CORE, 0)
    if hasattr(resource, "RLIMIT_NPROC"):
        applied["processes"] = _set(resource.RLIMIT_NPROC, limits.processes) and os.geteuid() != 0
    return applied
