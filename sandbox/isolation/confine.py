"""Entering the sandbox: the one place a process becomes a confined learner (or judge) process.

Two steps, shared by every runner (forked children of the zygote, exec'd spares for CUDA/MPS,
fresh interpreters of the cold runner), so all get the same confinement:

* :func:`prepare` — before the job is known, off the critical path: the network, mount and
  IPC namespaces (costly: milliseconds).
* :func:`enter` — once the job has arrived: bind the run's directories into the private view,
  scrub the environment, Landlock (writes, reads, scopes), the seccomp filter, rlimits.

Each layer is tried on its own; :func:`enter` returns what was actually applied, layer by
layer, and the child sends that to the worker before learner code runs: the isolation report
of the run (:mod:`sandbox.isolation.report`) is built from it, never from assumptions.
"""

from __future__ import annotations

import io
import os
import sys
import sysconfig
from typing import Any

from sandbox import protocol
from sandbox.isolation import kernel, landlock, mounts, namespaces, seccomp
from sandbox.isolation.environment import ENV_ALLOW, PACKAGE_PARENT
from sandbox.isolation.limits import apply_rlimits
from sandbox.learner import events
from sandbox.runtime import plainpy, runenv  # noqa: F401 - plainpy records the zygote's cwd on import

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


#: System directories a learner's process may read (and execute from): the interpreter's
#: shared libraries, configuration, devices and the process's own /proc. Home directories,
#: /mnt, /media, /srv and other people's projects are deliberately absent.
SYSTEM_READABLE = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc", "/opt",
                   "/proc", "/sys", "/dev", "/nix", "/gnu", "/snap")
#: Scratch directories writable besides the run's own, where each is the run's private tmpfs
#: (:mod:`sandbox.isolation.mounts`). What is bound beneath them only to be read is bound
#: read-only, so a Landlock rule on /tmp does not make it writable; where that could not be
#: ensured, only /dev/shm (beneath which nothing is ever bound) stays writable.
PRIVATE_SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")
#: Variables that name cache folders a run may read when set (R's run-time set-up, #20).
CACHE_ENV = ("TORCH_HOME", "XDG_CACHE_HOME", "HF_HOME", "MPLCONFIGDIR")


_interpreter_paths: list[str] | None = None


def interpreter_paths() -> list[str]:
    """Where this interpreter's code lives: prefixes, the standard library, every sys.path
    entry and the sandbox package itself. Computed once (in the zygote: forks inherit it)."""
    global _interpreter_paths
    if _interpreter_paths is None:
        _interpreter_paths = _find_interpreter_paths()
    return _interpreter_paths


