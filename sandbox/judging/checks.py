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
import textwrap
import traceback
from types import SimpleNamespace
from typing import Any, Callable, Iterable

from sandbox.judging.compare import CheckFailed, expect_close, fail

RAISED_KEY = "__raised__"
MISSING_KEY = "__missing__"


# --- compiling author code so errors point at the lesson file ------------------------------


def compile_body(code: str, name: str, params: str, filename: str, first_line: int) -> Any:
    """Compile ``code`` as the body of ``def name(params)``; line numbers map to the YAML."""
    src = f"def {name}({params}):\n" + textwrap.indent(code.rstrip() or "pass", "    ") + "\n"
    tree = ast.parse(src, filename=filename)
    ast.increment_lineno(tree, max(first_line - 2, 0))
    return compile(tree, filename, "exec")


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
    }
    if setup_ns:
        g.update({k: v for k, v in setup_ns.items() if not k.startswith("__")})
    return g


def define(code: str, name: str, params: str, filename: str, first_line: int,
           env: dict[str, Any]) -> Callable[..., Any]:
    ns = dict(env)
    exec(compile_body(code, name, params, filename, first_line), ns)
    return ns[name]


def run_setup(exercise_setup: str, filename: str, first_line: int) -> dict[str, Any]:
    """Run an exercise's shared ``setup`` code (helpers for cases, probes and judges)."""
    ns = author_globals()
    if exercise_setup.strip():
        tree = ast.parse(exercise_setup, filename=filename)
        ast.increment_lineno(tree, max(first_line - 1, 0))
        exec(compile(tree, filename, "exec"), ns)
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


def _short_exc(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first[:300]


# --- probe: runs in the learner's process ---------------------------------------------------


def probe_all(checks: list[dict[str, Any]], learner_ns: dict[str, Any], seed: int,
              setup: tuple[str, str, int] | None) -> dict[str, Any]:
    """Collect the data every check needs from the learner's namespace."""
    import torch

    # Undo global state the learner may have changed, so checker-generated inputs are the
    # same here as in the judge (e.g. torch.set_default_dtype(torch.float64)).
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)
    setup_ns = run_setup(*setup) if setup else author_globals()
    out: dict[str, Any] = {}
    for index, spec in enumerate(checks):
        kind = spec.get("kind")
        key = str(index)
        gen = make_generator(check_seed(seed, index))
        try:
            if kind == "function":
                out[key] = _probe_function(spec, learner_ns, setup_ns, gen, check_seed(seed, index))
            elif kind == "variable":
                name = spec["variable"]
                out[key] = learner_ns[name] if name in learner_ns else {MISSING_KEY: name}
            elif kind == "custom":
                fn = define(spec["probe"], "probe", "learner, gen, seed", spec.get("file", "<lesson>"),
                            int(spec.get("probe_line", 1)), setup_ns)
                out[key] = fn(SimpleNamespace(**learner_ns), gen, check_seed(seed, index))
        except Exception as exc:  # noqa: BLE001 - any learner failure becomes data
            out[key] = {RAISED_KEY: _short_exc(exc), "traceback": _learner_tb(exc)}
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)
    return out


def _probe_function(spec: dict[str, Any], learner_ns: dict[str, Any], setup_ns: dict[str, Any],
                    gen: Any, seed: int) -> Any:
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
        except Exception as exc:  # noqa: BLE001
            outputs.append({RAISED_KEY: _short_exc(exc), "traceback": _learner_tb(exc)})
            break
    return {"outputs": outputs}


