"""expect_close and the check kinds: right answers pass, wrong ones fail with a message that
names what came back, what was expected and the likely mistake. (Judge-side code: these run
in-process with torch, as the judge does.)"""

from __future__ import annotations

import pytest
import torch

from sandbox.judging import checks, codec
from sandbox.judging.compare import CheckFailed, expect_close


def failure(actual, expected, **kw) -> str:
    with pytest.raises(CheckFailed) as info:
        expect_close(actual, expected, "`f(x)`", **kw)
    return str(info.value)


def test_equal_tensors_pass_and_tolerance_applies() -> None:
    x = torch.randn(3, 4)
    expect_close(x.clone(), x)
    expect_close(x + 1e-7, x)
    assert "values differ" in failure(x + 1e-2, x)
    expect_close(x + 1e-2, x, atol=0.1)


def test_transposed_shape_is_named() -> None:
    x = torch.randn(3, 4)
    msg = failure(x.T, x)
    assert msg == "`f(x)`: shape (4, 3), expected (3, 4) — transposed?"


def test_keepdim_and_reduction_hints() -> None:
    x = torch.randn(3, 4)
    assert "keepdim" in failure(x.sum(1, keepdim=True), x.sum(1))
    assert "keepdim" in failure(x.sum(1), x.sum(1, keepdim=True))
    assert "reduced" in failure(x.sum(), x.sum(0))


def test_never_broadcasts() -> None:
    # A (3, 1) answer that broadcasts to the right values is still the wrong shape.
    expected = torch.ones(3)
    msg = failure(torch.ones(3, 1), expected)
    assert "shape (3, 1), expected (3,)" in msg


def test_dtype_and_integer_arithmetic_hint() -> None:
    msg = failure(torch.arange(4), torch.arange(4.0))
    assert "dtype int64, expected float32" in msg and "integer" in msg
    assert "float64" in failure(torch.zeros(2, dtype=torch.float64), torch.zeros(2))


def test_nan_and_sign_and_scale_diagnoses() -> None:
    x = torch.randn(5).abs() + 0.5
    assert "NaN" in failure(torch.tensor([float("nan"), 1.0]), torch.tensor([0.0, 1.0]))
    assert "sign is flipped" in failure(-x, x)
    assert "constant factor of 2" in failure(2 * x, x)


def test_python_values_lists_and_dicts() -> None:
    expect_close(3, 3)
    expect_close(0.1 + 0.2, 0.3)
    assert "got 4, expected 3" in failure(4, 3)
    assert "use .item()" in failure(torch.tensor(3.0), 3.0)
    assert "forget a return" in failure(None, torch.zeros(2))
    assert "missing key 'b'" in failure({"a": 1}, {"a": 1, "b": 2})
    assert "[1]" in failure([1, 5], [1, 2])


