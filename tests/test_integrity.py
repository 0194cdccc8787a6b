"""Integrity (issue 10 §2): verdicts that the learner's process cannot steer.

Each test is an attack a determined learner would try, run through the real engine: the
wrong (or cheating) file must fail, with a message that says why. The attacks are written
to work against the harness as it was before this suite (a harness that trusted the probe):
they look for whatever they need by name in ``sys.modules`` and in frames.
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

def fit_slope(x, y):
    return float((x * y).sum() / (x * x).sum())
"""

RIGHT = ("def standardize(x, dim):\n"
         "    return (x - x.mean(dim=dim, keepdim=True)) / x.std(dim=dim, keepdim=True, correction=0)\n")
WRONG = "def standardize(x, dim):\n    return x - x.mean(dim=dim, keepdim=True)\n"


def function_check(version: int = 2, **extra: object) -> dict:
    check = {
        "name": "matches the reference", "kind": "function", "function": "standardize", "format_version": version,
        "cases": ("for _ in range(4):\n"
                  "    shape = rand_shape(gen, ndim=(1, 3), low=2, high=5)\n"
                  "    yield {'x': torch.randn(shape, generator=gen) * 3 + 1, 'dim': randint(gen, 0, len(shape) - 1)}\n"),
        "tolerance": {"rtol": 1e-4, "atol": 1e-5}, "file": "<test>", "cases_line": 1,
    }
    check.update(extra)
    return check


def submit(engine: Engine, tmp_path: Path, body: str, checks: list[dict], seed: int = 99, timeout: float = 20):
    src = tmp_path / "attempt.py"
    src.write_text("import torch\n" + textwrap.dedent(body), encoding="utf-8")
    req = RunRequest(kind="check", file=str(src), seed=seed, limits=Limits(timeout_s=timeout), checks=checks,
                     solution=SOLUTION, exercise="test/integrity")
    return engine.submit(req)


def statuses(result) -> list[str]:
    return [c.status for c in result.checks]


def messages(result) -> str:
    return "\n".join(c.message for c in result.checks) + "\n" + result.error


# --- 1. inputs come from the judge ---------------------------------------------------------

# The pattern 15 of 17 custom checks used: the judge loops over what the probe returned.
LOOPING_CUSTOM = {
    "name": "every slice is standardized", "kind": "custom", "file": "<test>", "probe_line": 1, "judge_line": 1,
    "probe": ("outs = []\n"
              "for _ in range(3):\n"
              "    x = torch.randn(4, 5, generator=gen)\n"
              "    outs.append((x, learner.standardize(x, 1)))\n"
              "return outs\n"),
    "judge": ("for x, y in data:\n"
              "    expect_close(y, reference.standardize(x, 1), 'standardize(x, 1)')\n"
              "return 'ok'\n"),
}

LOOPING_CUSTOM_V2 = {
    "name": "every slice is standardized", "kind": "custom", "file": "<test>", "format_version": 2,
    "cases_line": 1, "probe_line": 1, "judge_line": 1,
    "cases": "for _ in range(3):\n    yield {'x': torch.randn(4, 5, generator=gen)}\n",
    "probe": "return learner.standardize(case['x'], 1)\n",
    "judge": ("for out, case in zip(outputs, cases):\n"
              "    expect_close(out, reference.standardize(case['x'], 1), 'standardize(x, 1)')\n"
              "return 'ok'\n"),
}

# Wraps every probing function it can find so that the data comes back empty.
EMPTY_PROBE_ATTACK = """
import sys
def _empty(value):
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {k: _empty(v) for k, v in value.items()}
    return value
for _name, _mod in list(sys.modules.items()):
    if _name.startswith("sandbox") and _mod is not None:
        for _fn in ("probe_all", "probe_checks"):
            if hasattr(_mod, _fn):
                _orig = getattr(_mod, _fn)
                setattr(_mod, _fn, (lambda orig: lambda *a, **k: _empty(orig(*a, **k)))(_orig))
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("check", [LOOPING_CUSTOM, LOOPING_CUSTOM_V2], ids=["v1", "v2"])
def test_a_harness_wrapped_to_send_empty_data_fails(engine, tmp_path, check):
    right = submit(engine, tmp_path, RIGHT, [check])
    assert right.status == "pass", messages(right)
    attacked = submit(engine, tmp_path, WRONG + EMPTY_PROBE_ATTACK, [check])
    assert attacked.status == "fail", (attacked.status, messages(attacked))
    assert "probe_" in messages(attacked) and "replaced" in messages(attacked)


@pytest.mark.timeout(120)
def test_one_output_per_case_is_required(engine, tmp_path):
    # Even with the tamper record out of the way, an answer list of the wrong length fails:
    # here the learner's probe-facing function swallows calls after the first.
    body = RIGHT + "_calls = [0]\n_orig = standardize\ndef standardize(x, dim):\n    _calls[0] += 1\n    if _calls[0] > 1:\n        raise SystemExit(0)\n    return _orig(x, dim)\n"
    result = submit(engine, tmp_path, body, [function_check()])
    assert result.status == "fail", messages(result)


REPLAY = """
_answers = {answers}
_n = [0]
def standardize(x, dim):
    out = torch.tensor(_answers[_n[0] % len(_answers)])
    _n[0] += 1
    return out
