"""The layout contract of the two packages, checked from the source (no imports executed).

* no import cycles among the modules of ``sandbox/``, nor among those of ``tutor/`` — every
  import counts, also those inside functions (a lazy import is still a dependency);
* ``sandbox/`` never imports ``tutor`` (nor textual): it runs in the learner's interpreter,
  which may not have the tutor installed;
* ``tutor/`` imports nothing from ``sandbox`` but ``sandbox.protocol`` (and never torch);
* ``sandbox.protocol`` uses the standard library only;
* the sub-packages exist with the responsibilities docs/sandbox.md describes, and the
  learner's ``from sandbox import show`` keeps working.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def imported_names(path: Path, name: str) -> set[str]:
    """Every module ``path`` imports, absolute (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            # ``from pkg import sub`` may import a submodule
            found.update(f"{mod}.{alias.name}" for alias in node.names)
    return found


def graph(package: str) -> dict[str, set[str]]:
    mods = modules(package)
    edges: dict[str, set[str]] = {}
    for name, path in mods.items():
        targets = set()
        for imp in imported_names(path, name):
            # the module itself, or the deepest known module that contains it
            while imp and imp not in mods:
                imp = imp.rpartition(".")[0]
            if imp and imp != name:
                targets.add(imp)
        # importing a.b.c also runs a and a.b: package __init__ modules are not edges we
        # count, they hold no logic beyond docstrings and lazy names
        edges[name] = {t for t in targets if not (mods[t].name == "__init__.py" and t in name)}
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


@pytest.mark.parametrize("package", ["sandbox", "tutor"])
def test_no_import_cycles(package: str) -> None:
    cycle = find_cycle(graph(package))
    assert cycle is None, f"import cycle in {package}/: " + " -> ".join(cycle or [])


def test_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_sandbox_never_imports_tutor_or_textual() -> None:
    bad = {name: sorted(imp for imp in imported_names(path, name) if imp.split(".")[0] in ("tutor", "textual", "rich"))
           for name, path in modules("sandbox").items()}
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, f"sandbox/ imports the tutor side: {bad}"


def test_tutor_imports_only_the_protocol_from_sandbox() -> None:
    bad: dict[str, list[str]] = {}
    for name, path in modules("tutor").items():
        names = imported_names(path, name)
        # ``from sandbox.protocol import X`` yields "sandbox.protocol" and "sandbox.protocol.X": fine
        wrong = sorted(imp for imp in names if imp.split(".")[0] == "sandbox"
                       and imp != "sandbox" and imp != "sandbox.protocol" and not imp.startswith("sandbox.protocol."))
        if wrong:
            bad[name] = wrong
        if "torch" in _top(names):
            bad.setdefault(name, []).append("torch")
    assert not bad, f"tutor/ reaches into the sandbox's internals: {bad}"


def test_protocol_is_standard_library_only() -> None:
    path = ROOT / "sandbox" / "protocol.py"
    names = _top(imported_names(path, "sandbox.protocol")) - {"__future__"}
    assert names <= set(sys.stdlib_module_names), f"sandbox.protocol imports {sorted(names - set(sys.stdlib_module_names))}"


def test_sandbox_is_split_by_responsibility() -> None:
    """Only the package entry point and the shared protocol sit at the top of sandbox/."""
    top = sorted(p.name for p in (ROOT / "sandbox").glob("*.py"))
    assert top == ["__init__.py", "protocol.py"], top
    for sub, must in {"runtime": ["worker.py", "zygote.py", "spare.py", "supervise.py"],
                      "isolation": ["confine.py", "report.py", "namespaces.py", "landlock.py", "limits.py"],
                      "judging": ["harness.py"],
                      "learner": ["show.py", "events.py"]}.items():
        present = {p.name for p in (ROOT / "sandbox" / sub).glob("*.py")}
        assert "__init__.py" in present and set(must) <= present, (sub, sorted(present))


def test_isolation_report_is_built_in_one_module() -> None:
    """Only sandbox/isolation/report.py assembles the report's shape (its "layers" dict)."""
    builders = []
    for name, path in modules("sandbox").items():
        text = path.read_text(encoding="utf-8")
        if '"level":' in text and '"layers":' in text and name != "sandbox.isolation.report":
            builders.append(name)
    assert not builders, f"isolation report assembled outside sandbox.isolation.report: {builders}"


def test_learner_import_still_works() -> None:
    code = ("from sandbox import show\n"
            "assert callable(show) and callable(show.tensor) and callable(show.metric)\n"
            "import sys\n"
            "assert not [m for m in sys.modules if m.split('.')[0] in ('tutor', 'torch', 'textual')], "
            "sorted(m for m in sys.modules if m.split('.')[0] in ('tutor', 'torch', 'textual'))\n"
            "show.metric('loss', 0.5, step=1)\n"
            "show.text('hello')\n")
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + code],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "loss (step 1): 0.5" in out.stdout and "hello" in out.stdout
