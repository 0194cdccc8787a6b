"""Shared test setup: every test runs with its own workspace and data dir, never ~."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def worker_runtime_dir() -> Iterator[Path]:
    """One runtime folder per test process for the shared worker daemons (tutor/workerd):
    CLI tests reuse one warm worker, as a learner's shell does; all are stopped at the end.
    Short, under /tmp: a Unix socket's path is limited to about 100 bytes."""
    path = Path(tempfile.mkdtemp(prefix="ptw-", dir="/tmp"))
    yield path
    from tutor.workerd.client import stop_all

    stop_all(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                  worker_runtime_dir: Path) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tutor-home")
    workspace = base / "workspace"
    data = base / "data"
    monkeypatch.setenv("PYTORCH_TUTOR_WORKSPACE", str(workspace))
    monkeypatch.setenv("PYTORCH_TUTOR_DATA", str(data))
    monkeypatch.setenv("PYTORCH_TUTOR_RUNTIME_DIR", str(worker_runtime_dir))
    # A daemon left behind by a killed test run goes away by itself.
    monkeypatch.setenv("PYTORCH_TUTOR_WORKER_IDLE", "300")
    monkeypatch.setenv("NO_COLOR", "1")
    return {"workspace": workspace, "data": data}


def tutor_cmd(*args: str) -> list[str]:
    """The CLI as a subprocess command line (uses this interpreter)."""
    return [sys.executable, "-m", "tutor", *args]


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