"""

# Fixed cases whose answers all differ, so that any reordering gives a wrong answer somewhere.
FIXED = [([[1., 2., 4.], [3., 5., 6.]], 1), ([[0., 4., 1.], [2., 2., 9.]], 0),
         ([[1., 7., 2.], [3., 1., 8.]], 1), ([[9., 2., 5.], [1., 4., 3.]], 0)]
FIXED_CASES = "".join(f"yield {{'x': torch.tensor({x}), 'dim': {d}}}\n" for x, d in FIXED)


def _replayed_answers() -> str:
    import torch

    ns: dict = {}
    exec(SOLUTION, ns)
    answers = [ns["standardize"](torch.tensor(x), d) for x, d in FIXED]
    assert all(not torch.allclose(a, b, atol=1e-3) for i, a in enumerate(answers) for b in answers[i + 1:])
    return repr([a.tolist() for a in answers])


@pytest.mark.timeout(120)
def test_answers_replayed_by_call_count_fail(engine, tmp_path):
    check = function_check(cases=FIXED_CASES)
    result = submit(engine, tmp_path, REPLAY.format(answers=_replayed_answers()), [check])
    assert result.status == "fail", messages(result)
    assert statuses(submit(engine, tmp_path, RIGHT, [check])) == ["pass"]


# The ground truth of a custom check (the slope the data was drawn from) stays in the judge;
# the judge accepts only (nearly) the exact truth, which a fit from noisy data cannot reach.
SLOPE_CHECK = {
    "name": "recovers the true slope", "kind": "custom", "file": "<test>", "format_version": 2,
    "cases_line": 1, "probe_line": 1, "judge_line": 1,
    "cases": ("slope = float(torch.randn((), generator=gen) * 3)\n"
              "x = torch.randn(40, generator=gen)\n"
              "y = slope * x + 0.3 * torch.randn(40, generator=gen)\n"
              "return [{'x': x, 'y': y, '_slope': slope}]\n"),
    "probe": "return learner.fit_slope(case['x'], case['y'])\n",
    "judge": ("if abs(outputs[0] - cases[0]['_slope']) > 1e-9:\n"
              "    fail(f\"slope {outputs[0]:.6f}, the data was drawn with {cases[0]['_slope']:.6f}\")\n"
              "return 'exact'\n"),
}

SEED_THIEF = """
import sys, gc

def _find_seed():
    found = []
    frame = sys._getframe()
    while frame is not None:
        for key, value in list(frame.f_locals.items()):
            if key in ("seed", "run_seed") and isinstance(value, int):
                found.append(value)
            if isinstance(value, dict) and isinstance(value.get("seed"), int):
                found.append(value["seed"])
        frame = frame.f_back
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "probe_path" in obj and isinstance(obj.get("seed"), int):
            found.append(obj["seed"])
    return found

def fit_slope(x, y):
    for seed in _find_seed():
        for index in range(3):
            cseed = (seed * 1_000_003 + index * 7919) % (2**62)
            gen = torch.Generator().manual_seed(cseed)
            slope = float(torch.randn((), generator=gen) * 3)
            xs = torch.randn(40, generator=gen)
            if torch.equal(xs, x):
                return slope
    return float((x * y).sum() / (x * x).sum())
