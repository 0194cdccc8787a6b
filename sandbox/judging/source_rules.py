"""Source rules (``forbid`` / ``require``), evaluated in the judge on the submitted text.

The text comes in the judge's job (a copy taken before the learner's code ran), never from
the child's ``__file__``. The rules see through the ways a banned function can be reached
without writing its name:

* aliases: ``import torch.nn.functional as F2``, ``from torch import softmax as s``,
  ``sm = torch.softmax``, ``NAME = "softmax"; getattr(torch, NAME)``;
* ``from torch import *`` followed by a bare ``softmax(x)``;
* lookups by name: ``getattr(torch, "softmax")``, ``vars(torch)["softmax"]``,
  ``torch.__dict__["softmax"]``, ``operator.methodcaller("softmax")``, names built from
  string pieces (``"soft" + "max"``); a lookup on torch whose name cannot be worked out is
  reported as such, as are ``eval``/``exec``/``importlib`` with computed arguments;
* private twins: ``torch._softmax``, ``torch._C._nn.log_softmax``, ``torch.ops.aten._softmax``;
* where loops are banned: ``map``/``filter``/``functools.reduce``/``itertools`` and recursion
  count as loops, and helpers the scoped function calls are checked with it.
"""

from __future__ import annotations

import ast
from typing import Any, Iterable

from sandbox.judging.compare import fail

#: Conventional short names in ban lists (``F.softmax``, ``nn.Linear``).
CONVENTIONAL = {"F": "torch.nn.functional", "nn": "torch.nn", "np": "numpy", "th": "torch"}
LOOP_NODES = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
#: Calls that are loops in disguise.
LOOP_CALLS = {"map", "filter", "functools.reduce", "reduce", "itertools.accumulate", "itertools.starmap",
              "itertools.repeat", "itertools.count", "itertools.cycle", "itertools.chain", "itertools.product",
              "itertools.islice", "itertools.takewhile", "itertools.dropwhile"}
#: Calls that run code the checker cannot read.
DYNAMIC_CALLS = {"eval", "exec", "compile", "__import__", "importlib.import_module"}
#: aten overload names after the op (``torch.ops.aten.softmax.int``).
_OVERLOADS = {"default", "int", "Tensor", "Scalar", "out", "dim", "self", "vec", "float"}


def canonical(entry: str) -> str:
    head, _, rest = entry.partition(".")
    return CONVENTIONAL[head] + ("." + rest if rest else "") if head in CONVENTIONAL and rest else entry


def _const_str(node: ast.AST, strings: dict[str, str]) -> str | None:
    """A string the expression always evaluates to, when it can be worked out statically."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in strings:
        return strings[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _const_str(node.left, strings), _const_str(node.right, strings)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and value.conversion == -1 and value.format_spec is None:
                inner = _const_str(value.value, strings)
                if inner is None:
                    return None
                parts.append(inner)
            else:
                return None
        return "".join(parts)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
            and len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple))):
        sep = _const_str(node.func.value, strings)
        items = [_const_str(e, strings) for e in node.args[0].elts]
        return sep.join(items) if sep is not None and all(i is not None for i in items) else None  # type: ignore[arg-type]
    return None


class Names:
    """What each name in the file stands for: modules, functions, string constants."""

    def __init__(self, tree: ast.Module) -> None:
        self.aliases: dict[str, str] = {}
        self.strings: dict[str, str] = {}
        self.stars: list[tuple[str, int]] = []
        imports: list[ast.AST] = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        for node in imports:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.aliases[a.asname] = a.name
                    else:
                        root = a.name.split(".")[0]
                        self.aliases.setdefault(root, root)
            elif node.module and node.level == 0:
                for a in node.names:
                    if a.name == "*":
                        self.stars.append((node.module, node.lineno))
                    else:
                        self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        assigns = [n for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.AnnAssign, ast.NamedExpr))]
        for _ in range(3):  # chains of aliases: a = torch; b = a.nn; c = b.functional
            for node in assigns:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
                if value is None:
                    continue
                for target in targets:
                    if not isinstance(target, ast.Name):
                        continue
                    text = _const_str(value, self.strings)
                    if text is not None:
                        self.strings[target.id] = text
                        continue
                    resolved = self.resolve(value)
                    if resolved and resolved != target.id:
                        self.aliases[target.id] = resolved

    def resolve(self, node: ast.AST) -> str:
        """The dotted path an expression names (``F2.softmax`` -> ``torch.nn.functional.softmax``)."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            inner = self.resolve(node.value)
            return f"{inner}.{node.attr}" if inner else node.attr
        if isinstance(node, ast.Call):
            fn = self.resolve(node.func)
            if fn == "getattr" and len(node.args) >= 2:
                name = _const_str(node.args[1], self.strings)
                target = self.resolve(node.args[0])
                if name is not None:
                    return f"{target}.{name}" if target else name
            if fn in ("importlib.import_module", "__import__") and node.args:
                name = _const_str(node.args[0], self.strings)
                if name:
                    return name if fn == "importlib.import_module" else name.split(".")[0]
            return ""
        if isinstance(node, ast.Subscript):
            key = _const_str(node.slice, self.strings)
            base = node.value
            if key is not None:
                if isinstance(base, ast.Call) and self.resolve(base.func) == "vars" and base.args:
                    target = self.resolve(base.args[0])
                    return f"{target}.{key}" if target else ""
                if isinstance(base, ast.Attribute) and base.attr == "__dict__":
                    target = self.resolve(base.value)
                    return f"{target}.{key}" if target else ""
        return ""

    def module_like(self, path: str, roots: set[str]) -> bool:
        return bool(path) and path.split(".")[0] in roots


