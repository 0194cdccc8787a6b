"""Golden-output tests: every renderer on fixed artifact data, at 80 columns, without colour
(NO_COLOR) and with truecolour, compared character for character with tests/golden/.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/test_render_golden.py``
and review the diff of tests/golden/ like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.console import Console

from render_fixtures import artifacts, metrics
from tutor.render import render_artifact, render_metrics

GOLDEN = Path(__file__).resolve().parent / "golden"
WIDTH = 80
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def draw(renderable: object, color: bool) -> str:
    if color:
        console = Console(width=WIDTH, record=True, color_system="truecolor", force_terminal=True,
                          file=open(os.devnull, "w"), legacy_windows=False)
    else:
        console = Console(width=WIDTH, record=True, no_color=True, color_system=None,
                          file=open(os.devnull, "w"))
    console.print(renderable)
    return console.export_text(styles=color)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path}: run with UPDATE_GOLDEN=1 and review it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from the golden file (UPDATE_GOLDEN=1 to accept)"


CASES = sorted(artifacts())


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("color", [False, True], ids=["plain", "color"])
def test_artifact_matches_golden(name: str, color: bool) -> None:
    text = draw(render_artifact(artifacts()[name], width=WIDTH), color)
    check_golden(f"{name}.{'color' if color else 'plain'}.txt", text)


@pytest.mark.parametrize("color", [False, True], ids=["plain", "color"])
def test_metrics_chart_matches_golden(color: bool) -> None:
    text = draw(render_metrics(metrics(), width=WIDTH, height=14), color)
    check_golden(f"metrics.{'color' if color else 'plain'}.txt", text)


@pytest.mark.parametrize("name", CASES)
def test_plain_render_fits_80_columns_and_has_no_escape_codes(name: str) -> None:
    text = draw(render_artifact(artifacts()[name], width=WIDTH), color=False)
    assert "\x1b" not in text
    assert "could not draw" not in text and "skipped" not in text
    too_wide = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not too_wide, too_wide
    assert len(text.splitlines()) <= 60, "a single visual must not flood the screen"


def test_every_kind_has_a_golden_case() -> None:
    from sandbox.protocol import ARTIFACT_KINDS
    from tutor.render import RENDERERS

    assert set(RENDERERS) == set(ARTIFACT_KINDS)
    assert {a["kind"] for a in artifacts().values()} == set(ARTIFACT_KINDS)
