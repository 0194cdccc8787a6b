"""The isolation report: every layer, on or off, and why. Built here and nowhere else.

Shape: ``{"level": "full"|"partial"|"basic", "off": [names], "layers": {name: {"on": bool,
"why": str}}}``, every name of :data:`LAYERS` always present, in that order.

Two reports exist:

* the worker's *hello* says what this machine will apply (:func:`expected`, from the plan
  probed at start-up);
* every *final* event says what the run actually got (:func:`for_run`): the learner's process
  reports each layer as it applied it (``confine.enter``), before any learner code runs, and
  that report wins. A layer the run could not confirm (it died first) is reported off.
"""

from __future__ import annotations

import os
from typing import Any

Layers = dict[str, dict[str, Any]]

#: Every layer, in the order doctor shows them.
LAYERS: dict[str, str] = {
    "process_group": "own session; the whole group is killed at the end",
    "pid_namespace": "a PID namespace per run; killing its init ends every process of the run",
    "wall_timeout": "enforced by the supervisor, outside the child",
    "cpu_limit": "RLIMIT_CPU (SIGXCPU)",
    "memory_limit": "RLIMIT_DATA above the warm process's own size",
    "shared_memory_limit": "RLIMIT_AS with headroom: shared mappings count too",
    "file_size_limit": "RLIMIT_FSIZE",
    "open_files_limit": "RLIMIT_NOFILE",
    "process_limit": "RLIMIT_NPROC",
    "scrubbed_env": "only an allow-list of variables, in os.environ and /proc/self/environ",
    "network_isolation": "a private network namespace, loopback only",
    "mount_namespace": "private tmpfs over /tmp, /var/tmp, /run, /dev/shm; /tmp, /var/tmp, /dev/shm writable by the run, emptied with it",
    "ipc_namespace": "private SysV IPC",
    "proc_view": "a fresh /proc with only the run's processes",
    "filesystem_writes": "Landlock: writes only in the run's directories",
    "filesystem_reads": "Landlock: reads only what the run needs",
    "metadata_writes": "seccomp: chmod, chown, utime, xattrs refused",
    "signal_scope": "Landlock ABI >= 6: no signals outside the run",
    "socket_scope": "Landlock ABI >= 6: no abstract Unix sockets outside the run",
    "capabilities": "every capability dropped",
    "fresh_workdir": "a new working directory per run",
    "verdict_out_of_process": "checks run in a clean process; the learner's sends data only",
}

#: Layers the worker itself provides (outside the learner's process).
WORKER_SIDE = ("wall_timeout", "fresh_workdir", "verdict_out_of_process")


def layer(on: bool, why: str) -> dict[str, Any]:
    return {"on": bool(on), "why": str(why)}


def finish(layers: Layers) -> dict[str, Any]:
    """The report from a complete set of layers (missing ones are reported off)."""
    ordered: Layers = {}
    for name in list(LAYERS) + [n for n in layers if n not in LAYERS]:
        ordered[name] = layers.get(name) or layer(False, "not applied by this runner")
    off = [name for name, value in ordered.items() if not value["on"]]
    level = "full" if not off else ("partial" if len(off) <= 3 else "basic")
    return {"level": level, "off": off, "layers": ordered}


def _worker_side() -> Layers:
    return {name: layer(True, LAYERS[name]) for name in WORKER_SIDE}