class Ban:
    """One ``forbid.calls`` entry and the ways it can be written."""

    def __init__(self, entry: str) -> None:
        self.entry = entry
        self.full = canonical(entry)
        parts = entry.split(".")
        # The first component is the module, which learners alias freely (`torch`, `th`,
        # `F`): `torch.cdist` -> `cdist` (so `x.cdist` counts too), `torch.autograd.grad`
        # -> `autograd.grad` (so a plain `x.grad` does not).
        self.suffix = ".".join(parts[1:]) if len(parts) > 1 else entry
        self.base = self.full.split(".")[-1]
        self.root = self.full.split(".")[0]

    def _twin(self, path: str) -> bool:
        """``torch._softmax``, ``torch._C._nn.softmax``, ``torch.ops.aten._softmax.default``."""
        if self.root != "torch" or not path.startswith("torch."):
            return False
        parts = path.split(".")
        private = any(p.startswith("_") for p in parts[1:]) or "ops" in parts
        if not private:
            return False
        tail = [p for p in parts[1:] if p not in _OVERLOADS] or parts[1:]
        name = tail[-1].lstrip("_")
        return name == self.base or name.startswith(self.base + "_") or name.rstrip("_") == self.base

    def matches(self, used: str, resolved: str) -> bool:
        for path in {used, resolved} - {""}:
            if path == self.suffix or path.endswith("." + self.suffix) or path == self.full:
                return True
        return bool(resolved) and self._twin(resolved)


def _without_main_block(tree: ast.Module) -> list[ast.stmt]:
    """Top-level statements, minus ``if __name__ == "__main__":`` demo blocks."""
    body = []
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and "__name__" in ast.unparse(stmt.test) and "__main__" in ast.unparse(stmt.test):
            continue
        body.append(stmt)
    return body


def _definitions(tree: ast.Module) -> dict[str, list[ast.AST]]:
    found: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.setdefault(node.name, []).append(node)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    found.setdefault(t.id, []).append(node.value)
    return found


def _called_names(root: ast.AST) -> set[str]:
    """Names of the file's own functions that ``root`` calls or refers to (``helper(x)``,
    ``self.helper(x)``, ``map(helper, ...)``)."""
    names: set[str] = set()
    for node in ast.walk(root):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            names.add(node.attr)
    return names


class Scope:
    """The code a rule applies to: the scoped function (or the file, minus its demo block)
    and every helper of the file's own that it reaches."""

    def __init__(self, tree: ast.Module, scope: str | None) -> None:
        defs = _definitions(tree)
        if scope:
            roots = [n for n in defs.get(scope, []) if not isinstance(n, ast.Lambda)]
            if not roots:
                fail(f"`{scope}` is not defined in your file")
        else:
            roots = list(_without_main_block(tree))
        seen: set[int] = set()
        root_ids = {id(r) for r in roots}
        self.functions: list[tuple[str, ast.AST]] = []   # (name, node) reached, for recursion
        queue: list[ast.AST] = list(roots)
        self.roots = list(roots)
        self.helpers: dict[int, str] = {}
        while queue:
            node = queue.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            for name in _called_names(node):
                for target in defs.get(name, []):
                    if id(target) not in seen and id(target) not in root_ids:
                        self.helpers[id(target)] = name
                        queue.append(target)
        self.reached = [n for n in (roots + [t for ts in defs.values() for t in ts]) if id(n) in seen]
        self.defs = defs

    def nodes(self) -> Iterable[tuple[ast.AST, str]]:
        """Every node in reach, with the helper it sits in ('' for the scope itself)."""
        done: set[int] = set()
        for root in self.reached:
            helper = self.helpers.get(id(root), "")
            for node in ast.walk(root):
                if id(node) not in done:
                    done.add(id(node))
                    yield node, helper


