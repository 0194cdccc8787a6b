"""``--python`` (issue 10, §4): the learner's interpreter imports its own packages, not the tutor's.

The GPU-box case: the tutor installed with pip (a wheel, non-editable) in one environment, the
learner's code run by another interpreter with its own torch. The tutor's environment here
holds a decoy ``torch``; the worker must never see it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.long, pytest.mark.slow]


def _site_packages(venv: Path) -> Path:
    out = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


@pytest.fixture(scope="module")
def tutor_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the tutor's wheel installed (no dependencies) and a decoy torch."""
    base = tmp_path_factory.mktemp("wheel")
    # Without build isolation first (offline); the local setuptools may be too old for the
    # project's metadata, then with it (fetches a current setuptools).
    for isolation in (["--no-build-isolation"], []):
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q",
                               "-w", str(base), str(ROOT)], capture_output=True, text=True, timeout=300)
        if proc.returncode == 0:
            break
    assert proc.returncode == 0, proc.stderr
    (wheel,) = base.glob("pytorch_tutor-*.whl")
    venv = base / "tutor-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                           "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    decoy = _site_packages(venv) / "torch"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("__version__ = 'decoy-from-the-tutors-environment'\n")
    return venv


def _run_with_engine(tutor_venv: Path, tmp_path: Path, learner_python: str, program: str) -> dict:
    src = tmp_path / "exercise" / "probe.py"
    src.parent.mkdir(exist_ok=True)
    src.write_text(textwrap.dedent(program))
    driver = textwrap.dedent(f"""
        import json, sys
        from tutor.engine import Engine, EngineError
        from sandbox.protocol import Limits, RunRequest
        eng = Engine(python={learner_python!r})
        try:
            r = eng.submit(RunRequest(kind="run", file={str(src)!r}, limits=Limits(timeout_s=60)))
            out = {{"status": r.status, "outcome": r.outcome, "stdout": r.stdout, "stderr": r.stderr, "error": r.error,
                   "mode": eng.hello.get("mode")}}
        finally:
            eng.close()
        print(json.dumps(out))
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # From a neutral folder: the checkout must not be importable by accident.
    proc = subprocess.run([str(tutor_venv / "bin" / "python"), "-c", driver], capture_output=True, text=True,
                          timeout=240, env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(600)
def test_the_learners_interpreter_imports_its_own_torch(tutor_venv: Path, tmp_path: Path) -> None:
    learner_python = sys.executable  # a second interpreter, with the real torch
    result = _run_with_engine(tutor_venv, tmp_path, learner_python, """
        import sys, torch
        print(torch.__version__)
        print(torch.__file__)
        print([p for p in sys.path if "tutor-env" in p])
    """)
    assert result["status"] == "pass", result
    version, path, leaked = result["stdout"].strip().splitlines()
    assert "decoy" not in version and "tutor-env" not in path
    assert leaked == "[]"


@pytest.mark.timeout(300)
def test_a_worker_that_cannot_start_says_why(tutor_venv: Path, tmp_path: Path) -> None:
    """The tutor's own venv has no real torch: its worker fails, and the error shows the log's tail."""
    result = _run_with_engine(tutor_venv, tmp_path, str(tutor_venv / "bin" / "python"), "print('never')\n")
    assert result["status"] == "error"
    # The decoy torch is an empty module: whatever the worker touches first is missing, and
    # the log's tail says so.
    assert "did not start" in result["error"], result["error"]
    assert "AttributeError: module 'torch' has no attribute" in result["error"], result["error"]
    assert "worker.log" in result["error"]
