"""Packaging: every package is listed, and a non-editable wheel carries lessons and schema."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_python_package_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = set()
    for top in ("tutor", "sandbox"):
        for init in (ROOT / top).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(ROOT).parts))
    missing = found - listed
    assert not missing, f"add to [tool.setuptools] packages: {sorted(missing)}"


def test_wheel_contains_lessons_and_schema(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("pytorch_tutor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped_lessons = {n for n in names if n.startswith("pytorch_tutor_lessons/") and n.endswith(".yaml")}
    source_lessons = {"pytorch_tutor_lessons/" + str(p.relative_to(ROOT / "lessons"))
                      for p in (ROOT / "lessons").rglob("*.yaml")}
    assert source_lessons and source_lessons <= shipped_lessons
    # Lesson assets (data files, tiny checkpoints) ship with their lessons (docs/lesson-format.md#assets).
    source_assets = {"pytorch_tutor_lessons/" + str(p.relative_to(ROOT / "lessons"))
                     for p in (ROOT / "lessons").glob("*/assets/*") if p.is_file()}
    assert source_assets <= set(names), sorted(source_assets - set(names))
    assert "tutor/schema/lesson.schema.json" in names
    assert "sandbox/protocol.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "pytorch-tutor = tutor.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
