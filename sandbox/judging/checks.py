"""Check kinds: what runs in the learner's process (the *probe*) and what runs in the
clean judge process (the *judge*).

A check never trusts the learner's process with a verdict. The probe only collects data —
the outputs of the learner's function on checker-generated inputs, a variable's value, a
model's predictions on held-out data — and the judge, in a process where learner code never
ran, regenerates the same inputs from the same seed, runs the reference solution, compares.

Kinds (the lesson format, ``docs/lesson-format.md``, documents the YAML keys):

``function``  call the learner's function on every case the ``cases`` code yields.
``variable``  compare a module-level variable with the reference's.
``source``    AST rules on the learner's code (``forbid``: calls, loops, imports; ``require``).
``stdout``    the program's output must contain the given text.
``custom``    author-written ``probe`` and ``judge`` bodies (the escape hatch).
"""

from __future__ import annotations

import ast
import math
import sys
import textwrap
import traceback
import types
from types import SimpleNamespace
from typing import Any, Callable, Iterable

from sandbox.judging.budget import OutOfBudget
from sandbox.judging.compare import CheckFailed, CheckSkipped, expect_close, fail
from sandbox.judging.source_rules import LOOP_NODES, judge_source  # noqa: F401 - re-exported

RAISED_KEY = "__raised__"
MISSING_KEY = "__missing__"


# --- compiling author code so errors point at the lesson file ------------------------------


def compile_body(code: str, name: str, params: str, filename: str, first_line: int) -> Any:
    """Compile ``code`` as the body of ``def name(params)``; line numbers map to the YAML."""
    src = f"def {name}({params}):\n" + textwrap.indent(code.rstrip() or "pass", "    ") + "\n"
    tree = ast.parse(src, filename=filename)
    ast.increment_lineno(tree, max(first_line - 2, 0))
    return compile(tree, filename, "exec", dont_inherit=True)


def author_globals(setup_ns: dict[str, Any] | None = None) -> dict[str, Any]:
    """The names every piece of check code sees."""
    import random

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    g: dict[str, Any] = {
        "__name__": "__check__",
        "torch": torch, "nn": nn, "F": F, "math": math, "random": random,
        "expect_close": expect_close, "fail": fail, "CheckFailed": CheckFailed,
        "rand_shape": rand_shape, "randint": randint, "describe": describe, "plain": plain,
        "CheckSkipped": CheckSkipped,
    }
    from sandbox.judging import helpers

    g.update({name: getattr(helpers, name) for name in helpers.__all__ if name not in g})
    if setup_ns:
        g.update({k: v for k, v in setup_ns.items() if not k.startswith("__")})
    return g


def define(code: str, name: str, params: str, filename: str, first_line: int,
           env: dict[str, Any]) -> Callable[..., Any]:
    ns = dict(env)
    exec(compile_body(code, name, params, filename, first_line), ns)
    return ns[name]


#: The module an exercise's ``setup`` runs as, in the judge and in the learner's process alike.
SETUP_MODULE = "__exercise_setup__"


def run_setup(exercise_setup: str, filename: str, first_line: int) -> dict[str, Any]:
    """Run an exercise's shared ``setup`` code (helpers for cases, probes and judges).

    It runs as a module of its own, registered in ``sys.modules`` under ``SETUP_MODULE`` in
    both processes: a class it defines then has the same importable name on both sides, so
    a case holding an instance of it pickles in the judge and unpickles in the learner's
    process (where the same setup has run), and ``@dataclass`` works in it."""
    module = types.ModuleType(SETUP_MODULE)
    ns = module.__dict__
    ns.update(author_globals())
    ns["__name__"] = SETUP_MODULE
    ns["__file__"] = filename
    sys.modules[SETUP_MODULE] = module
    if exercise_setup.strip():
        tree = ast.parse(exercise_setup, filename=filename)
        ast.increment_lineno(tree, max(first_line - 1, 0))
        exec(compile(tree, filename, "exec", dont_inherit=True), ns)
    return ns


