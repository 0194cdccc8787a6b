"""The worker daemon with a real sandbox worker, driven through the CLI as a learner would.

One daemon per test here (each test has its own runtime folder), so start-up, crash
recovery and stop are seen from a cold start. Seconds each: marked ``worker``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from tutor.course.loader import load_course

pytestmark = [pytest.mark.long, pytest.mark.slow, pytest.mark.worker]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="ptwr-", dir="/tmp"))
    monkeypatch.setenv("PYTORCH_TUTOR_RUNTIME_DIR", str(base))
    yield base
    cli("worker", "stop")
    import shutil

    shutil.rmtree(base, ignore_errors=True)


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tutor", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, stdin=subprocess.DEVNULL)


def solution(tmp_path: Path, ref: str = "1.3/standardize") -> Path:
    exercise = load_course().find_exercise(ref)
    assert exercise is not None
    path = tmp_path / "solution.py"
    path.write_text(exercise.solution)
    return path


def status() -> list[dict]:
    proc = cli("worker", "status", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["workers"]


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def test_checks_share_one_warm_daemon_that_never_imports_torch(runtime: Path, tmp_path: Path) -> None:
    path = solution(tmp_path)
    first = cli("check", "1.3/standardize", "--file", str(path), "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    (daemon,) = status()
    assert daemon["torch_imported"] is False, "the daemon itself stays torch-free"
    assert daemon["mode"] == "warm" and daemon["state"] == "ready"
    assert daemon["python"] == sys.executable and daemon["device"] == "cpu"
    second = cli("check", "1.3/standardize", "--file", str(path), "--json")
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout)
    assert result["status"] == "pass" and result["waited_ms"] >= result["duration_ms"]
    (again,) = status()
    assert again["pid"] == daemon["pid"] and again["requests"] == 2
    sock = Path(again["socket"])
    assert sock.parent == runtime and oct(runtime.stat().st_mode & 0o777) == "0o700"


def test_worker_start_status_stop(runtime: Path) -> None:
    proc = cli("worker", "start", "--idle", "5")
    assert proc.returncode == 0, proc.stderr
    assert "worker ready" in proc.stdout
    text = cli("worker", "status")
    assert "interpreter" in text.stdout and "warm sandbox" in text.stdout and "exits after 5 min" in text.stdout
    stopped = cli("worker", "stop")
    assert "stopped worker pid" in stopped.stdout
    assert status() == [] and not list(runtime.glob("*.sock"))


def test_a_crashed_sandbox_worker_and_a_killed_daemon_are_replaced(runtime: Path, tmp_path: Path) -> None:
    path = solution(tmp_path)
    assert cli("worker", "start").returncode == 0
    (daemon,) = status()
    (worker,) = children(daemon["pid"])
    os.kill(worker, signal.SIGKILL)  # the sandbox worker crashes between runs
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not children(daemon["pid"]) or children(daemon["pid"]) == [worker]):
        time.sleep(0.1)
    proc = cli("check", "1.3/standardize", "--file", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (after,) = status()
    assert after["pid"] == daemon["pid"], "the daemon restarted its worker itself"
    os.kill(daemon["pid"], signal.SIGKILL)  # now the daemon dies, leaving its socket behind
    proc = cli("check", "1.3/standardize", "--file", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (new,) = status()
    assert new["pid"] != daemon["pid"]


def test_no_worker_keeps_the_one_shot_path(runtime: Path, tmp_path: Path) -> None:
    proc = cli("check", "1.3/standardize", "--file", str(solution(tmp_path)), "--no-worker")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not list(runtime.glob("*.sock")), "--no-worker starts no daemon"


def test_a_syntax_error_is_reported_before_anything_starts(runtime: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def standardize(x, dim:\n    return x\n")
    proc = cli("check", "1.3/standardize", "--file", str(bad), "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "fail" and result["outcome"] == "exception"
    assert "SyntaxError" in result["detail"] and "line 1" in result["stderr"]
    text = cli("run", str(bad))
    assert text.returncode == 1 and "SyntaxError" in text.stdout
    assert not list(runtime.glob("*.sock")), "no worker was started for a file that cannot compile"


@pytest.mark.skipif(bool(list(Path("/dev").glob("nvidia[0-9]*"))), reason="this machine has an NVIDIA GPU")
def test_device_cuda_without_a_gpu_is_refused_at_once(runtime: Path, tmp_path: Path) -> None:
    proc = cli("check", "1.3/standardize", "--file", str(solution(tmp_path)), "--device", "cuda")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no NVIDIA GPU" in proc.stderr and "--device cpu" in proc.stderr
    assert not list(runtime.glob("*.sock"))


LAZY_IMPORTER = """
import sys
import sandbox.learner.tfevents  # imported lazily by show.tensorboard
names = sorted(m for m in sys.modules if m.startswith("sandbox."))
print("SANDBOX-MODULES", " ".join(names))
print("SANDBOX-FILE", sandbox.learner.tfevents.__file__)
"""


def test_the_daemon_outlives_the_data_dir_of_the_client_that_started_it(runtime: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # CI once saw `ModuleNotFoundError: sandbox.learner.tfevents` in a run: the shared daemon
    # had copied its worker's code into the data dir of the test that started it, which was
    # gone when a later test's run first imported that module.
    first_data = tmp_path / "first-data"
    monkeypatch.setenv("PYTORCH_TUTOR_DATA", str(first_data))
    assert cli("worker", "start").returncode == 0
    (daemon,) = status()
    import shutil

    shutil.rmtree(first_data, ignore_errors=True)
    monkeypatch.setenv("PYTORCH_TUTOR_DATA", str(tmp_path / "second-data"))
    program = tmp_path / "lazy.py"
    program.write_text(LAZY_IMPORTER)
    proc = cli("run", str(program), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stdout = json.loads(proc.stdout)["stdout"]
    (after,) = status()
    assert after["pid"] == daemon["pid"], "the same daemon served the run"
    file_line = next(line for line in stdout.splitlines() if line.startswith("SANDBOX-FILE"))
    assert str(runtime / "code") in file_line, "the worker's code lives beside the daemon's socket"
    from sandbox.runtime.warm import sandbox_modules

    loaded = set(next(line for line in stdout.splitlines() if line.startswith("SANDBOX-MODULES")).split()[1:])
    assert set(sandbox_modules()) <= loaded, "every sandbox module is imported in the zygote, before any run"
