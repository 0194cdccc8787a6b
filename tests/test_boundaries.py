"""The two-package boundary: tutor/ never imports torch, sandbox/ never imports textual."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_tutor_source_never_imports_torch() -> None:
    offenders = [f for f, names in imported_modules("tutor").items() if names & {"torch", "torchvision", "numpy"}]
    assert offenders == []


def test_sandbox_source_never_imports_textual() -> None:
    offenders = [f for f, names in imported_modules("sandbox").items() if "textual" in names]
    assert offenders == []


def test_protocol_is_standard_library_only() -> None:
    names = imported_modules("sandbox")["sandbox/protocol.py"]
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    assert names <= stdlib, names - stdlib


@pytest.mark.parametrize("argv", [["list"], ["list", "--json"], ["show", "1.3"], ["schema"]])
def test_commands_that_need_no_worker_never_import_torch(argv: list[str]) -> None:
    code = ("import sys, contextlib, io\n"
            "from tutor.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    rc = main({argv!r})\n"
            "assert rc == 0, rc\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision'))\n"
            "print('LOADED', bad)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout


def test_importing_every_tutor_module_never_imports_torch() -> None:
    modules = sorted(".".join(p.with_suffix("").relative_to(ROOT).parts).removesuffix(".__init__")
                     for p in (ROOT / "tutor").rglob("*.py") if p.name != "__main__.py")
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout
