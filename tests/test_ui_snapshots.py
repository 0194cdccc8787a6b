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
        await wait_for(pilot, lambda: bool(app.screen.query("#output-log")) and app.screen.pane_ready)
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


# --- the output tabs with artifacts of every kind, and the outcomes that are not a verdict ----


def lesson_with_code(code: str, keys: tuple[str, ...], kind: str = "ctrl+r"):
    """A run_before that types ``code``, runs or checks it, then presses ``keys``."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        screen = pilot.app.screen
        screen.editor.load_text(code)
        await pilot.press(kind)
        await wait_for(pilot, lambda: screen.finished_runs == 1)
        pilot.app.clear_notifications()
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.1)
        await pilot.pause(0.4)

    return run_before


VISUALS_CODE = "# VISUALS\nfrom sandbox import show\n"


@pytest.mark.parametrize("size", SIZES)
def test_visuals_tab_with_every_kind_of_artifact(snap_compare, colour, isolated_dirs, size):
    returning_learner(isolated_dirs["data"])
    # alt+3: the visuals tab; f9 gives it the screen (tensor, graph, module, image, heatmap, profile).
    assert snap_compare(make_app(), terminal_size=size, run_before=lesson_with_code(VISUALS_CODE, ("alt+3", "f9")))


@pytest.mark.parametrize("size", SIZES)
def test_loss_tab_with_two_series(snap_compare, colour, isolated_dirs, size):
    returning_learner(isolated_dirs["data"])
    assert snap_compare(make_app(), terminal_size=size, run_before=lesson_with_code(VISUALS_CODE, ("alt+4",)))


def test_timeout_outcome(snap_compare, colour, isolated_dirs):
    returning_learner(isolated_dirs["data"])
    assert snap_compare(make_app(), terminal_size=(80, 24),
                        run_before=lesson_with_code("# TIMEOUT\nwhile True: pass\n", (), kind="ctrl+t"))


def test_exception_outcome(snap_compare, colour, isolated_dirs):
    returning_learner(isolated_dirs["data"])
    assert snap_compare(make_app(), terminal_size=(80, 24),
                        run_before=lesson_with_code("raise ValueError('boom')\n", (), kind="ctrl+t"))


def test_tutor_error_outcome(snap_compare, colour, isolated_dirs):
    returning_learner(isolated_dirs["data"])
    assert snap_compare(make_app(), terminal_size=(80, 24),
                        run_before=lesson_with_code("# TUTOR_ERROR\n", (), kind="ctrl+t"))


def test_lesson_page(snap_compare, colour):
    from tutor.ui.screens.lesson_page import LessonPageScreen

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("up", "enter")  # from the first exercise up to its lesson's row
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, LessonPageScreen))
        await pilot.press("tab", "enter")  # run the first example
        await wait_for(pilot, lambda: pilot.app.screen.finished_runs == 1)
        await pilot.pause(0.4)

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_replay_viewer_of_the_shipped_recording(snap_compare, colour):
    from tutor.record import Replay, read_session
    from tutor.ui.replay_screen import ReplayApp

    path = Path(__file__).resolve().parents[1] / "lessons" / "ch01" / "recordings" / "1.3-standardize-cpu.jsonl"
    app = ReplayApp(Replay.of_session(read_session(path, shipped=True)))
    assert snap_compare(app, terminal_size=(80, 24), run_before=lambda pilot: pilot.pause(0.3))
