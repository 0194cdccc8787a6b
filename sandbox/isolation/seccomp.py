"""A seccomp filter that refuses metadata writes: chmod, chown, utime and extended attributes.

Landlock does not cover these (a learner could ``chmod 000`` the user's files, or set their
times or xattrs, with only read access). The filter answers them with ``EPERM`` everywhere;
inside the run directory too, which is the price of having no path to check: ``shutil.copy``
(which copies the mode) fails there, ``shutil.copyfile`` works. Calls through another ABI
(32-bit ``int 0x80``, x32) are refused whole: nothing a lesson runs needs them.

The BPF program is written by hand (``struct sock_filter``), so no dependency is needed.
"""

from __future__ import annotations

import ctypes
import errno
import struct

from sandbox.isolation.kernel import IS_LINUX, MACHINE, libc, raise_errno, set_no_new_privs

#: Syscall numbers of the metadata writes, per architecture (asm/unistd_64.h, asm-generic).
_BLOCKED = {
    "x86_64": {
        "chmod": 90, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452,
        "chown": 92, "fchown": 93, "lchown": 94, "fchownat": 260,
        "utime": 132, "utimes": 235, "futimesat": 261, "utimensat": 280,
        "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190,
        "removexattr": 197, "lremovexattr": 198, "fremovexattr": 199,
        "setxattrat": 463, "removexattrat": 466,
    },
    "aarch64": {
        "fchmod": 52, "fchmodat": 53, "fchmodat2": 452, "fchown": 55, "fchownat": 54,
        "utimensat": 88, "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7,
        "removexattr": 14, "lremovexattr": 15, "fremovexattr": 16,
        "setxattrat": 463, "removexattrat": 466,
    },
}
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_X32_BIT = 0x40000000

# BPF opcodes (linux/bpf_common.h) and seccomp constants (linux/seccomp.h).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1
_SYS_seccomp = {"x86_64": 317, "aarch64": 277}
_OFF_NR, _OFF_ARCH = 0, 4  # struct seccomp_data


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def build_program(machine: str = MACHINE) -> bytes:
    """The filter for ``machine``: EPERM for the calls in :data:`_BLOCKED`, allow the rest."""
    numbers = sorted(set(_BLOCKED[machine].values()))
    deny = SECCOMP_RET_ERRNO | errno.EPERM
    prog = [_insn(_LD_W_ABS, 0, 0, _OFF_ARCH),
            _insn(_JEQ_K, 1, 0, _AUDIT_ARCH[machine]),
            _insn(_RET_K, 0, 0, deny),                      # another ABI: refuse
            _insn(_LD_W_ABS, 0, 0, _OFF_NR)]
    if machine == "x86_64":
        prog += [_insn(_JGE_K, 0, 1, _X32_BIT), _insn(_RET_K, 0, 0, deny)]
    # One comparison per number: jump to the final "deny" when equal.
    for i, nr in enumerate(numbers):
        remaining = len(numbers) - i - 1
        prog.append(_insn(_JEQ_K, remaining + 1, 0, nr))
    prog += [_insn(_RET_K, 0, 0, SECCOMP_RET_ALLOW), _insn(_RET_K, 0, 0, deny)]
    return b"".join(prog)


def available() -> bool:
    return IS_LINUX and MACHINE in _BLOCKED


def block_metadata_writes() -> None:
    """Install the filter on every thread of this process (and all it starts). Raises OSError."""
    if not available():
        raise OSError(errno.ENOSYS, f"no seccomp filter for {MACHINE}")
    program = build_program()
    count = len(program) // 8
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = struct.pack("=HxxxxxxQ" if ctypes.sizeof(ctypes.c_void_p) == 8 else "=HxxI", count, ctypes.addressof(buf))
    fbuf = ctypes.create_string_buffer(fprog, len(fprog))
    set_no_new_privs()
    rc = libc().syscall(_SYS_seccomp[MACHINE], ctypes.c_uint(_SECCOMP_SET_MODE_FILTER),
                        ctypes.c_uint(_SECCOMP_FILTER_FLAG_TSYNC), fbuf)
    if rc != 0:
        raise_errno("seccomp")