def _learner_tb(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/sandbox/" not in f.filename.replace("\\", "/")]
    lines = traceback.format_list(frames[-6:])
    return "".join(lines) + _short_exc(exc)


# --- judge: runs in a clean process ---------------------------------------------------------


def judge_one(spec: dict[str, Any], index: int, data: Any, reference_ns: dict[str, Any],
              setup_ns: dict[str, Any], seed: int, learner_source: str, stdout: str) -> str:
    """Raise ``CheckFailed`` with a teaching message, or return a pass message (maybe empty)."""
    kind = spec.get("kind")
    cseed = check_seed(seed, index)
    if kind == "source":
        return judge_source(spec, learner_source)
    if kind == "stdout":
        return judge_stdout(spec, stdout)
    if data is None:
        fail("your program ended before this check could look at it")
    if isinstance(data, dict) and RAISED_KEY in data:
        fail(f"checking raised {data[RAISED_KEY]}")
    if kind == "function":
        return _judge_function(spec, data, reference_ns, setup_ns, make_generator(cseed), cseed)
    if kind == "variable":
        name = spec["variable"]
        if isinstance(data, dict) and MISSING_KEY in data:
            fail(f"`{name}` is not defined in your file")
        expect_close(data, reference_ns[name], f"`{name}`", **_tol(spec))
        return ""
    if kind == "custom":
        # The learner's source is data too (a judge may inspect it with ast); it never runs here.
        fn = define(spec["judge"], "judge", "data, reference, gen, seed", spec.get("file", "<lesson>"),
                    int(spec.get("judge_line", 1)), dict(setup_ns, learner_source=learner_source))
        result = fn(data, SimpleNamespace(**reference_ns), make_generator(cseed), cseed)
        return result if isinstance(result, str) else ""
    raise ValueError(f"unknown check kind {kind!r}")


def _tol(spec: dict[str, Any]) -> dict[str, float]:
    tol = spec.get("tolerance") or {}
    return {k: float(tol[k]) for k in ("rtol", "atol") if k in tol}


def _judge_function(spec: dict[str, Any], data: Any, reference_ns: dict[str, Any],
                    setup_ns: dict[str, Any], gen: Any, seed: int) -> str:
    name = spec["function"]
    if isinstance(data, dict) and MISSING_KEY in data:
        if "not_callable" in data:
            fail(f"`{name}` should be a function, but it is a {data['not_callable']}")
        fail(f"`{name}` is not defined in your file — check the spelling, and that it is not "
             f"inside another function or the `if __name__ == \"__main__\":` block")
    ref_fn = reference_ns[name]
    outputs = data.get("outputs", []) if isinstance(data, dict) else []
    cases = _cases(spec, setup_ns, gen, seed)
    for i, case in enumerate(cases):
        call = call_signature(name, case)
        if i >= len(outputs):
            fail(f"{call} was never called (the checks stopped early)")
        got = outputs[i]
        if isinstance(got, dict) and RAISED_KEY in got:
            raised = got[RAISED_KEY]
            if raised.startswith("NotImplementedError"):
                fail(f"{call} raised NotImplementedError — replace the `raise NotImplementedError` with your code")
            fail(f"{call} raised {raised}")
        expected = _call(ref_fn, case)
        _expect_named(got, expected, call, spec)
    if all(case == () for case in cases):
        return "matches the reference"
    return f"matched the reference on {len(cases)} random input{'s' if len(cases) != 1 else ''}"


def _expect_named(got: Any, expected: Any, call: str, spec: dict[str, Any]) -> None:
    expect_close(got, expected, call, **_tol(spec))


# --- source rules ---------------------------------------------------------------------------


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    if isinstance(node, ast.Call):
        return _dotted(node.func) + "()"
    return ""


def _without_main_block(tree: ast.Module) -> list[ast.stmt]:
    """Top-level statements, minus ``if __name__ == "__main__":`` demo blocks."""
    body = []
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and "__name__" in ast.unparse(stmt.test) and "__main__" in ast.unparse(stmt.test):
            continue
        body.append(stmt)
    return body


def _scope_nodes(tree: ast.Module, scope: str | None) -> Iterable[ast.AST]:
    roots: list[ast.AST] = []
    if scope:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == scope:
                roots.append(node)
        if not roots:
            fail(f"`{scope}` is not defined in your file")
    else:
        roots = list(_without_main_block(tree))
    for root in roots:
        yield from ast.walk(root)


def _ban_suffix(entry: str) -> str:
    """What a forbidden call must end with. The first component is the module, which
    learners alias freely (`torch`, `th`, `F`): `torch.cdist` -> `cdist` (so `x.cdist` counts
    too), `torch.autograd.grad` -> `autograd.grad` (so a plain `x.grad` does not)."""
    parts = entry.split(".")
    return ".".join(parts[1:]) if len(parts) > 1 else entry


def _banned_match(used: str, banned: list[tuple[str, str]]) -> str:
    if not used:
        return ""
    for suffix, entry in banned:
        if used == suffix or used.endswith("." + suffix):
            return entry
    return ""


LOOP_NODES = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def judge_source(spec: dict[str, Any], source: str) -> str:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        fail(f"your file has a syntax error on line {exc.lineno}: {exc.msg}")
    forbid = spec.get("forbid") or {}
    require = spec.get("require") or {}
    scope = spec.get("scope")
    where = f" in `{scope}`" if scope else ""
    nodes = list(_scope_nodes(tree, scope))
    banned = [(_ban_suffix(c), c) for c in forbid.get("calls", [])]
    for node in nodes:
        if forbid.get("loops") and isinstance(node, LOOP_NODES):
            what = "a comprehension" if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) else f"a `{type(node).__name__.lower()}` loop"
            fail(f"line {node.lineno}: {what}{where} — this exercise asks for a solution without "
                 f"Python loops; use whole-tensor operations (broadcasting, indexing, reductions)")
        # Only real uses count: an attribute chain (`torch.cdist`, `x.softmax`,
        # `torch.autograd.grad`), or `getattr(obj, "cdist")`. A learner's own variable named
        # `diag` is not `torch.diag`; `from torch import cdist` is caught with the imports below.
        used = ""
        if isinstance(node, ast.Attribute):
            used = _dotted(node)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)):
            used = str(node.args[1].value)
        hit = _banned_match(used, banned)
        if hit:
            fail(f"line {getattr(node, 'lineno', '?')}: uses `{hit}` — this exercise asks you to "
                 f"build it yourself from simpler operations")
    # Imports usually sit at module level, outside any scope: look at the whole file.
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                hit = _banned_match(f"{node.module or ''}.{alias.name}", banned)
                if hit:
                    fail(f"line {node.lineno}: importing `{alias.name}` — this exercise asks you not to use "
                         f"`{hit}`; build it from simpler operations")
    for mod in forbid.get("imports", []):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == mod or a.name.startswith(mod + ".") for a in node.names):
                fail(f"line {node.lineno}: imports `{mod}`, which this exercise does not allow")
            if isinstance(node, ast.ImportFrom) and node.module and (node.module == mod or node.module.startswith(mod + ".")):
                fail(f"line {node.lineno}: imports from `{mod}`, which this exercise does not allow")
    for needed in require.get("calls", []):
        last = needed.split(".")[-1]
        if not any(isinstance(n, ast.Call) and _dotted(n.func).split(".")[-1] == last for n in nodes):
            fail(f"this exercise asks you to use `{needed}`{where}, and your code does not call it")
    return ""


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
