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