# --- helpers for authors --------------------------------------------------------------------


def randint(gen: Any, low: int, high: int) -> int:
    """A random int in [low, high] drawn from ``gen`` (inclusive, unlike torch.randint)."""
    import torch

    return int(torch.randint(low, high + 1, (1,), generator=gen))


def rand_shape(gen: Any, ndim: int | tuple[int, int] = (1, 3), low: int = 1, high: int = 6) -> tuple[int, ...]:
    """A random shape: ``ndim`` dims (or a random count in the range), each in [low, high]."""
    n = ndim if isinstance(ndim, int) else randint(gen, ndim[0], ndim[1])
    return tuple(randint(gen, low, high) for _ in range(n))


def plain(value: Any) -> Any:
    """Data from the probe with tensor records (a tensor that required grad, lived on a GPU
    or was a subclass) turned back into plain tensors, recursively — for custom judges."""
    if isinstance(value, dict):
        if "__tensor__" in value:
            return value["__tensor__"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


def describe(value: Any) -> str:
    """Short description of an argument for a failure message: ``(4, 3) float32``."""
    import torch

    if isinstance(value, torch.Tensor):
        shape = "(" + ", ".join(map(str, value.shape)) + ("," if value.dim() == 1 else "") + ")"
        return f"{shape} {str(value.dtype).replace('torch.', '')}"
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"{type(value).__name__} of {len(value)}"
    lines = repr(value).splitlines() or [""]
    r = lines[0] + (" ..." if len(lines) > 1 else "")
    return r if len(r) <= 40 else r[:37] + "..."


def call_signature(function: str, case: Any) -> str:
    if isinstance(case, dict):
        inner = ", ".join(f"{k}={describe(v)}" if not _is_tensor(v) else f"{k}: {describe(v)}"
                          for k, v in case.items())
    elif isinstance(case, tuple):
        inner = ", ".join(describe(v) for v in case)
    else:  # a single argument, as _call passes it
        inner = describe(case)
    return f"`{function}({inner})`"


def _is_tensor(v: Any) -> bool:
    import torch

    return isinstance(v, torch.Tensor)


def check_seed(seed: int, index: int) -> int:
    return (seed * 1_000_003 + index * 7919) % (2**62)


def make_generator(seed: int) -> Any:
    import torch

    return torch.Generator().manual_seed(seed)


def _cases(spec: dict[str, Any], env: dict[str, Any], gen: Any, seed: int) -> list[Any]:
    fn = define(spec.get("cases") or "return [()]", "cases", "gen, seed", spec.get("file", "<lesson>"),
                int(spec.get("cases_line", 1)), env)
    produced = fn(gen, seed)
    cases = list(produced) if produced is not None else []
    if not cases:
        raise ValueError(f"check {spec.get('name')!r}: its cases code produced no case")
    return cases


def _call(fn: Callable[..., Any], case: Any) -> Any:
    if isinstance(case, dict):
        return fn(**case)
    if isinstance(case, tuple):
        return fn(*case)
    return fn(case)


# --- versions and seeds ---------------------------------------------------------------------


def format_version(specs: list[dict[str, Any]]) -> int:
    """The request's lesson format (the loader copies the lesson's into every check)."""
    versions = [int(s.get("format_version") or 1) for s in specs if isinstance(s, dict)]
    return max(versions) if versions else 1


def judge_side(spec: dict[str, Any]) -> bool:
    """Does this check's input come from the judge (format v2 function and custom checks)?"""
    return int(spec.get("format_version") or 1) >= 2 and spec.get("kind") in ("function", "custom")


def process_seed(seed: int, version: int) -> int:
    """The seed of the learner's process (and of the reference's, for variable checks).

    v1: the run's seed, as before. v2: a one-way function of it, so a learner who reads it
    (from a frame, from ``torch.initial_seed()``) learns nothing about the cases' seeds."""
    if version < 2:
        return seed
    import hashlib

    digest = hashlib.blake2b(f"learner:{seed}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (2**62)


# --- how learner exceptions are told ------------------------------------------------------

#: Longest exception text kept; longer ones are cut at a sentence or line end, and say so.
MAX_EXC_CHARS = 1200


def exc_text(exc: BaseException) -> str:
    """``Type: message``, whole, or shortened at a sentence end — never mid-sentence."""
    text = f"{type(exc).__name__}: {exc}".strip() if str(exc) else type(exc).__name__
    if len(text) <= MAX_EXC_CHARS:
        return text
    head = text[:MAX_EXC_CHARS]
    cut = max(head.rfind(". "), head.rfind(".\n"), head.rfind("\n"))
    head = head[: cut + 1] if cut > MAX_EXC_CHARS // 3 else head[: head.rfind(" ")]
    return head.rstrip() + " [... the rest of the message is left out]"


def learner_frame(exc: BaseException, learner_file: str | None) -> dict[str, Any] | None:
    """The innermost frame of the learner's file in a traceback: file, line, function, code."""
    import os

    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if learner_file and os.path.abspath(f.filename) == os.path.abspath(learner_file)]
    if not mine:
        mine = [f for f in frames if "/sandbox/" not in f.filename.replace("\\", "/")
                and not f.filename.startswith("<")]
    if not mine:
        return None
    f = mine[-1]
    return {"file": os.path.basename(f.filename), "line": f.lineno, "function": f.name, "code": (f.line or "").strip()}


def raised_record(exc: BaseException, learner_file: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {RAISED_KEY: exc_text(exc), "traceback": _learner_tb(exc)}
    frame = learner_frame(exc, learner_file)
    if frame:
        record["at"] = frame
    if isinstance(exc, CheckFailed):
        record["check_failed"] = str(exc)
    if isinstance(exc, CheckSkipped):
        record["skipped"] = str(exc)
    return record


def raised_message(record: dict[str, Any], call: str) -> str:
    """```f(x: (3,) float32)` raised ValueError: ... — at line 4 of f.py, in f: `return x / y```"""
    raised = str(record.get(RAISED_KEY, "an exception"))
    if raised.startswith("NotImplementedError"):
        return f"{call} raised NotImplementedError — replace the `raise NotImplementedError` with your code"
    at = record.get("at") if isinstance(record.get("at"), dict) else None
    where = ""
    if at:
        where = f"\n  at line {at.get('line')} of {at.get('file')}, in `{at.get('function')}`"
        if at.get("code"):
            where += f": `{at.get('code')}`"
    return f"{call} raised {raised}{where}"


# --- probe: runs in the learner's process ---------------------------------------------------

INTEGRITY_KEY = "__integrity__"
BUDGET_KEY = "__budget__"
MUTATED_KEY = "__mutated__"
VALUE_KEY = "v"


class ProbeContext:
    """What probing needs besides the specs, gathered by the harness before learner code ran."""

    def __init__(self, learner_ns: dict[str, Any], setup: tuple[str, str, int] | None, device: str = "cpu",
                 v1_seeds: dict[int, int] | None = None, sent: dict[str, Any] | None = None,
                 verify: Callable[[], list[str]] | None = None, learner_file: str | None = None) -> None:
        self.learner_ns = learner_ns
        self.setup = setup
        self.device = device
        self.v1_seeds = v1_seeds or {}
        self.sent = sent or {}
        self.verify = verify
        self.learner_file = learner_file


def probe_all(checks: list[dict[str, Any]], learner_ns: dict[str, Any], seed: int,
              setup: tuple[str, str, int] | None) -> dict[str, Any]:
    """v1 shape, for callers that drive the probe themselves: ``{index: data}``."""
    ctx = ProbeContext(learner_ns, setup, v1_seeds={i: check_seed(seed, i) for i in range(len(checks))})
    return probe_checks(checks, ctx)["checks"]


def probe_checks(checks: list[dict[str, Any]], ctx: ProbeContext) -> dict[str, Any]:
    """Collect the data every check needs from the learner's namespace.

    Returns ``{"checks": {index: data}, "__integrity__": {...}}``; verifies after each check
    that the learner's code replaced nothing the harness relies on, and stops if it did.
    """
    import torch

    from sandbox.judging import budget as budgets

    # Undo global state the learner may have changed, so checker-generated inputs are the
    # same here as in the judge (e.g. torch.set_default_dtype(torch.float64)).
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)
    setup_ns = run_setup(*ctx.setup) if ctx.setup else author_globals()
    out: dict[str, Any] = {}
    result: dict[str, Any] = {"checks": out}
    for index, spec in enumerate(checks):
        kind = spec.get("kind")
        key = str(index)
        seconds = budgets.seconds(spec)
        try:
            with budgets.limit(seconds):
                if judge_side(spec):
                    out[key] = _probe_sent(spec, index, ctx, setup_ns, seconds)
                elif kind == "function":
                    cseed = ctx.v1_seeds[index]
                    out[key] = _probe_function(spec, ctx.learner_ns, setup_ns, make_generator(cseed), cseed)
                elif kind == "variable":
                    name = spec["variable"]
                    out[key] = ctx.learner_ns[name] if name in ctx.learner_ns else {MISSING_KEY: name}
                elif kind == "custom":
                    cseed = ctx.v1_seeds[index]
                    fn = define(spec["probe"], "probe", "learner, gen, seed", spec.get("file", "<lesson>"),
                                int(spec.get("probe_line", 1)), setup_ns)
                    out[key] = fn(SimpleNamespace(**ctx.learner_ns), make_generator(cseed), cseed)
        except budgets.OutOfBudget:
            out[key] = {BUDGET_KEY: seconds}
        except BaseException as exc:  # noqa: BLE001 - any learner failure (sys.exit too) becomes data
            out[key] = raised_record(exc, ctx.learner_file)
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)
        if ctx.verify is not None:
            replaced = ctx.verify()
            if replaced:
                result[INTEGRITY_KEY] = {"replaced": replaced, "when": f"while the check {spec.get('name')!r} ran"}
                break
    return result


