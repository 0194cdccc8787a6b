"""Noticing saves of one file: inotify (through ``watchfiles``) with a polling fallback.

The folder is watched, not the file: editors save by writing a new file and renaming it
over the old one (vim, VS Code, JetBrains), which a watch on the old inode would miss.
Polling (stat every ``interval``) is used when watchfiles is not installed, when asked for
(``--poll``), and on network or FUSE file systems, where inotify sees only local writes.

``FileWatcher`` runs in a thread and makes a pipe readable on every change, so the caller
can ``select`` on it together with the keyboard.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

#: File systems whose changes inotify does not (reliably) report.
NETWORK_FS = {"nfs", "nfs4", "cifs", "smbfs", "smb3", "9p", "afs", "ceph", "glusterfs", "lustre",
              "fuse", "fuse.sshfs", "sshfs", "davfs", "fuse.rclone", "virtiofs", "vboxsf"}


def filesystem_type(path: Path) -> str | None:
    """The type of the file system ``path`` is on, from /proc/mounts (Linux), else None."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    target = os.path.realpath(path)
    best, kind = "", None
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, parts[2]
    return kind


def needs_polling(path: Path) -> bool:
    kind = filesystem_type(path) or ""
    return kind in NETWORK_FS or kind.startswith("fuse.")


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class FileWatcher:
    """Watches ``path``; ``fileno()`` turns readable after each change (``drain()`` resets)."""

    def __init__(self, path: Path, poll: bool = False, interval: float = 0.25) -> None:
        self.path = Path(path).resolve()
        self.interval = interval
        self.method = "polling" if poll or needs_polling(self.path.parent) else "inotify"
        if self.method == "inotify":
            try:
                import watchfiles  # noqa: F401
            except ImportError:
                self.method = "polling"
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="file-watch", daemon=True)
        self._thread.start()

    def fileno(self) -> int:
        return self._read

    def drain(self) -> None:
        try:
            while os.read(self._read, 4096):
                pass
        except BlockingIOError:
            pass

    def _notify(self) -> None:
        try:
            os.write(self._write, b"!")
        except OSError:
            pass

    def _run(self) -> None:
        if self.method == "inotify":
            try:
                self._run_inotify()
                return
            except Exception:  # noqa: BLE001 - e.g. out of inotify watches: poll instead
                self.method = "polling"
        self._run_polling()

    def _run_inotify(self) -> None:
        import watchfiles

        target = str(self.path)
        # debounce/step small: the library's defaults (1.6 s) would make a save feel slow.
        for changes in watchfiles.watch(self.path.parent, watch_filter=None, debounce=30, step=20, recursive=False,
                                        stop_event=self._stop, rust_timeout=500, yield_on_timeout=False,
                                        raise_interrupt=False):
            if any(os.path.realpath(p) == target or p == target for _, p in changes):
                self._notify()

    def _run_polling(self) -> None:
        last = _stamp(self.path)
        while not self._stop.wait(self.interval):
            now = _stamp(self.path)
            if now != last:
                last = now
                self._notify()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self._read, self._write):
            try:
                os.close(fd)
            except OSError:
                pass
