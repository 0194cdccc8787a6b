"""A case may hold an instance of a class the exercise's ``setup`` defines (format v2).

``setup`` runs as a module of its own in the judge and in the learner's process, so the
judge can send such a case and the probe gets a real instance of the same class.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sandbox.protocol import Limits, RunRequest

SETUP = textwrap.dedent("""
    from dataclasses import dataclass

    @dataclass
    class Pair:
        left: torch.Tensor
        right: torch.Tensor

        def total(self):
            return self.left.sum() + self.right.sum()
""")

SOLUTION = "import torch\n\ndef combine(pair):\n    return pair.left * pair.right + pair.total()\n"

CHECK = {"format_version": 2, "file": "<test>", "cases_line": 1, "probe_line": 1, "judge_line": 1,
         "name": "combines a Pair", "kind": "function", "function": "combine",
         "cases": "for n in (1, 4):\n    yield (Pair(torch.randn(n, generator=gen), torch.randn(n, generator=gen)),)\n"}


def submit(engine, tmp_path: Path, body: str):
    src = tmp_path / "attempt.py"
    src.write_text(body, encoding="utf-8")
    return engine.submit(RunRequest(kind="check", file=str(src), seed=5, limits=Limits(timeout_s=20),
                                    checks=[CHECK], solution=SOLUTION, exercise="test/setup_classes",
                                    setup={"code": SETUP, "file": "<setup>", "line": 1}))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_case_holding_a_setup_dataclass_reaches_the_probe(engine, tmp_path):
    result = submit(engine, tmp_path, SOLUTION)
    assert result.status == "pass", [(c.status, c.message) for c in result.checks] + [result.error]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_wrong_answer_on_such_a_case_still_fails(engine, tmp_path):
    result = submit(engine, tmp_path, "import torch\n\ndef combine(pair):\n    return pair.left * pair.right\n")
    assert result.status == "fail"
    assert result.checks[0].status == "fail" and "combine" in result.checks[0].message
