"""The CUDA path with the device faked at its boundary (``sandbox.gpu``; no GPU here).

Everything but the three CUDA calls is real: the warm single-use spares (exec'd, warmed in
the background, replaced after each use), the routing of ``cuda`` runs to them while judges
stay on the CPU zygote, the memory fraction travelling from the exercise's limits into the
spare, and CUDA out-of-memory classification. scripts/gpu_check.py runs the same path on a
real GPU.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox.runtime import gpu
from sandbox.protocol import Limits, RunRequest
from tutor.engine import Engine

from tests.test_sandbox_verdicts import CHECK, RIGHT, SOLUTION, WRONG

pytestmark = [pytest.mark.long, pytest.mark.slow]


@pytest.fixture(scope="module")
def engine():
    mp = pytest.MonkeyPatch()
    mp.setenv(gpu.FAKE_ENV, "1")
    eng = Engine(device="cuda:0")
    eng.start()
    yield eng
    eng.close()
    mp.undo()


def submit(engine: Engine, tmp_path: Path, code: str, kind: str = "run", **limits: object):
    src = tmp_path / f"{kind}.py"
    src.write_text(code, encoding="utf-8")
    logs: list[str] = []
    req = RunRequest(kind=kind, file=str(src), device="cuda:0", seed=3,
                     limits=Limits.from_dict(dict(limits, timeout_s=60)),
                     checks=[CHECK] if kind == "check" else [], solution=SOLUTION if kind == "check" else "")
    result = engine.submit(req, on_event=lambda e: logs.append(e.get("message", "")) if e.get("type") == "log" else None)
    return result, logs


def spare_pid(logs: list[str]) -> int:
    for line in logs:
        match = re.search(r"spare pid (\d+)", line)
        if match:
            return int(match.group(1))
    raise AssertionError(f"no spare note in {logs}")


@pytest.mark.timeout(240)
def test_check_on_cuda_runs_in_a_fresh_spare_each_time(engine, tmp_path):
    first, logs1 = submit(engine, tmp_path, "import torch\n" + RIGHT, kind="check")
    assert first.status == "pass", (first.outcome, first.detail, first.stderr, first.error)
    assert any("device cuda:0" in line and "memory fraction 0.5" in line for line in logs1), logs1
    wrong, logs2 = submit(engine, tmp_path, "import torch\n" + WRONG, kind="check")
    assert wrong.status == "fail"
    # Single use: the second run got another (already warm) spare.
    assert spare_pid(logs1) != spare_pid(logs2)


@pytest.mark.timeout(240)
def test_memory_fraction_comes_from_the_exercise_limits(engine, tmp_path):
    result, logs = submit(engine, tmp_path, "print('hi')\n", gpu_memory_fraction=0.25)
    assert result.outcome == "ok"
    assert any("memory fraction 0.25" in line for line in logs), logs


@pytest.mark.timeout(240)
def test_cuda_out_of_memory_is_a_memory_outcome(engine, tmp_path):
    result, _ = submit(engine, tmp_path, (
        "import torch\n"
        "raise torch.cuda.OutOfMemoryError('CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 79.1 GiB total)')\n"))
    assert result.status == "fail" and result.outcome == "memory", (result.outcome, result.detail)


@pytest.mark.timeout(240)
def test_learner_sees_the_device_and_cpu_runs_still_fork(engine, tmp_path):
    result, _ = submit(engine, tmp_path, "import torch\nprint('available', torch.cuda.is_available())\n")
    assert "available True" in result.stdout
    src = tmp_path / "cpu.py"
    src.write_text("import torch\nprint('cpu', torch.cuda.is_available(), torch._C._cuda_isInBadFork())\n")
    cpu = engine.submit(RunRequest(kind="run", file=str(src), device="cpu"))
    assert cpu.outcome == "ok" and "cpu False False" in cpu.stdout
