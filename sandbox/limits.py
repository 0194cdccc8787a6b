"""Resource limits and the honest isolation report.

``apply_rlimits`` runs in the child between fork and the learner's code. Each layer is tried
on its own; what could not be enabled is reported by ``isolation_report`` rather than hidden.
Defaults and how an exercise overrides them: docs/sandbox.md.
"""

from __future__ import annotations

import os
import platform
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


def isolation_report(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Which layers are on and which are off on this machine, and why.

    The shape is ``{"level": "full"|"partial"|"basic", "layers": {name: {"on": bool,
    "why": str}}}``; the warm engine adds the namespace and Landlock layers it manages.
    """
    is_root = os.geteuid() == 0 if hasattr(os, "geteuid") else False
    linux = platform.system() == "Linux"
    layers: dict[str, dict[str, Any]] = {
        "process_group": {"on": True, "why": "own session; the whole group is killed at the end"},
        "wall_timeout": {"on": True, "why": "enforced by the supervisor, outside the child"},
        "cpu_limit": {"on": True, "why": "RLIMIT_CPU (SIGXCPU)"},
        "memory_limit": {"on": linux, "why": "RLIMIT_DATA above the worker's own size" if linux
                         else "RLIMIT_DATA is not enforced on this OS"},
        "file_size_limit": {"on": True, "why": "RLIMIT_FSIZE"},
        "open_files_limit": {"on": True, "why": "RLIMIT_NOFILE"},
        "process_limit": {"on": not is_root, "why": "RLIMIT_NPROC" if not is_root
                          else "RLIMIT_NPROC does not apply to root"},
        "scrubbed_env": {"on": True, "why": "only an allow-list of variables reaches learner code"},
        "fresh_workdir": {"on": True, "why": "a new working directory per run"},
        "verdict_out_of_process": {"on": True, "why": "checks run in a clean process; the learner's sends data only"},
    }
    if extra:
        layers.update(extra)
    off = [name for name, layer in layers.items() if not layer["on"]]
    level = "full" if not off else ("partial" if len(off) <= 3 else "basic")
    return {"level": level, "off": off, "layers": layers}