def _in_helper(helper: str) -> str:
    return f" (in `{helper}`, which it calls)" if helper else ""


def _recursion(scope: Scope) -> tuple[int, str] | None:
    """A function in reach that calls itself, directly or through another one."""
    graph: dict[str, set[str]] = {}
    lines: dict[str, int] = {}
    for name, nodes in scope.defs.items():
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node in scope.reached:
                graph.setdefault(name, set()).update(n for n in _called_names(node) if n in scope.defs)
                lines.setdefault(name, node.lineno)
    for start in graph:
        stack, seen = list(graph[start]), set()
        while stack:
            name = stack.pop()
            if name == start:
                return lines[start], start
            if name in seen:
                continue
            seen.add(name)
            stack.extend(graph.get(name, ()))
    return None


def judge_source(spec: dict[str, Any], source: str) -> str:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        fail(f"your file has a syntax error on line {exc.lineno}: {exc.msg}")
    forbid = spec.get("forbid") or {}
    require = spec.get("require") or {}
    scope_name = spec.get("scope")
    where = f" in `{scope_name}`" if scope_name else ""
    names = Names(tree)
    scope = Scope(tree, scope_name)
    bans = [Ban(str(c)) for c in forbid.get("calls", [])]
    roots = {b.root for b in bans} | {"torch"}
    no_loops = bool(forbid.get("loops"))
    star_roots = [(m, line) for m, line in names.stars]

    def banned(used: str, resolved: str) -> str:
        for ban in bans:
            if ban.matches(used, resolved):
                return ban.entry
        return ""

    def fail_use(line: Any, hit: str, helper: str, how: str = "uses") -> None:
        fail(f"line {line}: {how} `{hit}`{_in_helper(helper)} — this exercise asks you to "
             f"build it yourself from simpler operations")

    for node, helper in scope.nodes():
        line = getattr(node, "lineno", "?")
        if no_loops:
            if isinstance(node, LOOP_NODES):
                what = "a comprehension" if isinstance(node, COMPREHENSIONS) else f"a `{type(node).__name__.lower()}` loop"
                fail(f"line {line}: {what}{where}{_in_helper(helper)} — this exercise asks for a solution "
                     f"without Python loops; use whole-tensor operations (broadcasting, indexing, reductions)")
            if isinstance(node, ast.Call):
                called = names.resolve(node.func)
                if called in LOOP_CALLS or called.endswith(".apply_"):
                    fail(f"line {line}: `{called}(...)`{where}{_in_helper(helper)} is a loop in disguise — this "
                         f"exercise asks for whole-tensor operations instead of Python loops")
        if isinstance(node, ast.Call) and names.resolve(node.func) in DYNAMIC_CALLS:
            _dynamic(node, names.resolve(node.func), names, roots, bans, line, helper)
        if not bans:
            continue
        # Only real uses count: an attribute chain (`torch.cdist`, `x.softmax`), a lookup by
        # name, or a bare name that an import or a star import brought in. A learner's own
        # variable named `diag` is not `torch.diag`.
        used = resolved = ""
        if isinstance(node, ast.Attribute):
            used, resolved = _dotted(node), names.resolve(node)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in names.aliases:
                resolved = names.aliases[node.id]
            else:
                for module, _ in star_roots:
                    hit = banned("", f"{module}.{node.id}")
                    if hit:
                        fail_use(line, hit, helper, f"uses `{node.id}` (from `from {module} import *`), that is")
        elif isinstance(node, (ast.Call, ast.Subscript)):
            resolved = names.resolve(node)
            if isinstance(node, ast.Subscript) and not resolved:
                _dynamic_subscript(node, names, roots, bans, line, helper)
            if isinstance(node, ast.Call):
                fn = names.resolve(node.func)
                if fn in ("operator.methodcaller", "operator.attrgetter", "methodcaller", "attrgetter") and node.args:
                    text = _const_str(node.args[0], names.strings)
                    if text:
                        used = text
                _dynamic(node, fn, names, roots, bans, line, helper)
        hit = banned(used, resolved)
        if hit:
            fail_use(line, hit, helper)
    if no_loops:
        rec = _recursion(scope)
        if rec:
            fail(f"line {rec[0]}: `{rec[1]}` calls itself (recursion is a loop too) — this exercise asks "
                 f"for whole-tensor operations instead of Python loops")
    # Imports usually sit at module level, outside any scope: look at the whole file.
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if alias.name == "*":
                    continue
                hit = banned(f"{node.module}.{alias.name}", f"{node.module}.{alias.name}")
                if hit:
                    fail(f"line {node.lineno}: importing `{alias.name}` — this exercise asks you not to use "
                         f"`{hit}`; build it from simpler operations")
    for mod in forbid.get("imports", []):
        def is_mod(path: str) -> bool:
            return path == mod or path.startswith(mod + ".")

        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(is_mod(a.name) for a in node.names):
                fail(f"line {node.lineno}: imports `{mod}`, which this exercise does not allow")
            if isinstance(node, ast.ImportFrom) and node.module and is_mod(node.module):
                fail(f"line {node.lineno}: imports from `{mod}`, which this exercise does not allow")
            # `importlib.import_module("torch.func")`, or `torch.func.vjp` after `import torch`
            if isinstance(node, ast.Call) and names.resolve(node.func) in ("importlib.import_module", "__import__"):
                if is_mod(names.resolve(node)):
                    fail(f"line {node.lineno}: imports `{mod}`, which this exercise does not allow")
            elif isinstance(node, ast.Attribute) and names.resolve(node) == mod:
                fail(f"line {node.lineno}: uses `{mod}`, which this exercise does not allow")
    nodes = [n for n, _ in scope.nodes()]
    for needed in require.get("calls", []):
        last = needed.split(".")[-1]
        if not any(isinstance(n, ast.Call) and (_dotted(n.func).split(".")[-1] == last
                                                or names.resolve(n.func).split(".")[-1] == last) for n in nodes):
            fail(f"this exercise asks you to use `{needed}`{where}, and your code does not call it")
    return ""


