"""Safe JSON files: atomic writes, and broken files set aside instead of overwritten.

Every file the tutor owns is written to a temporary file in the same folder, flushed,
``fsync``-ed and renamed over the old one, so a crash at any moment leaves either the old
or the new content, never a torn file. A file that cannot be read (corrupt, or written by a
newer version) is renamed to ``NAME.broken-TIMESTAMP`` and the caller is told where it went.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)  # make the rename itself durable


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a new or renamed file) to disk; best effort."""
    try:
        dir_fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def set_aside(path: Path) -> Path:
    """Rename a broken file out of the way; returns where it went."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.broken-{stamp}-{n}")
    os.replace(path, target)
    return target


class UnreadableFile(Exception):
    def __init__(self, path: Path, reason: str, moved_to: Path | None) -> None:
        self.path = path
        self.reason = reason
        self.moved_to = moved_to
        where = f"; it was moved to {moved_to}" if moved_to else ""
        super().__init__(f"{path} could not be read ({reason}){where}")


def read_versioned_json(path: Path, version: int) -> tuple[dict[str, Any] | None, str | None]:
    """Load ``path`` if it is a JSON object of a version we understand.

    Returns ``(data, None)``, ``(None, None)`` when the file does not exist, or
    ``(None, notice)`` after a broken or future-version file was set aside.
    """
    if not path.exists():
        return None, None
    reason = ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            reason = "not a JSON object"
        elif not isinstance(data.get("version"), int):
            reason = "no version number"
        elif data["version"] > version:
            reason = f"written by a newer pytorch-tutor (format {data['version']}, this one reads {version})"
        else:
            return data, None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = f"corrupt: {exc.__class__.__name__}"
    try:
        moved = set_aside(path)
    except OSError as exc:  # a read-only folder: leave it, say so, and do not crash
        return None, f"{path.name} could not be read ({reason}) nor moved aside ({exc.strerror or exc})"
    return None, f"{path.name} could not be read ({reason}); it was moved to {moved} and a fresh one started"


def remove_stale_temps(path: Path, min_age_s: float = 600.0) -> int:
    """Delete temporary files that an interrupted :func:`atomic_write_text` of ``path`` left.

    Only ``.NAME.*.tmp`` files older than ``min_age_s`` go: a live writer renames its own
    within milliseconds, and these never held anything but a copy of a newer write.
    """
    removed = 0
    try:
        candidates = list(path.parent.glob(f".{path.name}.*.tmp"))
    except OSError:
        return 0
    now = time.time()
    for tmp in candidates:
        try:
            if now - tmp.stat().st_mtime >= min_age_s:
                tmp.unlink()
                removed += 1
        except OSError:
            pass
    return removed
