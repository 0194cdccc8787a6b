"""Packaging: every package is listed, and a non-editable wheel carries lessons and schema."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

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


@pytest.mark.long
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


def _start_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("start_under_test", ROOT / "start.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: pip 26 with setuptools 84, installing this checkout editable (captured on this machine).
PIP_STDERR = """\
  /tmp/pip-build-env-f6dnln4g/overlay/lib/python3.11/site-packages/setuptools/command/editable_wheel.py:354: BuildBackendWarning: Editable installation.
  !!

          ********************************************************************************
          Please be careful with folders in your working directory with the same
          name as your package as they may take precedence during imports.
          ********************************************************************************

  !!
    with strategy, WheelFile(wheel_path, "w") as wheel_obj:
WARNING: Location 'file:///opt/pypi-more/simple/pip/' is ignored: it is neither a file nor a directory.
"""


def test_start_drops_only_setuptools_editable_notice() -> None:
    start = _start_module()
    assert start.without_editable_notice(PIP_STDERR) == (
        "WARNING: Location 'file:///opt/pypi-more/simple/pip/' is ignored: it is neither a file nor a directory.\n")
    # Any other setuptools warning, an error, or a notice cut short is passed on whole.
    other = PIP_STDERR.replace("Please be careful with folders", "Please be careful with files")
    assert start.without_editable_notice(other) == other
    cut = "".join(PIP_STDERR.splitlines(keepends=True)[:5])
    assert start.without_editable_notice(cut) == cut
    error = "ERROR: Could not find a version that satisfies the requirement torch==9\n"
    assert start.without_editable_notice(error) == error


@pytest.mark.long
def test_an_editable_install_prints_nothing_but_pips_own_lines(tmp_path: Path) -> None:
    # What start.py runs, into a fresh venv (no dependencies: torch is already on this machine).
    import venv

    venv.EnvBuilder(with_pip=True).create(tmp_path / "v")
    python = tmp_path / "v" / "bin" / "python"
    # This environment's pip (start.py upgrades it: older ones did not show the build's warnings).
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                           "-e", str(ROOT)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    shown = _start_module().without_editable_notice(proc.stderr)
    assert "setuptools" not in shown and "BuildBackendWarning" not in shown, shown


@pytest.mark.parametrize(("argv", "marks"), [
    (["test"], ["not long"]),                                  # one parallel run, no long tier
    (["test", "--long"], ["long and not serial", "serial"]),  # the long tier: parallel, then alone
    (["test", "--all"], ["not serial", "serial"]),            # both tiers, the same two runs
])
def test_start_test_runs_the_quick_suite_and_leaves_the_long_tier_to_long_and_all(
        monkeypatch: pytest.MonkeyPatch, argv: list[str], marks: list[str]) -> None:
    start = _start_module()
    ran: list[list[str]] = []

    class Done:
        returncode = 0

    monkeypatch.chdir(ROOT)  # main() changes to the checkout: undone after the test
    monkeypatch.setattr(start, "ensure_environment", lambda: Path(sys.executable))
    monkeypatch.setattr(start.subprocess, "run", lambda cmd, **kw: ran.append(list(cmd)) or Done())
    assert start.main(argv) == 0
    assert all(cmd[1:3] == ["-m", "pytest"] for cmd in ran)
    assert [cmd[cmd.index("-m", 3) + 1] for cmd in ran] == marks
    assert "-n" in ran[0] and all("-n" not in cmd for cmd in ran[1:])  # serial tests run alone


def test_ci_runs_the_readmes_test_command_then_the_long_tier() -> None:
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    readme = (ROOT / "README.md").read_text()
    quickstart = readme[readme.index("## Quickstart"):readme.index("## ", readme.index("## Quickstart") + 3)]
    test_command = next(line.split("#")[0].strip() for line in quickstart.splitlines() if "start.py test" in line)
    assert lines[-2:] == [test_command, "exec python3 start.py test --long"]