def _dynamic(node: ast.Call, fn: str, names: Names, roots: set[str], bans: list[Ban], line: Any, helper: str) -> None:
    """Report lookups the checker cannot resolve, when they could reach a banned function."""
    if fn in DYNAMIC_CALLS:
        arg = node.args[0] if node.args else None
        if fn in ("importlib.import_module", "__import__") and arg is not None and _const_str(arg, names.strings):
            return
        fail(f"line {line}: `{fn}(...)`{_in_helper(helper)} runs code the checker cannot read — in this "
             f"exercise write the operations out")
    lookup_target: ast.AST | None = None
    key: ast.AST | None = None
    if fn == "getattr" and len(node.args) >= 2:
        lookup_target, key = node.args[0], node.args[1]
    if lookup_target is None or _const_str(key, names.strings) is not None:  # type: ignore[arg-type]
        return
    target = names.resolve(lookup_target)
    if names.module_like(target, roots) or (isinstance(lookup_target, ast.Call) and names.resolve(lookup_target.func) == "vars"):
        fail(f"line {line}: looks up an attribute of `{target or 'a module'}` by a computed name{_in_helper(helper)} "
             f"— the checker cannot tell which function that is; write the call out (this exercise does "
             f"not allow {', '.join(f'`{b.entry}`' for b in bans)})")


def _dynamic_subscript(node: ast.Subscript, names: Names, roots: set[str], bans: list[Ban], line: Any,
                       helper: str) -> None:
    """``vars(torch)[name]`` / ``torch.__dict__[name]`` with a name the checker cannot work out."""
    base = node.value
    target = ""
    if isinstance(base, ast.Call) and names.resolve(base.func) == "vars" and base.args:
        target = names.resolve(base.args[0])
    elif isinstance(base, ast.Attribute) and base.attr == "__dict__":
        target = names.resolve(base.value)
    if target and names.module_like(target, roots):
        fail(f"line {line}: looks up an attribute of `{target}` by a computed name{_in_helper(helper)} — the "
             f"checker cannot tell which function that is; write the call out (this exercise does not allow "
             f"{', '.join(f'`{b.entry}`' for b in bans)})")


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    if isinstance(node, ast.Call):
        return _dotted(node.func) + "()"
    return ""
