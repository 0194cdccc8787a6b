"""The isolation report: every layer, on or off, and why. Built here and nowhere else.

Shape: ``{"level": "full"|"partial"|"basic", "off": [names], "layers": {name: {"on": bool,
"why": str}}}``. The worker sends it in its hello (what this machine supports) and with every
final event.
"""

from __future__ import annotations

import os
import platform
from typing import Any

Layers = dict[str, dict[str, Any]]


def layer(on: bool, why: str) -> dict[str, Any]:
    return {"on": bool(on), "why": why}


def warm_layers(pidns_on: bool, pidns_why: str, plan: dict[str, Any]) -> Layers:
    """The namespace and Landlock layers of the warm (forking) runner, from the probed plan."""
    abi = int(plan.get("landlock_kernel_abi", plan.get("landlock", 0)) or 0)
    ll = int(plan.get("landlock", 0) or 0)
    return {
        "pid_namespace": layer(pidns_on, pidns_why),
        "network_isolation": layer(
            plan.get("netns", False),
            "a private network namespace with loopback up (gloo/DDP on 127.0.0.1 work); "
            "limits.network: true turns it off" if plan.get("netns")
            else f"network namespaces are not available: {plan.get('netns_why', 'not Linux')}"),
        "filesystem_writes": layer(
            ll >= 1,
            f"Landlock ABI {ll}: writes only in the run's directory, /dev/shm and the tutor's "
            "output folder (reads are not restricted)" if ll
            else ("Landlock is not available on this kernel" if not abi
                  else f"Landlock is present but refused: {plan.get('landlock_why')}")),
        "signal_scope": layer(
            ll >= 6,
            "Landlock ABI >= 6: learner code cannot signal processes outside its run" if ll >= 6
            else "needs Landlock ABI 6 (Linux 6.12); the PID namespace hides other processes instead"),
    }


def spare_layers(abi: int, linux: bool) -> Layers:
    """The layers of exec'd spares (CUDA, MPS, platforms without a safe fork)."""
    return {
        "pid_namespace": layer(False, "exec'd spares run without a PID namespace; the process group is killed"),
        "network_isolation": layer(linux, "a private network namespace per run, when the spare could enter a "
                                   "user namespace" if linux else "not on this OS"),
        "filesystem_writes": layer(abi >= 1, f"Landlock ABI {abi}" if abi else "Landlock is not available"),
    }


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