def expected(plan: dict[str, Any], runner: str, pid_namespace: tuple[bool, str] | None = None,
             extra: Layers | None = None) -> dict[str, Any]:
    """What a run will get on this machine with this ``runner`` (warm, spare, cold), from the
    ``plan`` found at start-up (``sandbox.isolation.capabilities``)."""
    linux = plan.get("linux", True)
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    abi = int(plan.get("landlock", 0) or 0)
    kernel_abi = int(plan.get("landlock_kernel_abi", abi) or 0)
    layers = _worker_side()
    layers["process_group"] = layer(True, LAYERS["process_group"])
    if pid_namespace is not None:
        layers["pid_namespace"] = layer(*pid_namespace)
    else:
        layers["pid_namespace"] = layer(False, f"the {runner} runner has no PID namespace per run; the process "
                                        "group is killed instead")
    layers["cpu_limit"] = layer(True, LAYERS["cpu_limit"])
    data = bool(plan.get("data_limit", True)) and linux
    layers["memory_limit"] = layer(data, LAYERS["memory_limit"] if data else
                                   "off: RLIMIT_DATA is not enforced here, or a device driver reserves memory")
    shared = data and bool(plan.get("as_limit", True))
    layers["shared_memory_limit"] = layer(shared, "RLIMIT_AS with headroom (cgroup v2 memory.max is not used)" if shared
                                          else "off where a device driver reserves address space (CUDA)")
    layers["file_size_limit"] = layer(True, LAYERS["file_size_limit"])
    layers["open_files_limit"] = layer(True, LAYERS["open_files_limit"])
    layers["process_limit"] = layer(not root, LAYERS["process_limit"] if not root
                                    else "RLIMIT_NPROC does not apply to root")
    layers["scrubbed_env"] = layer(True, LAYERS["scrubbed_env"])
    layers["network_isolation"] = layer(
        plan.get("netns", False),
        "a private network namespace with loopback up (gloo/DDP on 127.0.0.1 work); limits.network: true "
        "turns it off" if plan.get("netns") else
        f"network namespaces are not available: {plan.get('netns_why', 'not on this OS')}")
    mountns = bool(plan.get("mountns"))
    why_mnt = plan.get("mountns_why", "mount namespaces are not available here")
    layers["mount_namespace"] = layer(mountns, LAYERS["mount_namespace"] + "; sockets there are out of reach"
                                      if mountns else why_mnt)
    layers["ipc_namespace"] = layer(mountns, LAYERS["ipc_namespace"] if mountns else why_mnt)
    proc = mountns and pid_namespace is not None and pid_namespace[0]
    layers["proc_view"] = layer(proc, LAYERS["proc_view"] if proc else
                                "the host's /proc (Landlock keeps other processes unreadable)")
    if abi >= 1:
        layers["filesystem_writes"] = layer(True, f"Landlock ABI {abi}: writes only in the run's directories and "
                                            + ("its private /tmp, /var/tmp, /dev/shm" if mountns else "/dev/shm"))
        reads = bool(plan.get("read_rules", True))
        layers["filesystem_reads"] = layer(reads, "Landlock: the system, the interpreter's packages, the exercise's "
                                           "folder and the run's directories; not the home directory" if reads
                                           else "read rules are switched off")
    else:
        why = "Landlock is not available on this kernel" if not kernel_abi else \
            f"Landlock is present but refused: {plan.get('landlock_why')}"
        layers["filesystem_writes"] = layer(False, why)
        layers["filesystem_reads"] = layer(False, why)
    layers["signal_scope"] = layer(abi >= 6, LAYERS["signal_scope"] if abi >= 6 else
                                   "needs Landlock ABI 6 (Linux 6.12); the PID namespace hides other processes instead")
    layers["socket_scope"] = layer(abi >= 6, LAYERS["socket_scope"] if abi >= 6 else
                                   "needs Landlock ABI 6 (Linux 6.12); the mount namespace hides socket files instead")
    seccomp = bool(plan.get("seccomp"))
    layers["metadata_writes"] = layer(seccomp, LAYERS["metadata_writes"] + " with EPERM" if seccomp
                                      else "no seccomp filter for this platform")
    layers["capabilities"] = layer(linux, LAYERS["capabilities"] if linux else "not on this OS")
    layers.update(extra or {})
    return finish(layers)


def for_run(expected_report: dict[str, Any], applied: Layers | None, worker: Layers | None = None) -> dict[str, Any]:
    """The report of one run: the learner process's own account (``applied``) over the
    machine's (``expected_report``). Without that account every learner-side layer is off."""
    base: Layers = dict(expected_report.get("layers") or {})
    layers: Layers = {}
    for name, value in base.items():
        if name in WORKER_SIDE or (name == "pid_namespace" and applied is not None):
            layers[name] = value
        elif applied is not None and name in applied:
            layers[name] = layer(applied[name].get("on"), applied[name].get("why", ""))
        elif applied is not None:
            layers[name] = value
        else:
            layers[name] = layer(False, "not confirmed: the run ended before its process reported its confinement")
    for name, value in (applied or {}).items():
        if name not in layers:
            layers[name] = layer(value.get("on"), value.get("why", ""))
    layers.update(worker or {})
    return finish(layers)


def isolation_report(extra: Layers | None = None) -> dict[str, Any]:
    """A report with default expectations and ``extra`` layers (tests, fallbacks)."""
    return expected({}, "cold", extra=extra)
