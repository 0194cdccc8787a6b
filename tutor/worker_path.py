"""Where the sandbox worker's code comes from, and the environment it is started with.

The one place the worker's ``PYTHONPATH`` is built (the engine and ``doctor``'s probe both use
it). Only the ``sandbox`` package goes on that path — never the tutor's own ``site-packages``:
with ``--python``, the chosen interpreter must import *its own* torch, not the tutor's. So the
worker runs from a private copy of the package, kept in the data directory under a name that
is the hash of its contents (a new tutor version gets a new copy; an unchanged one is reused).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

#: Where, under the data directory, the private copies and the worker's log live.
COPIES_DIR = "worker"
LOG_NAME = "worker.log"
#: The log is started afresh past this size.
LOG_MAX_BYTES = 1 << 20


def sandbox_parent() -> str:
    """The folder that holds the ``sandbox`` package the tutor ships (never imported here)."""
    spec = importlib.util.find_spec("sandbox")
    assert spec is not None and spec.origin is not None
    return str(Path(spec.origin).resolve().parent.parent)


def _sources(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)


def private_copy(data_dir: Path, copies_dir: Path | None = None) -> str:
    """A folder holding only a copy of the ``sandbox`` package; returns the folder. Copies
    live in ``copies_dir`` (default: the data directory's ``worker/``)."""
    package = Path(sandbox_parent()) / "sandbox"
    digest = hashlib.sha256()
    files = _sources(package)
    for path in files:
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    target = (copies_dir or data_dir / COPIES_DIR) / f"sandbox-{digest.hexdigest()[:16]}"
    if (target / "sandbox" / "__init__.py").is_file():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".copy-", dir=target.parent))
    try:
        for path in files:
            dest = staging / "sandbox" / path.relative_to(package)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / "sandbox" / "__init__.py").is_file():  # not a concurrent twin: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(target)


def worker_pythonpath(data_dir: Path | None = None, copies_dir: Path | None = None) -> str:
    """The worker's whole ``PYTHONPATH``: the private copy, or (when the data directory cannot
    be written) the package's own folder, if that holds nothing but tutor code."""
    from tutor.paths import default_data_dir

    try:
        return private_copy(data_dir or default_data_dir(), copies_dir)
    except OSError:
        return sandbox_parent()


def worker_environment(environ: Mapping[str, str], data_dir: Path | None = None,
                       copies_dir: Path | None = None) -> dict[str, str]:
    """The environment to start the worker with: the caller's, with only the sandbox on the path.

    ``copies_dir``: where the private copy goes when not under the data directory — the shared
    daemon keeps it beside its socket, since it outlives the client (and the data directory)
    that started it.

    The worker rebuilds its own environment from its allow-list before importing torch
    (``sandbox.runtime.worker.clean_start``), so what else is here never reaches learner code.
    """
    env = dict(environ)
    env["PYTHONPATH"] = worker_pythonpath(data_dir, copies_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def log_path(data_dir: Path | None = None) -> Path:
    from tutor.paths import default_data_dir

    return (data_dir or default_data_dir()) / "logs" / LOG_NAME


def open_log(data_dir: Path | None = None) -> tuple[int | None, Path]:
    """The worker's stderr: the log file in the data directory, appended to (or ``None`` if it
    cannot be opened), and its path."""
    path = log_path(data_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        if path.exists() and path.stat().st_size > LOG_MAX_BYTES:
            flags |= os.O_TRUNC
        return os.open(path, flags, 0o600), path
    except OSError:
        return None, path


def log_tail(path: Path, since: int = 0, lines: int = 15) -> str:
    """The last ``lines`` lines written to the log after offset ``since``."""
    try:
        with open(path, "rb") as fh:
            fh.seek(since)
            text = fh.read()[-16384:].decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
