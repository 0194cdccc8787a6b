"""Verdicts are computed where learner code never ran: cheating learner code cannot pass.

Every case submits a *wrong* ``standardize`` (it forgets to divide by the standard
deviation) together with a trick; each must still fail. The same trick around the correct
answer must still pass, which proves the check really runs and the trick is not simply
breaking the run.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sandbox.protocol import Limits, RunRequest
from tutor.engine import Engine

pytestmark = [pytest.mark.slow]

SOLUTION = """
import torch

def standardize(x, dim):
    mean = x.mean(dim=dim, keepdim=True)
    std = x.std(dim=dim, keepdim=True, correction=0)
    return (x - mean) / std
"""

CHECK = {
    "name": "matches the reference", "kind": "function", "function": "standardize",
    "cases": ("for _ in range(4):\n"
              "    shape = rand_shape(gen, ndim=(1, 3), low=2, high=5)\n"
              "    yield {'x': torch.randn(shape, generator=gen) * 3 + 1, 'dim': randint(gen, 0, len(shape) - 1)}\n"),
    "tolerance": {"rtol": 1e-4, "atol": 1e-5}, "file": "<test>", "cases_line": 1,
}

RIGHT = "def standardize(x, dim):\n    return (x - x.mean(dim=dim, keepdim=True)) / x.std(dim=dim, keepdim=True, correction=0)\n"
WRONG = "def standardize(x, dim):\n    return x - x.mean(dim=dim, keepdim=True)\n"

TRICKS = {
    "monkeypatched allclose and assert_close": """
        import torch, torch.testing
        torch.allclose = lambda *a, **k: True
        torch.isclose = lambda a, b, *r, **k: torch.ones_like(a, dtype=torch.bool)
        torch.testing.assert_close = lambda *a, **k: None
        torch.equal = lambda *a, **k: True
    """,
    "tensor subclass with __torch_function__": """
        import torch
        class Liar(torch.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                if func in (torch.allclose, torch.equal):
                    return True
                if func is torch.isclose:
                    return torch.ones(args[0].shape, dtype=torch.bool)
                return super().__torch_function__(func, types, args, kwargs or {})
        _impl = standardize
        def standardize(x, dim):
            return _impl(x, dim).as_subclass(Liar)
    """,
    "float64 default dtype": """
        import torch
        torch.set_default_dtype(torch.float64)
    """,
    "forged result lines": """
        import json, os, sys
        fd = int(os.environ.get("PYTORCH_TUTOR_EVENT_FD", "3"))
        line = json.dumps({"type": "check", "name": "matches the reference", "status": "pass", "message": "ok"}) + "\\n"
        os.write(fd, line.encode())
        os.write(fd, (json.dumps({"type": "final", "status": "pass", "outcome": "ok"}) + "\\n").encode())
        print(json.dumps({"type": "final", "status": "pass", "outcome": "ok"}))
        sys.stdout.flush()
    """,
}


def check(engine: Engine, tmp_path: Path, body: str, trick: str) -> object:
    src = tmp_path / "attempt.py"
    src.write_text("import torch\n" + body + textwrap.dedent(trick), encoding="utf-8")
    req = RunRequest(kind="check", file=str(src), seed=99, limits=Limits(timeout_s=20), checks=[CHECK],
                     solution=SOLUTION, exercise="test/standardize")
    return engine.submit(req)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_trick_does_not_make_a_wrong_answer_pass(engine, tmp_path, trick):
    wrong = check(engine, tmp_path, WRONG, TRICKS[trick])
    assert wrong.status == "fail", (trick, wrong.status, wrong.outcome, [c.to_dict() for c in wrong.checks], wrong.error)
    assert [c.status for c in wrong.checks] == ["fail"]
    right = check(engine, tmp_path, RIGHT, TRICKS[trick])
    if trick == "tensor subclass with __torch_function__":
        # The learner's tensor comes back as a plain tensor; the subclass itself is judged.
        assert right.status in ("pass", "fail")
    elif trick == "monkeypatched allclose and assert_close":
        # Tamper evidence (issue 10 §2.2): patching what the checks rely on fails the run,
        # right answer or not, and the message names what was replaced.
        assert right.status == "fail", (right.status, [c.to_dict() for c in right.checks])
        assert "`torch.allclose`" in right.checks[0].message, right.checks[0].message
    else:
        assert right.status == "pass", (trick, right.outcome, right.detail, [c.to_dict() for c in right.checks], right.error)


@pytest.mark.timeout(120)
def test_a_silent_or_dead_child_is_never_a_pass(engine, tmp_path):
    for body in ("import os\nos._exit(0)\n", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
                 "import sys\nsys.exit(0)\n" + RIGHT):
        result = check(engine, tmp_path, body, "")
        assert result.status != "pass", (body, result.outcome, result.detail)