def _find_interpreter_paths() -> list[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, PACKAGE_PARENT,
             os.path.dirname(os.path.realpath(sys.executable))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            paths.add(sysconfig.get_path(key))
        except KeyError:
            pass
    paths.update(p for p in sys.path if p)
    return sorted({os.path.realpath(p) for p in paths if p and os.path.exists(p)})


def prepare(plan: dict[str, Any], network: bool = False, in_pid_namespace: bool = False,
            mask_run: bool | None = None) -> dict[str, Any]:
    """Enter the namespaces a run needs, before its job is known. Returns the plan for
    :func:`enter`, with what was done (``netns_done``, ``mounts``) or why not (``*_error``)."""
    plan = dict(plan)
    if plan.get("netns") and not network:
        try:
            if plan.get("netns_needs_userns"):
                namespaces.enter_user_namespace()
            namespaces.enter_network_namespace()
            plan["netns_done"] = True
        except OSError as exc:
            plan["netns_error"] = str(exc)
    if plan.get("mountns"):
        try:
            private = mounts.make_private(protocol.Limits().memory_mb, mask_run=not network if mask_run is None else mask_run,
                                          new_proc=in_pid_namespace)
            private.bind_in(interpreter_paths(), writable=False)
            plan["mounts"] = private
        except OSError as exc:
            plan["mountns_error"] = str(exc)
    return plan


def _visible(job: dict[str, Any]) -> list[str]:
    """What this job must see inside the private mount view, read-write."""
    paths = [job.get("workdir"), job.get("out_dir")] + list(job.get("writable") or ())
    if job.get("role") == "judge":
        paths.append(job.get("private_dir"))
    return [p for p in paths if p]


def _visible_read_only(job: dict[str, Any]) -> list[str]:
    """What this job must see inside the private mount view, read-only: the exercise's folder
    (its helper modules), or the file alone where the folder is a masked one itself (a file
    straight in /tmp), and the job's extra readable paths (assets)."""
    paths = list(job.get("readable") or ())
    if job.get("role") != "judge" and job.get("file"):
        folder = os.path.dirname(os.path.realpath(job["file"]))
        paths.append(job["file"] if folder in {os.path.realpath(m) for m in mounts.MASKED} else folder)
    return [p for p in paths if p]


def _readable(job: dict[str, Any]) -> list[str]:
    """What a learner's process may read: the system, the interpreter, its exercise folder,
    its run directories, and the cache folders its environment names."""
    paths = list(SYSTEM_READABLE) + interpreter_paths() + _visible(job) + _visible_read_only(job)
    paths += [os.environ[k] for k in CACHE_ENV if os.environ.get(k)]
    return paths


def _on(why: str) -> dict[str, Any]:
    return {"on": True, "why": why}


def _off(why: str) -> dict[str, Any]:
    return {"on": False, "why": why}


def _environ_extras() -> list[str]:
    """The names in /proc/self/environ (the environment this process was *exec'd* with, which
    a learner can read) that are not allowed; empty when clean."""
    allowed = set(ENV_ALLOW) | {"PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED",
                                "MALLOC_ARENA_MAX", "PYTORCH_TUTOR_FAKE_DEVICE", "TMPDIR", "MPLBACKEND",
                                "KINETO_LOG_LEVEL", "TORCH_CPP_LOG_LEVEL", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
                                "PYTORCH_TUTOR_EVENT_FD"}
    try:
        with open("/proc/self/environ", "rb") as fh:
            names = {item.split(b"=", 1)[0].decode("utf-8", "replace") for item in fh.read().split(b"\0") if item}
    except OSError:
        return []  # no /proc: nothing to read it from either
    return sorted(n for n in names - allowed if not runenv.passes(n))  # torch's debug variables pass (#20)


def enter(job: dict[str, Any], plan: dict[str, Any]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Apply the per-run layers to this (already forked, already setsid) process.

    ``plan`` says what the machine supports and what :func:`prepare` did. Returns warnings for
    layers that failed, and every layer's state as applied (``{name: {"on", "why"}}``).
    """
    warnings: list[str] = []
    applied: dict[str, dict[str, Any]] = {}
    limits = protocol.Limits.from_dict(job.get("limits"))
    role = job.get("role", "child")
    workdir = job["workdir"]
    learner = role == "child"

    # 1. Network: a private namespace with loopback only, unless the exercise allows network.
    if limits.network:
        applied["network_isolation"] = _off("this exercise allows the network (limits.network: true)")
    elif plan.get("netns_done"):
        applied["network_isolation"] = _on("a private network namespace, loopback only")
    elif learner and plan.get("netns"):
        try:
            if plan.get("netns_needs_userns"):
                namespaces.enter_user_namespace()
            namespaces.enter_network_namespace()
            applied["network_isolation"] = _on("a private network namespace, loopback only")
        except OSError as exc:
            warnings.append(f"network isolation failed: {exc}")
            applied["network_isolation"] = _off(f"entering a network namespace failed: {exc}")
    else:
        applied["network_isolation"] = _off(plan.get("netns_error") or plan.get("netns_why")
                                            or "network namespaces are not available here")

    # 2. The private mount view: bind in what the run needs, then drop the way back.
    private = plan.get("mounts")
    scratch: list[str] = []
    if private is not None:
        try:
            private.bind_in(_visible_read_only(job), writable=False)
            private.bind_in(_visible(job), writable=True)
            sealed = private.seal()
            scratch = [d for d in PRIVATE_SCRATCH if d in private.masked and (sealed or d == "/dev/shm")]
            masked = ", ".join(private.masked)
            writable_tmp = ", ".join(scratch)
            applied["mount_namespace"] = _on(
                f"private tmpfs over {masked}; sockets there are out of reach"
                + (f"; {writable_tmp} writable by the run and emptied with it" if scratch else "")
                + (f" (not masked: {'; '.join(private.notes)})" if private.notes else "")
                + (f" (/tmp stays read-only: {'; '.join(private.unsealed[:3])})" if not sealed else ""))
            applied["ipc_namespace"] = _on("private SysV shared memory, semaphores and message queues")
            applied["proc_view"] = (_on("a fresh /proc: only the run's own processes are listed") if private.proc
                                    else _off("the host's /proc (Landlock keeps other processes unreadable)"))
        except OSError as exc:
            warnings.append(f"binding the run's directories failed: {exc}")
            applied["mount_namespace"] = _off(f"binding the run's directories failed: {exc}")
            applied["ipc_namespace"] = _on("private SysV IPC")
        finally:
            private.close()
    else:
        why = plan.get("mountns_error") or plan.get("mountns_why") or "mount namespaces are not available here"
        applied["mount_namespace"] = _off(why)
        applied["ipc_namespace"] = _off(why)
        applied["proc_view"] = _off(why)

    job["scratch"] = scratch  # the harness's explanations say which private scratch is writable

    # 3. Working directory, environment and temporary files.
    os.chdir(workdir)
    env = runenv.child_env(job, EVENT_FD, PACKAGE_PARENT)  # caches, short TMPDIR, torch's debug variables
    if learner and not limits.network:
        env["GLOO_SOCKET_IFNAME"] = "lo"   # gloo must not look for the host's interfaces
        env.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.clear()
    os.environ.update(env)
    import tempfile

    tempfile.tempdir = None  # recomputed from TMPDIR on next use
    sys.dont_write_bytecode = True
    extras = _environ_extras()
    applied["scrubbed_env"] = (_on("only an allow-list of variables, in os.environ and /proc/self/environ")
                               if not extras else
                               _off("os.environ is scrubbed, but /proc/self/environ still shows the worker's "
                                    f"original environment ({', '.join(extras[:8])})"))

    # 4. Filesystem: writes only beneath the run's own directories; reads only what it needs.
    abi = int(plan.get("landlock", 0) or 0)
    if learner and abi >= 1:
        writable = [workdir, job.get("out_dir") or workdir] + (scratch or ["/dev/shm"]) + list(job.get("writable") or ())
        readable = _readable(job) if plan.get("read_rules", True) else None
        try:
            landlock.restrict(writable, DEVICE_FILES, readable)
            applied["filesystem_writes"] = _on(f"Landlock ABI {abi}: writes only in the run's directories"
                                               + (f" and its private {', '.join(scratch)}" if scratch
                                                  else " and /dev/shm"))
            applied["filesystem_reads"] = (_on("Landlock: reads only the system, the interpreter's packages, the "
                                               "exercise's folder and the run's directories (not the home directory)")
                                           if readable is not None else _off("read rules are switched off"))
            applied["signal_scope"] = (_on("Landlock ABI >= 6: no signals to processes outside the run")
                                       if abi >= 6 else _off("needs Landlock ABI 6 (Linux 6.12)"))
            applied["socket_scope"] = (_on("Landlock ABI >= 6: no abstract Unix sockets outside the run")
                                       if abi >= 6 else _off("needs Landlock ABI 6 (Linux 6.12)"))
        except OSError as exc:
            warnings.append(f"Landlock failed: {exc}")
            for name in ("filesystem_writes", "filesystem_reads", "signal_scope", "socket_scope"):
                applied[name] = _off(f"Landlock failed: {exc}")
    else:
        why = "the judge is trusted code" if not learner else (
            plan.get("landlock_why") or "Landlock is not available on this kernel")
        for name in ("filesystem_writes", "filesystem_reads", "signal_scope", "socket_scope"):
            applied[name] = _off(why)

    # 5. Metadata writes (chmod, chown, utime, xattrs), which Landlock does not cover.
    if learner and plan.get("seccomp", True) and seccomp.available():
        try:
            seccomp.block_metadata_writes()
            applied["metadata_writes"] = _on("seccomp: chmod, chown, utime and xattr calls fail with EPERM")
        except OSError as exc:
            warnings.append(f"seccomp failed: {exc}")
            applied["metadata_writes"] = _off(f"seccomp failed: {exc}")
    else:
        applied["metadata_writes"] = _off("the judge is trusted code" if not learner
                                          else "no seccomp filter for this platform")

    # 6. Resource limits last: the steps above need file descriptors and memory.
    rl = apply_rlimits(limits, data_limit=plan.get("data_limit", True), as_limit=plan.get("as_limit", True))
    applied.update(rl)

    # 7. No capabilities: in the user namespace the run would otherwise hold enough of them
    #    to unmount its private /tmp or remount its view.
    if learner:
        applied["capabilities"] = (_on("none: every capability dropped, the bounding set too")
                                   if kernel.drop_capabilities() else _off("dropping capabilities failed"))
    return warnings, applied
