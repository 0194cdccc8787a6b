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


@pytest.fixture(scope="session")
def engine() -> Iterator[Any]:
    """A real warm sandbox worker, shared by every test of the test run that asks for it (a
    module may define its own ``engine`` instead, with other settings). One per run, not per
    module: starting a worker imports torch (seconds of CPU), and a worker must survive
    anything a learner's run does anyway, so the tests after a hostile one prove that too.
    It is started from a hostile shell (tests/hostile.py), which the containment tests prove
    never reaches learner code."""
    from hostile import hostile_environment

    from tutor.engine import Engine

    # Its own data folder: the first test's (isolated_dirs) is removed when that test ends.
    data = Path(tempfile.mkdtemp(prefix="pte-", dir="/tmp"))
    eng = Engine(data_dir=data)
    with hostile_environment():
        eng.start()
    yield eng
    eng.close()
    shutil.rmtree(data, ignore_errors=True)


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
# `python3 start.py test --long` (and `--all`) runs the non-`serial` tests in parallel
# (pytest-xdist), then the `serial` ones alone; under a plain `-n` they at least share one
# xdist group. Tests that share a warm process are grouped too (below).
#
# The `long` tier is left out of `python3 start.py test` (which stays about two minutes on
# two cores) and run by `python3 start.py test --long`, which CI runs after it. A test belongs
# there when what it proves takes tens of seconds, not when it merely happens to be slow:
# * it sweeps lessons over seeds (the whole-course lint, lint's own tests over fixture seeds);
# * it drives the real TUI through many screens in tmux (the walks);
# * it is a stress loop (a hundred runs, SIGKILL at random moments, two engines at once);
# * it needs torch in a fresh process of its own that nothing can share: a worker daemon
#   crashed and restarted, cold and exec'd runners, another interpreter, torch.compile,
#   DataLoader workers and mp.spawn, PyG, a pip install into a new venv.
# A test that only needs a warm worker uses the shared `engine` fixture and stays in the
# quick run; so do the sandbox's attacks and limits.

import re as _re

_SPAWNS = _re.compile(r"\bsubprocess\.(run|Popen|check_output|check_call)\b|\bpexpect\b|\btutor_cmd\(|"
                      r"(?<![A-Za-z])Engine\(|RemoteEngine\(|\bbench\.(launch_once|measure)\(|"
                      r"\bos\.fork\(|\bpty\.spawn\(")
#: Modules whose CLI calls start the shared worker daemon (tutor/workerd) in the test
#: process's runtime folder: kept in one test process, so that daemon starts once.
_DAEMON_MODULES = ("test_cli.py", "test_format_v2_lint.py", "test_replay.py", "test_render_e2e.py")
#: The shared engine's users come in two groups (each starts the engine once): these modules,
#: and every other.
_ATTACK_MODULES = ("test_sandbox_contain.py", "test_sandbox_adversarial.py")
_spawn_cache: dict[str, bool] = {}


def _module_spawns(path: Path) -> bool:
    key = str(path)
    if key not in _spawn_cache:
        try:
            _spawn_cache[key] = bool(_SPAWNS.search(path.read_text(encoding="utf-8")))
        except OSError:
            _spawn_cache[key] = False
    return _spawn_cache[key]


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the xdist_group marks set here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        uses_engine = "engine" in getattr(item, "fixturenames", ())
        if _module_spawns(path) or uses_engine or any(item.get_closest_marker(m) for m in ("worker", "tmux", "slow")):
            item.add_marker(pytest.mark.subprocess)
        if item.get_closest_marker("serial"):
            # Run alone, after the parallel part (`start.py test --long`), so that a busy
            # neighbour cannot make it flake; the quick run is all parallel, so `serial`
            # tests are in the long tier.
            item.add_marker(pytest.mark.long)
            item.add_marker(pytest.mark.xdist_group("serial"))
        elif item.get_closest_marker("xdist_group") is None:
            # A warm process that tests share starts once per test run, not once per test
            # process: loadgroup sends every test of a group to the same process.
            if uses_engine:
                # Two groups of about equal length, so that neither is the run's tail. (A
                # module with an `engine` fixture of its own lands here too: harmless.)
                half = "attacks" if path.name in _ATTACK_MODULES else "checks"
                item.add_marker(pytest.mark.xdist_group(f"shared-engine-{half}"))
            elif path.name in _DAEMON_MODULES:
                item.add_marker(pytest.mark.xdist_group("worker-daemon"))


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