def _to_device(value: Any, device: str) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        moved = value.detach().to(device)
        return moved.requires_grad_(value.requires_grad) if value.is_leaf else moved
    if isinstance(value, torch.nn.Module):
        return value.to(device)
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_device(v, device) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_device(v, device) for v in value)
    return value


def _snapshot(value: Any, depth: int = 0) -> Any:
    """A deep copy of the tensors in ``value`` (and a module's parameters, buffers, grads),
    to tell afterwards whether the learner's function changed them in place."""
    import torch

    if depth > 8:
        return None
    if isinstance(value, torch.Tensor):
        grad = value.grad if value.is_leaf else None
        return ("t", value.detach().clone(), None if grad is None else grad.detach().clone())
    if isinstance(value, torch.nn.Module):
        return ("m", {k: _snapshot(v, depth + 1) for k, v in
                      list(value.named_parameters()) + list(value.named_buffers())})
    if isinstance(value, dict):
        return ("d", {k: _snapshot(v, depth + 1) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return ("l", [_snapshot(v, depth + 1) for v in value], len(value))
    return None


def _changed(before: Any, value: Any) -> str:
    """How ``value`` differs from its snapshot: '' when untouched, else a short reason."""
    import torch

    if before is None:
        return ""
    kind = before[0]
    if kind == "t":
        if not isinstance(value, torch.Tensor):
            return "replaced"
        old, old_grad = before[1], before[2]
        now = value.detach()
        if now.shape != old.shape or now.dtype != old.dtype:
            return f"its shape/dtype changed to {tuple(now.shape)} {str(now.dtype).replace('torch.', '')}"
        if not torch.equal(now.to(old.device), old) and not (old.is_floating_point() and bool(
                torch.equal(torch.isnan(now.to(old.device)), torch.isnan(old))
                and torch.equal(torch.nan_to_num(now.to(old.device)), torch.nan_to_num(old)))):
            return "its values changed"
        grad = value.grad if value.is_leaf else None
        if (old_grad is None) != (grad is None) or (grad is not None and not torch.equal(grad.detach().to(old_grad.device), old_grad)):
            return "its .grad changed"
        return ""
    if kind == "m":
        if not isinstance(value, torch.nn.Module):
            return "replaced"
        now = dict(list(value.named_parameters()) + list(value.named_buffers()))
        for name, snap in before[1].items():
            why = _changed(snap, now.get(name))
            if why:
                return f"`{name}`: {why}"
        return ""
    if kind == "d":
        if not isinstance(value, dict):
            return "replaced"
        for k, snap in before[1].items():
            why = _changed(snap, value.get(k))
            if why:
                return f"[{k!r}]: {why}"
        return ""
    if kind == "l":
        if not isinstance(value, (list, tuple)) or len(value) != before[2]:
            return "items were added or removed"
        for i, (snap, item) in enumerate(zip(before[1], value)):
            why = _changed(snap, item)
            if why:
                return f"[{i}]: {why}"
    return ""


def _mutation(case: Any, snap: Any) -> str:
    """Which argument of the call the function modified in place ('' when none)."""
    if isinstance(case, dict):
        for k, v in case.items():
            why = _changed(snap[1].get(k), v) if snap else ""
            if why:
                return f"`{k}` ({why})"
        return ""
    if isinstance(case, tuple):
        for i, (v, s) in enumerate(zip(case, snap[1] if snap else [])):
            why = _changed(s, v)
            if why:
                return f"argument {i + 1} ({why})"
        return ""
    why = _changed(snap, case)
    return f"its argument ({why})" if why else ""


def _probe_sent(spec: dict[str, Any], index: int, ctx: ProbeContext, setup_ns: dict[str, Any],
                seconds: float | None) -> Any:
    """v2: run the learner's code on the cases the judge sent, one output per case, in the
    order they came (shuffled by the judge)."""
    from sandbox.judging import budget as budgets
    from sandbox.judging import cases as trusted

    sent = ctx.sent.get(str(index))
    if not isinstance(sent, list):
        return {RAISED_KEY: "the checker sent no cases for this check"}
    kind = spec.get("kind")
    on_device = bool(spec.get("on_device")) and ctx.device != "cpu"
    if kind == "function":
        name = spec["function"]
        fn = ctx.learner_ns.get(name)
        if fn is None:
            return {MISSING_KEY: name}
        if not callable(fn):
            return {MISSING_KEY: name, "not_callable": type(fn).__name__}
    else:
        fn = define(spec["probe"], "probe", "learner, case, device", spec.get("file", "<lesson>"),
                    int(spec.get("probe_line", 1)), setup_ns)
        learner = SimpleNamespace(**ctx.learner_ns)
    mutates = bool(spec.get("mutates"))
    outputs: list[Any] = []
    for packed in sent:
        case = trusted.unpack(packed)
        if on_device:
            case = _to_device(case, ctx.device)
        try:
            if kind == "function":
                snap = None if mutates else _snapshot(case)
                value = _call(fn, case)
                entry: dict[str, Any] = {VALUE_KEY: value}
                if mutates:
                    entry["after"] = case
                else:
                    changed = _mutation(case, snap)
                    if changed:
                        entry[MUTATED_KEY] = changed
            else:
                entry = {VALUE_KEY: fn(learner, case, ctx.device)}
        except budgets.OutOfBudget:
            outputs.append({BUDGET_KEY: seconds})
            break
        except BaseException as exc:  # noqa: BLE001 - the learner's failure (sys.exit too) is data
            entry = raised_record(exc, ctx.learner_file)
        outputs.append(entry)
    return {"outputs": outputs}


def _probe_function(spec: dict[str, Any], learner_ns: dict[str, Any], setup_ns: dict[str, Any],
                    gen: Any, seed: int) -> Any:
    """v1: the cases are drawn here, from the check's seed (the judge draws them again)."""
    name = spec["function"]
    fn = learner_ns.get(name)
    if fn is None:
        return {MISSING_KEY: name}
    if not callable(fn):
        return {MISSING_KEY: name, "not_callable": type(fn).__name__}
    outputs: list[Any] = []
    for case in _cases(spec, setup_ns, gen, seed):
        try:
            outputs.append(_call(fn, case))
        except OutOfBudget:
            raise
        except BaseException as exc:  # noqa: BLE001 - sys.exit() in a probed call too
            outputs.append(raised_record(exc, None))
            break
    return {"outputs": outputs}


def _learner_tb(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/sandbox/" not in f.filename.replace("\\", "/")]
    lines = traceback.format_list(frames[-6:])
    return "".join(lines) + exc_text(exc)


# --- judge: runs in a clean process ---------------------------------------------------------


def plan_cases(spec: dict[str, Any], index: int, setup_ns: dict[str, Any], seed: int, device: str) -> Any:
    """v2, in the judge: draw a check's cases (``cases(gen, seed, device)``) and shuffle them."""
    from sandbox.judging.cases import Plan

    cseed = check_seed(seed, index)
    if spec.get("cases"):
        fn = define(spec["cases"], "cases", "gen, seed, device", spec.get("file", "<lesson>"),
                    int(spec.get("cases_line", 1)), check_globals(setup_ns, seed, device))
        produced = fn(make_generator(cseed), cseed, device)
        drawn = list(produced) if produced is not None else []
        if not drawn:
            raise ValueError(f"check {spec.get('name')!r}: its cases code produced no case")
    elif spec.get("kind") == "custom":
        drawn = [None]   # a custom check without cases: its probe runs once
    else:
        drawn = [()]     # a function without arguments
    return Plan(drawn)


def check_globals(setup_ns: dict[str, Any], seed: int, device: str) -> dict[str, Any]:
    """Names check code sees in the judge besides the setup's: helpers bound to this run."""
    from functools import partial

    from sandbox.judging import helpers

    return dict(setup_ns, expect_between=partial(helpers.expect_between, seed=seed),
                expect_at_least=partial(helpers.expect_at_least, seed=seed),
                expect_at_most=partial(helpers.expect_at_most, seed=seed),
                expect_on_device=helpers.expect_on_device, Blob=helpers.Blob, device=device)


class JudgeContext:
    """What judging one request needs besides each check's spec and data."""

    def __init__(self, reference_ns: dict[str, Any], setup_ns: dict[str, Any], seed: int,
                 learner_source: str, stdout: str, plans: dict[int, Any] | None = None,
                 device: str = "cpu") -> None:
        self.reference_ns = reference_ns
        self.setup_ns = setup_ns
        self.seed = seed
        self.learner_source = learner_source
        self.stdout = stdout
        self.plans = plans or {}
        self.device = device


def judge_one(spec: dict[str, Any], index: int, data: Any, reference_ns: dict[str, Any],
              setup_ns: dict[str, Any], seed: int, learner_source: str, stdout: str) -> str:
    """v1 signature of :func:`judge_check` (no planned cases)."""
    return judge_check(spec, index, data, JudgeContext(reference_ns, setup_ns, seed, learner_source, stdout))


def judge_check(spec: dict[str, Any], index: int, data: Any, ctx: JudgeContext) -> str:
    """Raise ``CheckFailed`` with a teaching message, or return a pass message (maybe empty)."""
    kind = spec.get("kind")
    cseed = check_seed(ctx.seed, index)
    if kind == "source":
        from sandbox.judging.source_rules import judge_source

        return judge_source(spec, ctx.learner_source)
    if kind == "stdout":
        return judge_stdout(spec, ctx.stdout)
    if data is None:
        fail("your program ended before this check could look at it")
    if isinstance(data, dict) and BUDGET_KEY in data:
        fail(_budget_message(data[BUDGET_KEY], ""))
    if isinstance(data, dict) and RAISED_KEY in data:
        _fail_raised(data, "checking")
    if judge_side(spec):
        return _judge_sent(spec, index, data, ctx)
    if kind == "function":
        return _judge_function(spec, data, ctx.reference_ns, ctx.setup_ns, make_generator(cseed), cseed)
    if kind == "variable":
        name = spec["variable"]
        if isinstance(data, dict) and MISSING_KEY in data:
            fail(f"`{name}` is not defined in your file")
        expect_close(data, ctx.reference_ns[name], f"`{name}`", **_tol(spec))
        return ""
    if kind == "custom":
        # The learner's source is data too (a judge may inspect it with ast); it never runs here.
        fn = define(spec["judge"], "judge", "data, reference, gen, seed", spec.get("file", "<lesson>"),
                    int(spec.get("judge_line", 1)), dict(check_globals(ctx.setup_ns, ctx.seed, ctx.device),
                                                         learner_source=ctx.learner_source))
        result = fn(data, SimpleNamespace(**ctx.reference_ns), make_generator(cseed), cseed)
        return result if isinstance(result, str) else ""
    raise ValueError(f"unknown check kind {kind!r}")


def _fail_raised(record: dict[str, Any], call: str) -> None:
    if record.get("skipped"):
        raise CheckSkipped(str(record["skipped"]))
    if record.get("check_failed"):
        fail(str(record["check_failed"]))
    fail(raised_message(record, call))


def _budget_message(seconds: Any, doing: str) -> str:
    try:
        shown_s = f"{float(seconds):g} s"
    except (TypeError, ValueError):
        shown_s = "its time"
    return (f"this check ran out of its {shown_s} budget{doing} — an endless loop, or work that is far "
            f"slower than it needs to be? (the other checks still ran)")


def _tol(spec: dict[str, Any]) -> dict[str, float]:
    tol = spec.get("tolerance") or {}
    return {k: float(tol[k]) for k in ("rtol", "atol") if k in tol}


def _missing_function(name: str, data: dict[str, Any]) -> None:
    if "not_callable" in data:
        fail(f"`{name}` should be a function, but it is a {data['not_callable']}")
    fail(f"`{name}` is not defined in your file — check the spelling, and that it is not "
         f"inside another function or the `if __name__ == \"__main__\":` block")


def _sent_outputs(spec: dict[str, Any], data: Any, plan: Any, call_of: Callable[[int], str]) -> list[Any]:
    """The learner's outputs, one per case, back in authored order (or a failure)."""
    outputs = data.get("outputs") if isinstance(data, dict) else None
    if not isinstance(outputs, list):
        fail("the check got no outputs back from your code")
    n = len(plan.cases)
    if outputs and isinstance(outputs[-1], dict) and BUDGET_KEY in outputs[-1]:
        stuck = plan.order[len(outputs) - 1]
        fail(_budget_message(outputs[-1][BUDGET_KEY], f" while running {call_of(stuck)}"))
    if len(outputs) != n:
        fail(f"the check sent your code {n} case{'s' if n != 1 else ''} and got {len(outputs)} "
             f"output{'s' if len(outputs) != 1 else ''} back; every case needs exactly one")
    return plan.in_authored_order(outputs)


def _judge_sent(spec: dict[str, Any], index: int, data: Any, ctx: JudgeContext) -> str:
    from sandbox.judging.cases import public
    from sandbox.judging.helpers import device_type, expect_on_device

    plan = ctx.plans.get(index)
    if plan is None:
        raise ValueError("no cases were planned for this check")
    kind = spec.get("kind")
    on_device = bool(spec.get("on_device")) and device_type(ctx.device) != "cpu"
    if kind == "function":
        name = spec["function"]
        if isinstance(data, dict) and MISSING_KEY in data:
            _missing_function(name, data)
        call_of = lambda i: call_signature(name, public(plan.cases[i]))  # noqa: E731
    else:
        call_of = lambda i: f"the check on case {i + 1} of {len(plan.cases)}"  # noqa: E731
    entries = _sent_outputs(spec, data, plan, call_of)
    values = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            fail("the check got a malformed output back from your code")
        if RAISED_KEY in entry:
            _fail_raised(entry, call_of(i))
        if VALUE_KEY not in entry:
            fail("the check got a malformed output back from your code")
        if entry.get(MUTATED_KEY):
            fail(f"{call_of(i)} changed its input {entry[MUTATED_KEY]} in place; this function must leave "
                 f"its inputs as they were — compute a new tensor instead (`x = x - m`, not `x -= m` "
                 f"or `x.sub_(m)`)")
        if on_device:
            expect_on_device(entry[VALUE_KEY], ctx.device, call_of(i))
        values.append(entry)
    if kind == "custom":
        fn = define(spec["judge"], "judge", "outputs, cases, reference, gen, seed, device", spec.get("file", "<lesson>"),
                    int(spec.get("judge_line", 1)), dict(check_globals(ctx.setup_ns, ctx.seed, ctx.device),
                                                         learner_source=ctx.learner_source))
        jseed = check_seed(ctx.seed, index) ^ 0x5DEECE66D
        result = fn([e[VALUE_KEY] for e in values], plan.cases, SimpleNamespace(**ctx.reference_ns),
                    make_generator(jseed), ctx.seed, ctx.device)
        return result if isinstance(result, str) else ""
    ref_fn = ctx.reference_ns[spec["function"]]
    tol = _tol(spec)
    for i, entry in enumerate(values):
        case = plan.fresh(i)   # exactly what the learner's function was given, fresh
        expected = _call(ref_fn, case)
        expect_close(entry[VALUE_KEY], expected, call_of(i), check_device=not on_device, **tol)
        if spec.get("mutates"):
            expect_close(entry.get("after"), case, f"{call_of(i)}: its inputs afterwards",
                         check_device=not on_device, **tol)
    if all(c == () for c in plan.cases):
        return "matches the reference"
    n = len(plan.cases)
    return f"matched the reference on {n} input{'s' if n != 1 else ''}"


def _judge_function(spec: dict[str, Any], data: Any, reference_ns: dict[str, Any],
                    setup_ns: dict[str, Any], gen: Any, seed: int) -> str:
    name = spec["function"]
    if isinstance(data, dict) and MISSING_KEY in data:
        _missing_function(name, data)
    ref_fn = reference_ns[name]
    outputs = data.get("outputs", []) if isinstance(data, dict) else []
    cases = _cases(spec, setup_ns, gen, seed)
    for i, case in enumerate(cases):
        call = call_signature(name, case)
        if i >= len(outputs):
            fail(f"{call} was never called (the checks stopped early)")
        got = outputs[i]
        if isinstance(got, dict) and RAISED_KEY in got:
            _fail_raised(got, call)
        expected = _call(ref_fn, case)
        _expect_named(got, expected, call, spec)
    if all(case == () for case in cases):
        return "matches the reference"
    return f"matched the reference on {len(cases)} random input{'s' if len(cases) != 1 else ''}"


def _expect_named(got: Any, expected: Any, call: str, spec: dict[str, Any]) -> None:
    expect_close(got, expected, call, **_tol(spec))


def judge_stdout(spec: dict[str, Any], stdout: str) -> str:
    import re

    rule = spec.get("stdout") or {}
    for text in rule.get("contains", []):
        if text not in stdout:
            fail(f"your program's output should contain {text!r}" + ("" if stdout.strip() else ", but it printed nothing"))
    pattern = rule.get("regex")
    if pattern and not re.search(pattern, stdout, re.MULTILINE):
        fail(f"your program's output should match /{pattern}/")
    return ""
