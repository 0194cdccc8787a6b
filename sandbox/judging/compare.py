"""Comparing what the learner produced with what the reference produced, and saying why not.

Runs only in the judge process (learner code never ran there), on values that came back
through :mod:`sandbox.judging.codec`. Order of comparison, as the design asks: type, then shape,
dtype and device, then values with a per-dtype tolerance. The learner's tensor is never
broadcast: a shape mismatch is reported as such, with a guess at the likely mistake.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sandbox.judging.codec import OPAQUE_KEY, SUBCLASS_KEY, describe_type


class CheckFailed(AssertionError):
    """Raised by check code to fail a check with a message meant for the learner."""


class CheckSkipped(Exception):
    """Raised by check code when the check cannot run here (a package or a device is missing)."""


def fail(message: str) -> None:
    raise CheckFailed(message)


def shown(value: Any, limit: int = 80) -> str:
    """A value as a learner should read it in a message: tensors by shape and dtype, never
    the codec's internal records (``{'__tensor__': ...}``), long values shortened."""
    import torch

    info = unwrap(value)
    if isinstance(info, TensorInfo):
        return describe_tensor(info) + (f" on {info.device}" if info.device != "cpu" else "")
    if isinstance(value, dict) and OPAQUE_KEY in value:
        return f"a {value[OPAQUE_KEY]}"
    if isinstance(value, torch.Tensor):  # pragma: no cover - unwrap handles it
        return describe_tensor(TensorInfo(value))
    if isinstance(value, dict):
        inner = ", ".join(f"{k!r}: {shown(v, limit // 2)}" for k, v in list(value.items())[:6])
        text = "{" + inner + (", ..." if len(value) > 6 else "") + "}"
    elif isinstance(value, (list, tuple)):
        inner = ", ".join(shown(v, limit // 2) for v in list(value)[:6])
        more = ", ..." if len(value) > 6 else ""
        text = f"[{inner}{more}]" if isinstance(value, list) else f"({inner}{more}{',' if len(value) == 1 else ''})"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 4].rstrip() + " ..."


@dataclass
class TensorInfo:
    tensor: Any
    device: str = "cpu"
    requires_grad: bool = False
    subclass: str = ""


def unwrap(value: Any) -> Any:
    """Turn codec tensor records back into ``TensorInfo``; leave everything else alone."""
    import torch

    if isinstance(value, torch.Tensor):
        return TensorInfo(value, str(value.device), bool(value.requires_grad))
    if isinstance(value, dict) and "__tensor__" in value:
        return TensorInfo(value["__tensor__"], value.get("device", "cpu"),
                          bool(value.get("requires_grad")), value.get(SUBCLASS_KEY, ""))
    return value


# Default tolerances per dtype: loose enough for reordered float arithmetic, tight enough
# to catch a wrong formula.
_TOLERANCES = {
    "torch.float16": (1e-3, 1e-3),
    "torch.bfloat16": (1.6e-2, 1e-2),
    "torch.float32": (1.3e-6, 1e-5),
    "torch.float64": (1e-7, 1e-7),
    "torch.complex64": (1.3e-6, 1e-5),
    "torch.complex128": (1e-7, 1e-7),
}


def default_tolerance(dtype: Any) -> tuple[float, float]:
    """(rtol, atol) for a dtype; exact for integer and bool tensors."""
    return _TOLERANCES.get(str(dtype), (0.0, 0.0))


def _fmt_shape(shape: Any) -> str:
    dims = tuple(int(d) for d in shape)
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def _shape_hint(got: tuple[int, ...], want: tuple[int, ...]) -> str:
    if len(got) == len(want) == 2 and got == want[::-1]:
        return " — transposed?"
    if sorted(got) == sorted(want):
        return " — the right sizes in the wrong order: check the dim order (permute/transpose)?"
    if len(got) == len(want) + 1 and 1 in got and tuple(d for d in got if d != 1) == tuple(d for d in want if d != 1):
        return " — an extra size-1 dim: keepdim=True, or a missing squeeze?"
    if len(got) + 1 == len(want) and 1 in want and tuple(d for d in got if d != 1) == tuple(d for d in want if d != 1):
        return " — a missing size-1 dim: keepdim=True, or unsqueeze?"
    if len(got) < len(want):
        return " — reduced over a dim that should stay?"
    if len(got) > len(want):
        return " — a dim that should have been reduced (sum/mean over the wrong dim?)"
    if math.prod(got) == math.prod(want):
        return " — same number of elements: a view/reshape in the wrong layout?"
    return ""


def describe_tensor(info: TensorInfo) -> str:
    t = info.tensor
    return f"tensor of shape {_fmt_shape(t.shape)}, dtype {str(t.dtype).replace('torch.', '')}"


def expect_close(actual: Any, expected: Any, name: str = "the result", *,
                 rtol: float | None = None, atol: float | None = None,
                 check_dtype: bool = True, check_device: bool = True,
                 equal_nan: bool = False) -> None:
    """Fail with a teaching message unless ``actual`` matches ``expected``.

    Works on tensors (shape, dtype and device first, then values), numbers, strings, and
    nested lists/tuples/dicts of those.
    """
    import torch

    actual = unwrap(actual)
    expected = unwrap(expected)

    if isinstance(actual, dict) and OPAQUE_KEY in actual and not isinstance(expected, dict):
        fail(f"{name}: expected {_kind(expected)}, got a {actual[OPAQUE_KEY]} (which cannot be compared)")

    if isinstance(expected, TensorInfo):
        if not isinstance(actual, TensorInfo):
            if isinstance(actual, (int, float)) and expected.tensor.dim() == 0:
                fail(f"{name}: expected a 0-dim tensor, got the Python number {actual!r} — "
                     f"keep it a tensor (no .item())")
            fail(f"{name}: expected a {describe_tensor(expected)}, got {describe_type(actual)}"
                 + (" — did you forget a return?" if actual is None else ""))
        if actual.subclass:
            fail(f"{name}: expected a plain torch.Tensor, got a subclass ({actual.subclass})")
        got_shape = tuple(actual.tensor.shape)
        want_shape = tuple(expected.tensor.shape)
        if got_shape != want_shape:
            fail(f"{name}: shape {_fmt_shape(got_shape)}, expected {_fmt_shape(want_shape)}"
                 f"{_shape_hint(got_shape, want_shape)}")
        if check_dtype and actual.tensor.dtype != expected.tensor.dtype:
            got_d = str(actual.tensor.dtype).replace("torch.", "")
            want_d = str(expected.tensor.dtype).replace("torch.", "")
            hint = ""
            if expected.tensor.dtype.is_floating_point and not actual.tensor.dtype.is_floating_point:
                hint = " — integer arithmetic? Create it with a float dtype, or use .float()"
            elif want_d == "float32" and got_d == "float64":
                hint = " — a float64 crept in (torch.tensor of Python floats from numpy? torch.float64 default?)"
            fail(f"{name}: dtype {got_d}, expected {want_d}{hint}")
        if check_device and actual.device.split(":")[0] != expected.device.split(":")[0]:
            fail(f"{name}: on device {actual.device}, expected {expected.device}")
        a = actual.tensor
        e = expected.tensor
        if not (a.dtype.is_floating_point or a.dtype.is_complex):
            a_cmp, e_cmp = a, e
            if a.dtype != e.dtype:
                a_cmp, e_cmp = a.double(), e.double()
            mismatch = a_cmp != e_cmp
            if bool(mismatch.any()):
                _fail_values(name, a, e, mismatch)
            return
        d_rtol, d_atol = default_tolerance(e.dtype)
        rtol = d_rtol if rtol is None else rtol
        atol = d_atol if atol is None else atol
        a64 = a.to(torch.complex128 if a.is_complex() else torch.float64)
        e64 = e.to(torch.complex128 if e.is_complex() else torch.float64)
        a_nan = torch.isnan(a64) if not a64.is_complex() else torch.isnan(a64.abs())
        e_nan = torch.isnan(e64) if not e64.is_complex() else torch.isnan(e64.abs())
        if bool(a_nan.any()) and not (equal_nan and bool((a_nan == e_nan).all())):
            if not bool(e_nan.any()):
                n = int(a_nan.sum())
                fail(f"{name}: contains {n} NaN value{'s' if n != 1 else ''} where none were expected "
                     f"— overflow in exp? division by zero? (try the max-subtraction/log-sum-exp trick)")
        close = torch.isclose(a64, e64, rtol=rtol, atol=atol, equal_nan=equal_nan)
        if not bool(close.all()):
            _fail_values(name, a, e, ~close)
        return

    if isinstance(expected, bool) or isinstance(actual, bool):
        if actual is not expected and actual != expected:
            fail(f"{name}: got {shown(actual)}, expected {shown(expected)}")
        return
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        if isinstance(actual, TensorInfo):
            if actual.tensor.numel() == 1:
                fail(f"{name}: expected a Python number, got a one-element tensor — use .item()")
            fail(f"{name}: expected a number, got a {describe_tensor(actual)}")
        if not isinstance(actual, (int, float)):
            fail(f"{name}: expected a number, got {describe_type(actual)}")
        if isinstance(expected, int) and isinstance(actual, int):
            if actual != expected:
                fail(f"{name}: got {actual}, expected {expected}")
            return
        r = 1e-6 if rtol is None else rtol
        a_ = 1e-8 if atol is None else atol
        if not math.isclose(float(actual), float(expected), rel_tol=r, abs_tol=a_):
            fail(f"{name}: got {actual:.6g}, expected {expected:.6g}")
        return
    if isinstance(expected, str):
        if actual != expected:
            fail(f"{name}: got {shown(actual)}, expected {shown(expected)}")
        return
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)):
            fail(f"{name}: expected a {type(expected).__name__} of {len(expected)}, got {describe_type(actual)}")
        if len(actual) != len(expected):
            fail(f"{name}: expected {len(expected)} items, got {len(actual)}")
        for i, (a_item, e_item) in enumerate(zip(actual, expected)):
            expect_close(a_item, e_item, f"{name}[{i}]", rtol=rtol, atol=atol,
                         check_dtype=check_dtype, check_device=check_device, equal_nan=equal_nan)
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or OPAQUE_KEY in actual:
            fail(f"{name}: expected a dict, got {describe_type(actual)}")
        missing = [k for k in expected if k not in actual]
        if missing:
            fail(f"{name}: missing key{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
        extra = [k for k in actual if k not in expected]
        if extra:
            fail(f"{name}: unexpected key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}")
        for k in expected:
            expect_close(actual[k], expected[k], f"{name}[{k!r}]", rtol=rtol, atol=atol,
                         check_dtype=check_dtype, check_device=check_device, equal_nan=equal_nan)
        return
    if expected is None:
        if actual is not None:
            fail(f"{name}: expected None, got {describe_type(actual)}")
        return
    if actual != expected:
        fail(f"{name}: got {shown(actual)}, expected {shown(expected)}")


def _kind(value: Any) -> str:
    if isinstance(value, TensorInfo):
        return f"a {describe_tensor(value)}"
    return f"a {describe_type(value)}"


def _fail_values(name: str, actual: Any, expected: Any, mismatch: Any) -> None:
    import torch

    n_bad = int(mismatch.sum())
    total = mismatch.numel()
    idx = tuple(int(i) for i in torch.nonzero(mismatch)[0]) if mismatch.dim() else ()
    got = actual[idx].item() if actual.dim() else actual.item()
    want = expected[idx].item() if expected.dim() else expected.item()
    where = f" at index {list(idx)}" if idx else ""
    msg = f"{name}: {n_bad} of {total} values differ; first{where}: got {_num(got)}, expected {_num(want)}"
    if actual.dtype.is_floating_point and expected.numel() > 1:
        a64 = actual.double()
        e64 = expected.double()
        if torch.allclose(a64, -e64, rtol=1e-4, atol=1e-6):
            msg += " — the sign is flipped"
        elif torch.allclose(a64.flatten().sort().values, e64.flatten().sort().values, rtol=1e-4, atol=1e-6):
            msg += " — the right values in the wrong places (order or transpose?)"
        elif bool((e64 != 0).all()):
            ratio = a64 / e64
            if float(ratio.std()) < 1e-4 * max(1.0, abs(float(ratio.mean()))):
                msg += f" — off by a constant factor of {float(ratio.mean()):.4g}"
    raise CheckFailed(msg)


def _num(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    return repr(x)
