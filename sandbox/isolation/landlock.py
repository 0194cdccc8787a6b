"""Landlock (kernel >= 5.13): which files a learner's process may write.

Writes only beneath the run's directories; with ABI >= 6 the run also cannot signal processes
outside its domain (e.g. the zygote) nor connect to abstract Unix sockets made outside it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from typing import Iterable

from sandbox.isolation.kernel import IS_LINUX, MACHINE, libc, set_no_new_privs

_SYS_landlock_create_ruleset = 444
_SYS_landlock_add_rule = 445
_SYS_landlock_restrict_self = 446

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
    if not IS_LINUX or MACHINE not in ("x86_64", "aarch64"):
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