"""


@pytest.mark.timeout(120)
def test_the_seed_and_the_truth_are_not_in_the_learners_process(engine, tmp_path):
    # The honest fit does not reach the exact slope, so the check really needs the truth...
    # (Seeds differ from every other request of this module: what a previous request left in
    # the worker's memory is the runtime's concern, tested there.)
    honest = submit(engine, tmp_path, "def fit_slope(x, y):\n    return float((x * y).sum() / (x * x).sum())\n",
                    [SLOPE_CHECK], seed=4242)
    assert honest.status == "fail", messages(honest)
    # ...and a file that hunts for the seed (frames, the job dict, every live dict) finds none.
    thief = submit(engine, tmp_path, SEED_THIEF, [SLOPE_CHECK], seed=4243)
    assert thief.status == "fail", messages(thief)
    assert "the data was drawn with" in messages(thief)


PROBE_SEES = {
    "name": "what the probe sees", "kind": "custom", "file": "<test>", "format_version": 2,
    "cases_line": 1, "probe_line": 1, "judge_line": 1,
    "cases": "return [{'x': torch.ones(2), '_truth': 42.0}]\n",
    "probe": "return sorted(case)\n",
    "judge": "expect_close(outputs[0], ['x'], 'keys the probe saw')\nexpect_close(cases[0]['_truth'], 42.0, 'truth')\n",
}


@pytest.mark.timeout(120)
def test_private_case_keys_stay_in_the_judge(engine, tmp_path):
    result = submit(engine, tmp_path, "x = 1\n", [PROBE_SEES])
    assert statuses(result) == ["pass"], messages(result)


# --- 2. tamper evidence --------------------------------------------------------------------

PATCHES = {
    "torch.allclose": "torch.allclose = lambda *a, **k: True\n",
    "torch.Tensor.__eq__": "torch.Tensor.__eq__ = lambda a, b: torch.ones_like(a, dtype=torch.bool)\n",
    "torch.save": "_save = torch.save\ntorch.save = lambda obj, f, *a, **k: _save(obj, f, *a, **k)\n",
    "numpy.allclose": "import numpy\nnumpy.allclose = lambda *a, **k: True\n",
    "builtins.isinstance": "import builtins\n_isinstance = builtins.isinstance\nbuiltins.isinstance = lambda o, t: _isinstance(o, t)\n",
    # Switching the verifier off does not help: the harness holds the one it captured first.
    "sandbox.judging.integrity.Record.replaced": ("import sys\n_m = sys.modules.get('sandbox.judging.integrity')\n"
                                                  "if _m: _m.Record.replaced = lambda self: []\n"
                                                  "torch.allclose = lambda *a, **k: True\n"),
    "sandbox.judging.codec.to_plain": ("import sys\nfor _n, _m in list(sys.modules.items()):\n"
                                        "    if _n.startswith('sandbox') and hasattr(_m, 'to_plain'):\n"
                                        "        _m.to_plain = (lambda f: lambda v, d=0: f(v, d))(_m.to_plain)\n"),
}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("what", sorted(PATCHES))
def test_a_patched_dependency_fails_and_is_named(engine, tmp_path, what):
    result = submit(engine, tmp_path, RIGHT + PATCHES[what], [function_check()])
    assert result.status == "fail", (what, messages(result))
    assert f"`{what}`" in messages(result), messages(result)


@pytest.mark.timeout(120)
def test_a_patch_made_during_a_probe_is_caught(engine, tmp_path):
    body = RIGHT.replace("def standardize(x, dim):\n",
                         "def standardize(x, dim):\n    torch.equal = lambda *a: True\n")
    result = submit(engine, tmp_path, body, [function_check(), function_check(name="again")])
    assert result.status == "fail", messages(result)
    assert "`torch.equal`" in messages(result) and "while the check" in messages(result).lower()


@pytest.mark.timeout(120)
def test_ordinary_global_settings_are_not_tampering(engine, tmp_path):
    body = RIGHT + ("torch.set_default_dtype(torch.float64)\ntorch.set_default_dtype(torch.float32)\n"
                    "torch.manual_seed(3)\ntorch.set_printoptions(precision=2)\n"
                    "import sys\nsys.stdout = sys.__stdout__\n")
    result = submit(engine, tmp_path, body, [function_check()])
    assert result.status == "pass", messages(result)


# --- 4. inputs stay untouched ----------------------------------------------------------------

IN_PLACE = """
def standardize(x, dim):
    x -= x.mean(dim=dim, keepdim=True)
    x /= x.std(dim=dim, keepdim=True, correction=0)
    return x
"""


@pytest.mark.timeout(120)
def test_a_function_that_modifies_its_input_fails(engine, tmp_path):
    result = submit(engine, tmp_path, IN_PLACE, [function_check()])
    assert result.status == "fail", messages(result)
    assert "in place" in messages(result) and "`x`" in messages(result)
    assert statuses(submit(engine, tmp_path, RIGHT, [function_check()])) == ["pass"]


MUTATING_SOLUTION = "import torch\ndef zero_diag_(m):\n    m.fill_diagonal_(0)\n    return m\n"


@pytest.mark.timeout(120)
def test_mutates_true_requires_the_change_itself(engine, tmp_path):
    check = {"name": "zeroes the diagonal in place", "kind": "function", "function": "zero_diag_",
             "format_version": 2, "mutates": True, "file": "<test>", "cases_line": 1,
             "cases": "for n in (2, 3):\n    yield {'m': torch.randn(n, n, generator=gen)}\n"}
    src = tmp_path / "attempt.py"

    def run(body: str):
        src.write_text("import torch\n" + body, encoding="utf-8")
        return engine.submit(RunRequest(kind="check", file=str(src), seed=5, limits=Limits(timeout_s=20),
                                        checks=[check], solution=MUTATING_SOLUTION, exercise="t/z"))

    assert statuses(run("def zero_diag_(m):\n    m.fill_diagonal_(0)\n    return m\n")) == ["pass"]
    copy = run("def zero_diag_(m):\n    m = m.clone()\n    m.fill_diagonal_(0)\n    return m\n")
    assert statuses(copy) == ["fail"], messages(copy)
    assert "afterwards" in messages(copy)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("version", [1, 2])
def test_sys_exit_inside_a_probed_call_is_an_answer_not_an_escape(engine, tmp_path, version):
    body = "def standardize(x, dim):\n    raise SystemExit(0)\n"
    result = submit(engine, tmp_path, body, [function_check(version), function_check(version, name="again")])
    assert [c.status for c in result.checks] == ["fail", "fail"], messages(result)
    assert "SystemExit" in result.checks[0].message
