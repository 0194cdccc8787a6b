"""The kernel calls the isolation layers need, through ctypes (Python 3.11 has no ``os.unshare``).

Standard library only. Failures raise ``OSError`` (or return ``False`` where the caller only
needs to know), so each layer can be switched on independently and reported honestly.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36

IS_LINUX = platform.system() == "Linux"
MACHINE = platform.machine()

_libc: ctypes.CDLL | None = None


def libc() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    return _libc


def check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def raise_errno(what: str) -> None:
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


_PR_CAPBSET_DROP = 24
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_CAP_LAST = 63


def drop_capabilities() -> bool:
    """Give up every capability, now and across exec (the bounding set).

    A process in a user namespace it created holds all capabilities *there*: enough to
    unmount the run's private /tmp and see the user's own. Learner code runs without any.
    """
    if not IS_LINUX:
        return False
    ok = True
    for cap in range(_CAP_LAST + 1):
        if libc().prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:  # EINVAL: no such cap
            ok = False
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable x 2 words: all zero
    if libc().capset(header, data) != 0:
        ok = False
    return ok
