"""Linux namespaces for the sandbox (user, PID, network, mount, IPC).

* user namespace (``CLONE_NEWUSER``): grants the capabilities the other namespaces need
  without real privileges; the mapping keeps the caller's own uid/gid.
* PID namespace (``CLONE_NEWPID``): every run gets its own; killing its init kills every
  process the run started, ``setsid`` escapees included.
* network namespace (``CLONE_NEWNET``): no route out; loopback is brought up so gloo/DDP on
  127.0.0.1 still works.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct

from sandbox.isolation.kernel import IS_LINUX, MACHINE, check, libc

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

_SYS_setns = {"x86_64": 308, "aarch64": 268}.get(MACHINE)

__all__ = ["IS_LINUX", "CLONE_NEWNS", "CLONE_NEWIPC", "CLONE_NEWUSER", "CLONE_NEWPID", "CLONE_NEWNET",
           "unshare", "setns", "enter_user_namespace", "enter_network_namespace", "loopback_up"]


# --- namespaces ------------------------------------------------------------------------------


def unshare(flags: int) -> None:
    """``unshare(2)``; raises OSError on failure."""
    check(libc().unshare(flags), "unshare")


def setns(fd: int, nstype: int) -> None:
    if _SYS_setns is not None:
        rc = libc().syscall(_SYS_setns, fd, nstype)
    else:  # pragma: no cover - other architectures: glibc's wrapper
        rc = libc().setns(fd, nstype)
    check(int(rc), "setns")


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
