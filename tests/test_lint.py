"""`pytorch-tutor lint`: the authoring gate catches a wrong solution, a passing starter and a
crashing starter, and passes a good lesson."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tutor", "lint", *args], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)


@pytest.mark.long
def test_lint_rejects_bad_exercises_with_reasons() -> None:
    proc = lint(str(FIXTURES / "lint_bad"), "--json", "--seed", "3")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["format"] == 1 and report["ok"] is False
    (lesson,) = [l for l in report["lessons"] if l["id"] == "9.1"]
    by_id = {e["id"]: e for e in lesson["exercises"]}
    wrong = by_id["9.1/wrong_solution"]
    assert wrong["solution"] == "fail"
    assert any("solution fail" in p and "adds one" in p for p in wrong["problems"])
    passing = by_id["9.1/starter_passes"]
    assert passing["solution"] == "pass" and passing["starter"] == "pass"
    assert any("starter must fail" in p for p in passing["problems"])
    crashing = by_id["9.1/starter_crashes"]
    assert crashing["starter"] == "crash"
    assert any("RuntimeError" in p for p in crashing["problems"])
    assert isinstance(wrong["solution_seconds"], float)


@pytest.mark.long
def test_lint_accepts_a_good_lesson_and_reports_schema_errors(tmp_path: Path) -> None:
    proc = lint(str(FIXTURES / "lint_good.yaml"), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    (exercise,) = report["lessons"][0]["exercises"]
    assert exercise == {**exercise, "id": "9.2/square", "solution": "pass", "starter": "fail", "problems": []}

    broken = tmp_path / "broken.yaml"
    broken.write_text((FIXTURES / "lint_good.yaml").read_text().replace("hints:", "hintz:"))
    proc = lint(str(broken), "--json", "--no-run")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    errors = [e for l in report["lessons"] for e in l["errors"]]
    assert errors and "broken.yaml:" in errors[0] and "hintz" in errors[0]


@pytest.mark.long
def test_lint_text_output_has_a_table_and_summary() -> None:
    proc = lint(str(FIXTURES / "lint_good.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "9.2/square" in proc.stdout and "0 problem(s)" in proc.stdout
