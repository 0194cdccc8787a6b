"""Shared test setup: every test runs with its own workspace and data dir, never ~."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tutor-home")
    workspace = base / "workspace"
    data = base / "data"
    monkeypatch.setenv("PYTORCH_TUTOR_WORKSPACE", str(workspace))
    monkeypatch.setenv("PYTORCH_TUTOR_DATA", str(data))
    monkeypatch.setenv("NO_COLOR", "1")
    return {"workspace": workspace, "data": data}


def tutor_cmd(*args: str) -> list[str]:
    """The CLI as a subprocess command line (uses this interpreter)."""
    return [sys.executable, "-m", "tutor", *args]


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
