"""Entering the sandbox: what a warm process does between receiving a job and running it.

Shared by the forked children of the zygote and by exec'd single-use spares (CUDA, MPS,
macOS). Order matters and is explained inline. Each layer is best effort; what failed is
returned as warnings, which the worker forwards as ``log`` events, and the isolation report
(:mod:`sandbox.isolation.report`) says which layers this machine supports.
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any

from sandbox import protocol
from sandbox.isolation import landlock, namespaces
from sandbox.isolation.environment import scrubbed_env
from sandbox.isolation.limits import apply_rlimits
from sandbox.learner import events

#: The descriptor number learner-side helpers write events to, inside a warm child.
EVENT_FD = 3

#: Writable device files every program may expect (opening them is not "writing outside").
DEVICE_FILES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")


def close_fds_except(keep: set[int]) -> None:
    """Close every descriptor not in ``keep`` (listing /proc is far cheaper than closerange)."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def install_fds(out_fd: int, err_fd: int, ev_fd: int, stdin_fd: int | None = None, keep: tuple[int, ...] = ()) -> None:
    """Put the run's pipes on 1, 2 and ``EVENT_FD``; stdin is ``stdin_fd`` or /dev/null;
    close the rest."""
    # Move the received descriptors out of the way first: one of them may already be 0..3.
    moved = [os.dup(fd) for fd in (out_fd, err_fd, ev_fd)]
    null = os.dup(stdin_fd) if stdin_fd is not None else os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(moved[0], 1)
    os.dup2(moved[1], 2)
    os.dup2(moved[2], EVENT_FD)
    close_fds_except({0, 1, 2, EVENT_FD, *keep})
    for fd in (0, 1, 2, EVENT_FD):
        os.set_inheritable(fd, True)
    # Fresh Python streams over the new descriptors (the zygote's may hold stale buffers);
    # write-through like PYTHONUNBUFFERED, so output interleaves as the learner expects.
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", write_through=True)
    sys.__stdout__, sys.__stderr__, sys.__stdin__ = sys.stdout, sys.stderr, sys.stdin
    events.reset(EVENT_FD)


def enter(job: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    """Apply the per-run layers to this (already forked, already setsid) process.

    ``plan`` says what the machine supports (``netns``: a private network namespace is
    possible here; ``landlock``: the Landlock ABI). Returns warnings for layers that failed.
    """
    warnings: list[str] = []
    limits = protocol.Limits.from_dict(job.get("limits"))
    role = job.get("role", "child")
    workdir = job["workdir"]
    learner = role == "child"

    # 1. Network: a private namespace with loopback only, unless the exercise allows network.
    if learner and not limits.network and plan.get("netns") and not plan.get("netns_done"):
        try:
            if plan.get("netns_needs_userns"):
                namespaces.enter_user_namespace()
            namespaces.enter_network_namespace()
        except OSError as exc:
            warnings.append(f"network isolation failed: {exc}")

    # 2. Working directory, environment and temporary files.
    os.chdir(workdir)
    env = scrubbed_env(workdir, EVENT_FD)
    if learner and not limits.network:
        env["GLOO_SOCKET_IFNAME"] = "lo"   # gloo must not look for the host's interfaces
        env.setdefault("MASTER_ADDR", "127.0.0.1")
    env["MPLCONFIGDIR"] = os.path.join(workdir, ".matplotlib")
    os.environ.clear()
    os.environ.update(env)
    import tempfile

    tempfile.tempdir = None  # recomputed from TMPDIR on next use
    sys.dont_write_bytecode = True

    # 3. Filesystem: writes only beneath the run's own directories.
    if learner and plan.get("landlock", 0) >= 1:
        writable = [workdir, job.get("out_dir") or workdir, "/dev/shm"]
        try:
            landlock.landlock_restrict_writes(writable, DEVICE_FILES)
        except OSError as exc:
            warnings.append(f"Landlock failed: {exc}")

    # 4. Resource limits last: the steps above need file descriptors and memory.
    apply_rlimits(limits, data_limit=plan.get("data_limit", True))
    return warnings
