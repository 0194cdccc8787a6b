"""Where the per-user worker daemons live, what they are called, and who may talk to them.

Every daemon listens on a Unix socket in one folder of the user's (``$XDG_RUNTIME_DIR/
pytorch-tutor`` where the session has one, else ``/tmp/pytorch-tutor-UID``; the tests set
``PYTORCH_TUTOR_RUNTIME_DIR``). The folder is 0700 and must belong to the user: a folder
someone else created in /tmp is refused, never used. On top of that both ends check the
other's uid with the kernel's peer credentials (``SO_PEERCRED``), so even a socket that
someone opened up by hand serves, and trusts, only its own user.

One daemon per interpreter + device + sandbox checkout (and ``CUDA_VISIBLE_DEVICES``): the
socket's name is a hash of those, so ``--python``/``--device`` find (or start) the matching
worker. The *fingerprint* (sizes and times of the code the daemon runs) tells a client that
the daemon predates an upgrade, so it is replaced rather than trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import struct
import sys
import tempfile
from pathlib import Path

from tutor.engine import EngineError

RUNTIME_ENV = "PYTORCH_TUTOR_RUNTIME_DIR"
SOCKET_GLOB = "worker-*.sock"


class RuntimeDirError(EngineError):
    """The runtime folder cannot be used safely (someone else's, or not a folder)."""


def runtime_dir() -> Path:
    override = os.environ.get(RUNTIME_ENV)
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        try:
            st = os.stat(xdg)
            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid():
                return Path(xdg) / "pytorch-tutor"
        except OSError:
            pass
    return Path(tempfile.gettempdir()) / f"pytorch-tutor-{os.getuid()}"


def ensure_private_dir(path: Path | None = None) -> Path:
    """Create (or verify) the 0700 runtime folder; refuse one that is not the user's own."""
    path = path or runtime_dir()
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise RuntimeDirError(f"cannot create {path}: {exc.strerror}") from None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise RuntimeDirError(f"{path} is not a folder (a link or a file is never followed)")
    if st.st_uid != os.getuid():
        raise RuntimeDirError(f"{path} belongs to uid {st.st_uid}, not to you (uid {os.getuid()}); "
                              f"remove it or set {RUNTIME_ENV}")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)  # our own folder, opened up by hand or by a umask: close it again
    return path


def worker_key(python: str, device: str, sandbox_dir: str) -> str:
    """The name of the daemon for this interpreter + device + sandbox code."""
    ident = [os.path.realpath(python), device, os.path.realpath(sandbox_dir),
             os.environ.get("CUDA_VISIBLE_DEVICES", "")]
    return hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:16]


def socket_path(key: str, base: Path | None = None) -> Path:
    return (base or runtime_dir()) / f"worker-{key}.sock"


def lock_path(key: str, base: Path | None = None) -> Path:
    return (base or runtime_dir()) / f"worker-{key}.lock"


def log_path(key: str, base: Path | None = None) -> Path:
    return (base or runtime_dir()) / f"worker-{key}.log"


def code_fingerprint() -> str:
    """Size and mtime of every module the daemon and its worker run (stat only: cheap)."""
    here = Path(__file__).resolve().parent
    roots = [here, here.parent / "engine.py"]
    try:
        import importlib.util

        spec = importlib.util.find_spec("sandbox")
        if spec is not None and spec.origin:
            roots.append(Path(spec.origin).resolve().parent)
    except (ImportError, ValueError):
        pass
    parts = []
    for root in roots:
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            parts.append(f"{f}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket, or None if unknowable."""
    if hasattr(socket, "SO_PEERCRED"):  # Linux: struct ucred {pid_t pid; uid_t uid; gid_t gid}
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", raw)
        return uid
    if sys.platform == "darwin":  # LOCAL_PEERCRED: struct xucred {u_int version; uid_t uid; ...}
        try:
            raw = sock.getsockopt(0, 0x001, 76)
            return struct.unpack("Ii", raw[:8])[1]
        except OSError:
            return None
    return None