def test_subclass_results_are_flagged_after_the_codec(tmp_path) -> None:
    class Sneaky(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func in (torch.allclose, torch.isclose, torch.equal):
                return True
            return super().__torch_function__(func, types, args, kwargs or {})

    wrong = torch.zeros(3).as_subclass(Sneaky)
    path = tmp_path / "probe.pt"
    codec.save({"out": wrong}, str(path))
    data = codec.load(str(path))
    msg = failure(data["out"], torch.ones(3))
    assert "subclass" in msg


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_codec_never_unpickles_arbitrary_objects(tmp_path) -> None:
    class Custom:
        pass

    path = tmp_path / "probe.pt"
    codec.save({"model": Custom(), "n": 3, "t": torch.ones(2)}, str(path))
    data = codec.load(str(path))
    assert codec.is_opaque(data["model"]) and data["model"][codec.OPAQUE_KEY].endswith("Custom")
    assert data["n"] == 3 and torch.equal(data["t"], torch.ones(2))
    # A real pickle payload is refused by the weights-only loader.
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(Exception):
        codec.load(str(evil))


def test_builtin_subclasses_survive_the_codec(tmp_path) -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    path = tmp_path / "probe.pt"
    codec.save({"version": torch.__version__, "level": Level.HIGH}, str(path))
    data = codec.load(str(path))
    assert data == {"version": str(torch.__version__), "level": 3}
    assert type(data["version"]) is str


def test_source_rules() -> None:
    spec = {"kind": "source", "forbid": {"loops": True, "calls": ["torch.cdist"]}, "scope": "f"}
    checks.judge_source(spec, "import torch\ndef f(a, b):\n    return ((a[:, None] - b[None]) ** 2).sum(-1)\n")
    with pytest.raises(CheckFailed, match="line 3: a `for` loop"):
        checks.judge_source(spec, "def f(a, b):\n    out = []\n    for x in a:\n        out.append(x)\n")
    with pytest.raises(CheckFailed, match="comprehension"):
        checks.judge_source(spec, "def f(a, b):\n    return [x for x in a]\n")
    with pytest.raises(CheckFailed, match="torch.cdist"):
        checks.judge_source(spec, "import torch\ndef f(a, b):\n    return torch.cdist(a, b) ** 2\n")
    with pytest.raises(CheckFailed, match="torch.cdist"):
        checks.judge_source(spec, "from torch import cdist as c\ndef f(a, b):\n    return c(a, b)\n")
    with pytest.raises(CheckFailed, match="torch.cdist"):
        checks.judge_source(spec, "import torch\ndef f(a, b):\n    return getattr(torch, 'cdist')(a, b)\n")
    # A dotted ban does not catch an unrelated attribute with the same last name.
    grad_ban = {"kind": "source", "forbid": {"calls": ["torch.autograd.grad"]}}
    checks.judge_source(grad_ban, "def f(x):\n    return x.grad\n")
    with pytest.raises(CheckFailed, match="torch.autograd.grad"):
        checks.judge_source(grad_ban, "import torch\ndef f(y, x):\n    return torch.autograd.grad(y, x)\n")
    with pytest.raises(CheckFailed, match="torch.autograd.grad"):
        checks.judge_source(grad_ban, "from torch.autograd import grad\n")
    # A learner's own name that happens to equal a banned function is not a use of it.
    checks.judge_source({"kind": "source", "forbid": {"calls": ["torch.diag"]}},
                        "def f(a):\n    diag = a[0, 0]\n    return diag\n")
    # Loops outside the scoped function (a demo block, a helper) are fine.
    checks.judge_source(spec, "def f(a, b):\n    return a\n\nfor i in range(3):\n    print(i)\n")
    with pytest.raises(CheckFailed, match="must use|asks you to use"):
        checks.judge_source({"kind": "source", "require": {"calls": ["torch.gather"]}}, "x = 1\n")


def test_function_check_probe_and_judge_round_trip(tmp_path) -> None:
    spec = {"kind": "function", "name": "doubles", "function": "double", "file": "x.yaml",
            "cases": "for _ in range(3):\n    yield (torch.randn(rand_shape(gen), generator=gen),)\n", "cases_line": 1}
    reference = {"double": lambda x: x * 2}
    for learner, should_pass in ((lambda x: x + x, True), (lambda x: x * 3, False), (lambda x: x - x, False)):
        data = checks.probe_all([spec], {"double": learner}, seed=11, setup=None)
        path = tmp_path / "probe.pt"
        codec.save(data, str(path))
        loaded = codec.load(str(path))
        judge = lambda: checks.judge_one(spec, 0, loaded["0"], reference, checks.author_globals(), 11, "", "")  # noqa: E731
        if should_pass:
            assert judge() == "matched the reference on 3 random inputs"
        else:
            with pytest.raises(CheckFailed):
                judge()


def test_single_argument_cases_and_long_reprs_read_well() -> None:
    assert checks.call_signature("f", torch.tensor(2.0)) == "`f(() float32)`"
    assert checks.call_signature("f", (torch.nn.Sequential(torch.nn.Linear(2, 2)),)) == "`f(Sequential( ...)`"


def test_function_check_reports_a_missing_function_and_an_exception() -> None:
    spec = {"kind": "function", "name": "n", "function": "f", "cases": "return [(1,)]"}
    data = checks.probe_all([spec], {}, seed=1, setup=None)
    with pytest.raises(CheckFailed, match="`f` is not defined"):
        checks.judge_one(spec, 0, data["0"], {"f": lambda x: x}, checks.author_globals(), 1, "", "")

    def broken(x):
        raise ValueError("nope")

    data = checks.probe_all([spec], {"f": broken}, seed=1, setup=None)
    with pytest.raises(CheckFailed, match="raised ValueError: nope"):
        checks.judge_one(spec, 0, data["0"], {"f": lambda x: x}, checks.author_globals(), 1, "", "")


def test_probe_undoes_a_changed_default_dtype() -> None:
    spec = {"kind": "function", "name": "n", "function": "f", "cases": "yield (torch.randn(2, generator=gen),)"}
    torch.set_default_dtype(torch.float64)
    try:
        data = checks.probe_all([spec], {"f": lambda x: x}, seed=5, setup=None)
    finally:
        torch.set_default_dtype(torch.float32)
    assert data["0"]["outputs"][0].dtype == torch.float32


def test_plain_unwraps_tensor_records_for_custom_judges(tmp_path) -> None:
    path = tmp_path / "probe.pt"
    codec.save({"w": torch.ones(2, requires_grad=True), "xs": [torch.zeros(1, requires_grad=True), 3]}, str(path))
    data = codec.load(str(path))
    assert isinstance(data["w"], dict)  # a record: it carried requires_grad
    unwrapped = checks.plain(data)
    assert torch.equal(unwrapped["w"], torch.ones(2)) and type(unwrapped["w"]) is torch.Tensor
    assert torch.equal(unwrapped["xs"][0], torch.zeros(1)) and unwrapped["xs"][1] == 3
