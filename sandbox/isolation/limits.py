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


def _vm_bytes() -> dict[str, int]:
    """VmData (what RLIMIT_DATA counts) and VmSize (what RLIMIT_AS counts) of this process."""
    found: dict[str, int] = {}
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh.read().split(b"\n"):
                if line.startswith((b"VmData:", b"VmSize:")):
                    found[line[:6].decode()] = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return found


def current_data_bytes() -> int:
    return _vm_bytes().get("VmData", 0)


def current_vm_bytes() -> int:
    return _vm_bytes().get("VmSize", 0)


#: Address space allowed above the run's memory limit, for what is reserved but not used:
#: thread stacks, malloc arenas, torch's allocator pools.
AS_HEADROOM_MB = 1024


def _set(which: int, value: int) -> bool:
    try:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY and value > hard:
            value = hard
        # The hard limit too: a soft limit alone, the learner's code could raise again.
        resource.setrlimit(which, (value, value))
        return True
    except (ValueError, OSError):
        return False


def _layer(on: bool, why_on: str, why_off: str) -> dict[str, Any]:
    return {"on": bool(on), "why": why_on if on else why_off}


def apply_rlimits(limits: Limits, *, data_limit: bool = True, as_limit: bool = True) -> dict[str, dict[str, Any]]:
    """Apply the per-run rlimits to this process. Returns each limit as a report layer
    (``{"on", "why"}``), from what the kernel accepted."""
    applied: dict[str, dict[str, Any]] = {}
    cpu = limits.cpu_s if limits.cpu_s is not None else limits.timeout_s
    # RLIMIT_CPU is whole seconds; a soft limit below the hard one delivers SIGXCPU first.
    cpu_soft = max(1, int(cpu + 0.999))
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        new_hard = cpu_soft + 2
        if hard != resource.RLIM_INFINITY:
            new_hard = min(new_hard, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (min(cpu_soft, new_hard), new_hard))
        applied["cpu_limit"] = _layer(True, f"RLIMIT_CPU {cpu_soft} s (SIGXCPU)", "")
    except (ValueError, OSError) as exc:
        applied["cpu_limit"] = _layer(False, "", f"RLIMIT_CPU refused: {exc}")
    mem = limits.memory_mb
    sizes = _vm_bytes()
    if mem <= 0:
        applied["memory_limit"] = _layer(False, "", "this exercise sets no memory limit")
        applied["shared_memory_limit"] = _layer(False, "", "this exercise sets no memory limit")
    else:
        if data_limit:
            ok = _set(resource.RLIMIT_DATA, sizes.get("VmData", 0) + mem * MB)
            applied["memory_limit"] = _layer(ok, f"RLIMIT_DATA: {mem} MiB above the warm process's own size",
                                             "RLIMIT_DATA refused by the kernel")
        else:
            applied["memory_limit"] = _layer(False, "", "off on this device: its driver reserves memory that "
                                             "RLIMIT_DATA would count; the device memory fraction applies")
        if as_limit and data_limit:
            ok = _set(resource.RLIMIT_AS, sizes.get("VmSize", 0) + (mem + AS_HEADROOM_MB) * MB)
            applied["shared_memory_limit"] = _layer(
                ok, f"RLIMIT_AS: {mem} + {AS_HEADROOM_MB} MiB headroom above the process's address space, so "
                    "shared mappings count too; each private tmpfs is capped as well",
                "RLIMIT_AS refused by the kernel")
        else:
            applied["shared_memory_limit"] = _layer(False, "", "RLIMIT_AS is off where the device driver reserves "
                                                    "address space (CUDA); cgroup v2 memory.max is not used")
    applied["file_size_limit"] = _layer(_set(resource.RLIMIT_FSIZE, limits.file_size_mb * MB),
                                        f"RLIMIT_FSIZE {limits.file_size_mb} MiB", "RLIMIT_FSIZE refused")
    applied["open_files_limit"] = _layer(_set(resource.RLIMIT_NOFILE, limits.open_files),
                                         f"RLIMIT_NOFILE {limits.open_files}", "RLIMIT_NOFILE refused")
    _set(resource.RLIMIT_CORE, 0)
    if hasattr(resource, "RLIMIT_NPROC"):
        ok = _set(resource.RLIMIT_NPROC, limits.processes)
        root = os.geteuid() == 0
        applied["process_limit"] = _layer(ok and not root, f"RLIMIT_NPROC {limits.processes}",
                                          "RLIMIT_NPROC does not apply to root (the PID namespace still ends every "
                                          "process of the run)" if root else "RLIMIT_NPROC refused")
    return applied
