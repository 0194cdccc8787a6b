"""The repository's scripts compile: scripts/gpu_check.py only runs where a GPU is lent (a few
minutes, rarely), so a mistake in it must show here first, not on the device."""

from __future__ import annotations

import py_compile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "scripts").rglob("*.py"))


def test_there_are_scripts() -> None:
    assert any(path.name == "gpu_check.py" for path in SCRIPTS)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_script_compiles(path: Path, tmp_path: Path) -> None:
    py_compile.compile(str(path), cfile=str(tmp_path / "out.pyc"), doraise=True)
