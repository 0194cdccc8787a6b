"""A private view of the file system for one run: a mount namespace and an IPC namespace.

Prepared in a spare before its job arrives (off the critical path):

* fresh, size-capped tmpfs over ``/tmp``, ``/var/tmp``, ``/run`` and ``/dev/shm``: the sockets
  the user's other programs keep there (tmux, ssh-agent, D-Bus, Docker, X11) do not exist in
  the run, and whatever the run leaves there vanishes with it;
* a fresh ``/proc`` when the run has its own PID namespace: other processes (and their
  environments, roots and descriptors) are not even listed;
* a private IPC namespace: SysV shared memory, semaphores and message queues die with the run.

Directories the run needs that sit beneath a masked one (its working directory in ``/tmp``,
the interpreter of a venv made in ``/tmp``) are bound back in from descriptors kept on the
original directories; the descriptors are closed before learner code runs.

The private ``/tmp``, ``/var/tmp`` and ``/dev/shm`` are the run's own scratch space, so the
learner may write there (scripts that write to ``/tmp`` just work). Landlock rules follow
paths across mounts, so a write rule on ``/tmp`` would also cover everything bound beneath
it; hence what is bound in only to be *read* (the interpreter, the exercise's folder, assets)
is bound read-only, and the directories created to hold the binds are sealed (mode 0555:
without capabilities, and with chmod blocked by seccomp, not even their owner can add to
them). :meth:`PrivateMounts.seal` says whether all of that held; only then may the scratch
directories be writable.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
from dataclasses import dataclass, field
from typing import Iterable

from sandbox.isolation import namespaces
from sandbox.isolation.kernel import libc, raise_errno

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
#: statvfs flag -> the mount flag a read-only remount must keep (in a user namespace the
#: kernel refuses to clear a flag the original mount was locked with).
_KEPT_FLAGS = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
               os.ST_NOATIME: MS_NOATIME, os.ST_NODIRATIME: MS_NODIRATIME, os.ST_RELATIME: MS_RELATIME}

#: Where programs keep sockets and scratch files; each gets an empty tmpfs of its own.
MASKED = ("/tmp", "/var/tmp", "/run", "/dev/shm")
#: Descriptors kept across ``install_fds`` start here, clear of 0..3.
FD_FLOOR = 100


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = (lambda s: s.encode() if s is not None else None)
    if libc().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        raise_errno(f"mount {target}")


@dataclass
class PrivateMounts:
    """What :func:`make_private` did: the masked directories (real path -> descriptor on the
    original, for binding back) and the reasons for what it could not do."""

    originals: dict[str, int] = field(default_factory=dict)
    masked: list[str] = field(default_factory=list)
    proc: bool = False
    notes: list[str] = field(default_factory=list)

    #: path -> writable, for every bind made
    bound: dict[str, bool] = field(default_factory=dict)
    #: directories created in the private tmpfs only to hold binds (sealed by :meth:`seal`)
    skeleton: list[str] = field(default_factory=list)
    #: why a read-only bind or a seal did not hold (then the scratch must stay unwritable)
    unsealed: list[str] = field(default_factory=list)

    def keep_fds(self) -> tuple[int, ...]:
        return tuple(self.originals.values())

    def _covered(self, path: str, writable: bool) -> bool:
        """Already visible as wanted: inside a writable bind, or (for a read-only want) inside any."""
        return any(path == top or path.startswith(top.rstrip("/") + "/")
                   for top, rw in self.bound.items() if rw or not writable)

    def _make_mount_point(self, path: str, is_dir: bool) -> None:
        missing = []
        parent = os.path.dirname(path) if not is_dir else path
        while parent and not os.path.exists(parent):
            missing.append(parent)
            parent = os.path.dirname(parent)
        os.makedirs(os.path.dirname(path) if not is_dir else path, exist_ok=True)
        self.skeleton += [d for d in missing if d != path]
        if not is_dir and not os.path.exists(path):
            open(path, "a").close()

    def bind_in(self, paths: Iterable[str], writable: bool = False) -> list[str]:
        """Make each of ``paths`` that lies beneath a masked directory visible again: read-only,
        or with ``writable`` read-write as it was. Returns the paths bound."""
        bound = []
        for path in sorted({os.path.realpath(p) for p in paths if p}):
            for top, fd in self.originals.items():
                if path == top or not path.startswith(top.rstrip("/") + "/"):
                    continue
                source = f"/proc/self/fd/{fd}/{os.path.relpath(path, top)}"
                if not os.path.exists(source) or self._covered(path, writable):
                    break  # missing, or already visible through an earlier bind
                self._make_mount_point(path, os.path.isdir(source))
                if writable:
                    mount(source, path, None, MS_BIND | MS_REC)
                else:
                    # Not recursive: a mount beneath the source would keep its own (writable) flags.
                    mount(source, path, None, MS_BIND)
                    self._remount_read_only(path)
                self.bound[path] = writable
                bound.append(path)
                break
        return bound

    def _remount_read_only(self, path: str) -> None:
        try:
            kept = os.statvfs(path).f_flag
            flags = MS_REMOUNT | MS_BIND | MS_RDONLY
            for st_flag, ms_flag in _KEPT_FLAGS.items():
                if kept & st_flag:
                    flags |= ms_flag
            mount(None, path, None, flags)
        except OSError as exc:
            self.unsealed.append(f"{path} stays writable: {exc.strerror or exc}")

    def seal(self) -> bool:
        """Make the directories created for binds unwritable; True when every read-only bind and
        every seal held (the private scratch may then be writable without exposing them)."""
        for path in sorted(set(self.skeleton), key=len, reverse=True):
            if self._covered(path, False):
                continue  # a bind sits on it now
            try:
                os.chmod(path, 0o555)
            except OSError as exc:
                self.unsealed.append(f"{path}: {exc.strerror or exc}")
        return not self.unsealed

    def close(self) -> None:
        for fd in self.originals.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self.originals = {}


def make_private(size_mb: int, mask_run: bool = True, new_proc: bool = False) -> PrivateMounts:
    """Enter fresh mount and IPC namespaces and mask :data:`MASKED`. Raises OSError when the
    namespaces cannot be created (no user namespace, no privilege); partial masking is reported
    in ``notes``."""
    namespaces.unshare(namespaces.CLONE_NEWNS | namespaces.CLONE_NEWIPC)
    # Nothing mounted here may propagate back to the user's mount namespace.
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    result = PrivateMounts()
    for name in MASKED:
        if name == "/run" and not mask_run:
            continue
        real = os.path.realpath(name)
        if not os.path.isdir(real) or real in result.originals:
            continue
        try:
            fd = os.open(real, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, FD_FLOOR)
            os.close(fd)
            mount("tmpfs", real, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={max(16, int(size_mb))}m")
        except OSError as exc:
            result.notes.append(f"{name}: {exc.strerror or exc}")
            continue
        result.originals[real] = high
        result.masked.append(name)
    if new_proc:
        try:
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
            result.proc = True
        except OSError as exc:
            result.notes.append(f"/proc: {exc.strerror or exc}")
    os.chdir("/")  # no reference into an original directory survives through the cwd
    return result
