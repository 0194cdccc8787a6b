"""Linux isolation primitives, called through ctypes (Python 3.11 has no ``os.unshare``).

Standard library only, and nothing here imports torch. Every function is *best effort*: it
returns ``False`` (or raises ``OSError`` where the caller must know) instead of crashing, so
each layer can be switched on independently and the isolation report can say which ones
took effect on this machine and why the others did not.

Layers (docs/sandbox.md):

* user namespace (``CLONE_NEWUSER``): grants the capabilities the other namespaces need
  without real privileges; the mapping keeps the caller's own uid/gid.
* PID namespace (``CLONE_NEWPID``): every run gets its own; killing its init kills every
  process the run started, ``setsid`` escapees included.
* network namespace (``CLONE_NEWNET``): no route out; loopback is brought up so gloo/DDP on
  127.0.0.1 still works.
* Landlock (kernel >= 5.13): writes only beneath the run's directories; with ABI >= 6 the run
  cannot signal processes outside its domain (e.g. the zygote).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import platform
import socket
import struct
from typing import Iterable

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36

_SYS_landlock_create_ruleset = 444
_SYS_landlock_add_rule = 445
_SYS_landlock_restrict_self = 446
_SYS_setns = {"x86_64": 308, "aarch64": 268}.get(platform.machine())

IS_LINUX = platform.system() == "Linux"

_libc: ctypes.CDLL | None = None


def libc() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    return _libc


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


# --- process hygiene -------------------------------------------------------------------------


def set_parent_death_signal(sig: int = 9) -> bool:
    """Die with ``sig`` when the parent dies. Racy by nature: the caller re-checks getppid()."""
    if not IS_LINUX:
        return False
    return libc().prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0


def set_no_new_privs() -> bool:
    if not IS_LINUX:
        return False
    return libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0


# --- namespaces ------------------------------------------------------------------------------


def unshare(flags: int) -> None:
    """``unshare(2)``; raises OSError on failure."""
    _check(libc().unshare(flags), "unshare")


def setns(fd: int, nstype: int) -> None:
    if _SYS_setns is not None:
        rc = libc().syscall(_SYS_setns, fd, nstype)
    else:  # pragma: no cover - other architectures: glibc's wrapper
        rc = libc().setns(fd, nstype)
    _check(int(rc), "setns")


def enter_user_namespace() -> None:
    """A new user namespace in which this process keeps its own uid and gid.

    Must be called while single-threaded. Raises OSError when user namespaces are disabled
    (sysctl, AppArmor's ``restrict_unprivileged_userns``, a seccomp policy, ...).
    """
    uid, gid = os.geteuid(), os.getegid()
    unshare(CLONE_NEWUSER)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFF_RUNNING = 0x40


def loopback_up() -> None:
    """Bring ``lo`` up in the current network namespace (it starts down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP | IFF_RUNNING))


def enter_network_namespace() -> None:
    """A private network namespace with only loopback, up. Raises OSError on failure."""
    unshare(CLONE_NEWNET)
    loopback_up()


# --- Landlock --------------------------------------------------------------------------------

LL_EXECUTE = 1 << 0
LL_WRITE_FILE = 1 << 1
LL_READ_FILE = 1 << 2
LL_READ_DIR = 1 << 3
LL_REMOVE_DIR = 1 << 4
LL_REMOVE_FILE = 1 << 5
LL_MAKE_CHAR = 1 << 6
LL_MAKE_DIR = 1 << 7
LL_MAKE_REG = 1 << 8
LL_MAKE_SOCK = 1 << 9
LL_MAKE_FIFO = 1 << 10
LL_MAKE_BLOCK = 1 << 11
LL_MAKE_SYM = 1 << 12
LL_REFER = 1 << 13        # ABI 2
LL_TRUNCATE = 1 << 14     # ABI 3
LL_IOCTL_DEV = 1 << 15    # ABI 5
LL_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
LL_SCOPE_SIGNAL = 1 << 1                # ABI 6
_LL_RULE_PATH_BENEATH = 1
_LL_CREATE_RULESET_VERSION = 1

#: Everything that modifies the filesystem. Reads and execution stay unrestricted: learner
#: code imports from wherever the interpreter's packages live.
_WRITE_RIGHTS_V1 = (LL_WRITE_FILE | LL_REMOVE_DIR | LL_REMOVE_FILE | LL_MAKE_CHAR | LL_MAKE_DIR | LL_MAKE_REG
                    | LL_MAKE_SOCK | LL_MAKE_FIFO | LL_MAKE_BLOCK | LL_MAKE_SYM)
_FILE_RIGHTS = LL_WRITE_FILE | LL_TRUNCATE | LL_IOCTL_DEV | LL_READ_FILE | LL_EXECUTE


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 where Landlock is missing or disabled."""
    if not IS_LINUX or platform.machine() not in ("x86_64", "aarch64"):
        return 0
    rc = libc().syscall(_SYS_landlock_create_ruleset, None, ctypes.c_size_t(0),
                        ctypes.c_uint32(_LL_CREATE_RULESET_VERSION))
    return int(rc) if rc > 0 else 0


def landlock_restrict_writes(writable_dirs: Iterable[str], writable_files: Iterable[str] = (),
                             scope_signals: bool = True) -> int:
    """Allow filesystem writes only beneath ``writable_dirs`` (and to ``writable_files``).

    With ABI >= 6 and ``scope_signals``, also forbid signalling processes outside the new
    domain. Applies to this thread and every process it starts later. Returns the ABI used;
    raises OSError if the kernel refused.
    """
    abi = landlock_abi()
    if abi < 1:
        raise OSError(errno.ENOSYS, "Landlock is not available on this kernel")
    handled = _WRITE_RIGHTS_V1
    if abi >= 2:
        handled |= LL_REFER
    if abi >= 3:
        handled |= LL_TRUNCATE
    if abi >= 5:
        handled |= LL_IOCTL_DEV
    scoped = (LL_SCOPE_SIGNAL | LL_SCOPE_ABSTRACT_UNIX_SOCKET) if (abi >= 6 and scope_signals) else 0
    if abi >= 6:
        attr = struct.pack("QQQ", handled, 0, scoped)
    elif abi >= 4:
        attr = struct.pack("QQ", handled, 0)
    else:
        attr = struct.pack("Q", handled)
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = int(libc().syscall(_SYS_landlock_create_ruleset, buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0)))
    if ruleset < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"landlock_create_ruleset: {os.strerror(err)}")
    try:
        for path, rights in [(d, handled) for d in writable_dirs] + [(f, handled & _FILE_RIGHTS) for f in writable_files]:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a path that does not exist needs no rule
            try:
                rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
                rc = libc().syscall(_SYS_landlock_add_rule, ruleset, _LL_RULE_PATH_BENEATH, rule, ctypes.c_uint32(0))
                if rc != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"landlock_add_rule({path}): {os.strerror(err)}")
            finally:
                os.close(fd)
        set_no_new_privs()
        rc = libc().syscall(_SYS_landlock_restrict_self, ruleset, ctypes.c_uint32(0))
        if rc != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_restrict_self: {os.strerror(err)}")
    finally:
        os.close(ruleset)
    return abi
