"""SVG snapshots of the TUI at 80x24 and 120x40 (textual is pinned exactly in pyproject).

They use the fixture lessons and the fake engine, so they do not change when the real
curriculum grows or the sandbox gets faster. Update them, after looking at the report, with
``pytest tests/test_ui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ui_fakes import FakeEngine, fixture_context, wait_for

from tutor.progress import Progress
from tutor.ui.app import TutorApp

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def colour(monkeypatch):
    """Most snapshots are in colour; the suite's conftest sets NO_COLOR for everything."""
    monkeypatch.delenv("NO_COLOR", raising=False)


def returning_learner(data: Path, ref: str = "1.1/ones") -> None:
    progress = Progress.load(data / "progress.json")
    progress.set_last(ref)


def make_app() -> TutorApp:
    return TutorApp(fixture_context(), engine=FakeEngine(), cursor_blink=False)


async def settle(pilot) -> None:
    """Wait until the deferred parts (output pane, prose, highlighting) are in place."""
    app = pilot.app
    await wait_for(pilot, lambda: app.first_paint is not None)
    if app.screen.query("#workbench"):
        await wait_for(pilot, lambda: bool(app.screen.query("#output-log")))
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES)
def test_catalogue_first_run(snap_compare, colour, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_lesson_after_a_failed_check(snap_compare, colour, isolated_dirs, size):
    returning_learner(isolated_dirs["data"])

    async def run_before(pilot) -> None:
        await settle(pilot)
        screen = pilot.app.screen
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: screen.finished_runs == 1)
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


def test_lesson_passed_with_no_color(snap_compare, isolated_dirs):
    returning_learner(isolated_dirs["data"])

    async def run_before(pilot) -> None:
        await settle(pilot)
        screen = pilot.app.screen
        screen.editor.load_text("import torch\n\n\ndef ones():\n    return torch.ones(2, 3)\n")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: screen.finished_runs == 1)
        # Let the "passed" notification expire: its timing is not part of the picture.
        pilot.app.clear_notifications()
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_help_screen(snap_compare, colour):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_solution_confirmation(snap_compare, colour, isolated_dirs):
    returning_learner(isolated_dirs["data"])

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)
