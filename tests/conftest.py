"""Shared test setup: every test runs with its own workspace and data dir, never ~."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

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
def isolated_dirs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                  worker_runtime_dir: Path) -> dict[str, Path]:
    # Short, under /tmp: learner code in these folders may create Unix sockets (DataLoader
    # workers, DDP), whose paths the kernel limits to ~100 bytes; pytest's own tmp paths
    # (longer still under xdist: .../popen-gw0/...) leave too little room.
    base = Path(tempfile.mkdtemp(prefix="pt-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(base, ignore_errors=True))
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


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    """A real warm sandbox worker, shared by the tests of one module (a module may define its
    own ``engine`` instead, with other settings)."""
    from tutor.engine import Engine

    eng = Engine()
    eng.start()
    yield eng
    eng.close()


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


# --- markers and parallel runs ----------------------------------------------------------------
#
# Every test in a module that starts subprocesses (the CLI, a sandbox worker, tmux, pip) is
# marked `subprocess`, so `-m "not subprocess"` is the quick in-process run. Which modules
# do is read from their source (a call of subprocess/Popen, the CLI helper, a real Engine or
# RemoteEngine); a test that starts one without that mark is named at the end of the run
# (a warning from `_spawn_watch`), so the marks stay true as tests change.
# `python3 start.py test` runs everything but the `serial` tests in parallel (pytest-xdist),
# then the `serial` ones alone; under a plain `-n` they at least share one xdist group.

import re as _re

_SPAWNS = _re.compile(r"\bsubprocess\.(run|Popen|check_output|check_call)\b|\bpexpect\b|\btutor_cmd\(|"
                      r"(?<![A-Za-z])Engine\(|RemoteEngine\(|\bbench\.(launch_once|measure)\(|"
                      r"\bos\.fork\(|\bpty\.spawn\(")
#: Tests that drive a terminal in real time or hold a time budget: `serial` (start.py runs
#: them after the parallel part, alone, so a busy neighbour cannot make them flake).
_SERIAL_MARKS = ("tmux",)
_SERIAL_MODULES = ("test_ui_bench.py", "test_curriculum.py")
_spawn_cache: dict[str, bool] = {}


def _module_spawns(path: Path) -> bool:
    key = str(path)
    if key not in _spawn_cache:
        try:
            _spawn_cache[key] = bool(_SPAWNS.search(path.read_text(encoding="utf-8")))
        except OSError:
            _spawn_cache[key] = False
    return _spawn_cache[key]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if _module_spawns(path) or "engine" in getattr(item, "fixturenames", ()) \
                or any(item.get_closest_marker(m) for m in ("worker", "tmux", "slow")):
            item.add_marker(pytest.mark.subprocess)
        if path.name in _SERIAL_MODULES or any(item.get_closest_marker(m) for m in _SERIAL_MARKS):
            item.add_marker(pytest.mark.serial)
            item.add_marker(pytest.mark.xdist_group("serial"))


@pytest.fixture(autouse=True)
def _spawn_watch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Notes a test that starts a process without the `subprocess` mark."""
    if request.node.get_closest_marker("subprocess"):
        yield
        return
    import subprocess

    started: list[str] = []
    original = subprocess.Popen.__init__

    def watched(self: object, *args: object, **kwargs: object) -> None:
        started.append(str(args[0] if args else kwargs.get("args"))[:80])
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(subprocess.Popen, "__init__", watched)
    yield
    if started:
        import warnings

        warnings.warn(UnmarkedSpawn(f"started a process without the `subprocess` mark: {started[0]}"))


class UnmarkedSpawn(pytest.PytestWarning):
    """A test started a process but is not marked `subprocess` (see tests/conftest.py)."""
