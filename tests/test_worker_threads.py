"""How many intra-op threads the learner's process gets: a ``run`` has the machine (the cores,
at most 4); during a ``check`` the judge runs beside it, so the learner gets half of them
(on 2 busy cores, two spinning OpenMP threads against the judge made small training loops
5-50x slower, and 16 lessons had set one thread in their checks by hand)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox.judging.harness import run_threads
from sandbox.protocol import Limits, RunRequest


@pytest.mark.parametrize("cores, run, check", [(1, 1, 1), (2, 2, 1), (3, 3, 1), (4, 4, 2), (8, 4, 4), (64, 4, 4)])
def test_a_check_gets_half_the_cores_and_a_run_all_of_them_at_most_four(cores: int, run: int, check: int) -> None:
    assert run_threads("run", cores) == run
    assert run_threads("check", cores) == check


SOURCE = "import torch\nprint('THREADS', torch.get_num_threads())\nx = 1\n"
CHECK = {"name": "x is one", "kind": "variable", "variable": "x", "file": "<test>"}


def threads_seen(result) -> int:
    line = next(line for line in result.stdout.splitlines() if line.startswith("THREADS"))
    return int(line.split()[1])


@pytest.mark.timeout(120)
def test_the_learners_process_gets_those_threads(engine, tmp_path: Path) -> None:
    src = tmp_path / "threads.py"
    src.write_text(SOURCE)
    cores = len(os.sched_getaffinity(0))
    ran = engine.submit(RunRequest(kind="run", file=str(src), limits=Limits(timeout_s=20)))
    assert ran.outcome == "ok", (ran.outcome, ran.error, ran.stderr[-500:])
    assert threads_seen(ran) == run_threads("run", cores)
    checked = engine.submit(RunRequest(kind="check", file=str(src), seed=5, limits=Limits(timeout_s=20),
                                       checks=[CHECK], solution="x = 1\n", exercise="test/threads",
                                       format_version=2))
    assert checked.status == "pass", (checked.status, checked.error, [c.message for c in checked.checks])
    assert threads_seen(checked) == run_threads("check", cores)
