"""Pilot tests for every flow of the TUI, against a scripted fake engine (fast, deterministic).

The fake decides what a run does from markers in the learner's file (see ui_fakes.py), so
each test "types" the code a learner would type.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ui_fakes import ESCAPES, FAIL_MESSAGE, FakeEngine, fixture_context, screen_text, wait_for

from tutor.progress import Progress
from tutor.ui.app import TutorApp
from tutor.ui.screens.catalogue import CatalogueScreen
from tutor.ui.screens.lesson import LessonScreen
from tutor.ui.screens.lesson_page import LessonPageScreen
from tutor.ui.screens.help import HelpScreen
from tutor.ui.screens.modals import CompareScreen, ConfirmScreen, SolutionScreen
from tutor.ui.widgets.output_pane import ChecksView, LossCurve, OutputLog, OutputPane, plain_text

SOLUTION = "import torch\n\n\ndef ones():\n    return torch.ones(2, 3)\n"
SIZE = (100, 30)


def make_app(engine: FakeEngine | None = None, **kwargs) -> TutorApp:
    return TutorApp(fixture_context(), engine=engine or FakeEngine(), cursor_blink=False, **kwargs)


async def open_first_exercise(app: TutorApp, pilot) -> LessonScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
    await pilot.pause()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen) and bool(app.screen.query(OutputPane)))
    await pilot.pause()
    return app.screen  # type: ignore[return-value]


def log_text(screen: LessonScreen) -> str:
    return "\n".join(strip.text for strip in screen.query_one(OutputLog).lines)


def hints_of(screen: LessonScreen) -> str:
    """The hints pane as the learner reads it (Markdown drawn)."""
    return plain_text(screen.query_one("#hints").content)


def checks_text(screen: LessonScreen) -> str:
    return screen.query_one(ChecksView).plain


def set_code(screen: LessonScreen, code: str) -> None:
    screen.editor.load_text(code)


async def check_and_wait(pilot, screen: LessonScreen, key: str = "ctrl+t") -> None:
    before = screen.finished_runs
    await pilot.press(key)
    await wait_for(pilot, lambda: screen.finished_runs > before and not screen.running)
    await pilot.pause()


async def test_first_run_shows_welcome_and_catalogue_with_progress_marks(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await pilot.pause()
        text = screen_text(app)
        assert "Welcome to pytorch-tutor" in text
        assert "· A tensor of ones" in text and "1.2  More tensors" in text
        assert "0/3 passed" in text


async def test_opens_where_the_learner_left_off(isolated_dirs):
    progress = Progress.load(Path(isolated_dirs["data"]) / "progress.json")
    progress.record_attempt("1.1/zeros", passed=False)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen))
        assert app.screen.exercise.ref == "1.1/zeros"
        assert "Welcome" not in screen_text(app)
        # Escape leaves the editor, a second escape goes back to the lesson's page, a third
        # to the catalogue.
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonPageScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        assert "● A tensor of zeros" in screen_text(app)


async def test_edits_are_saved_automatically(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        path = Path(isolated_dirs["workspace"]) / "1.1" / "ones.py"
        assert path.read_text().endswith("return None\n")
        screen.editor.move_cursor((0, 0))
        await pilot.press(*"x = 1", "enter")
        await wait_for(pilot, lambda: path.read_text().startswith("x = 1\n"))
        assert "saved" in screen_text(app)


async def test_check_and_pass_records_progress_and_updates_marks(isolated_dirs):
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        set_code(screen, SOLUTION)
        await check_and_wait(pilot, screen)
        assert engine.requests[-1].kind == "check"
        # The check ran on the file as typed: it was saved before the run.
        assert Path(engine.requests[-1].file).read_text() == SOLUTION
        assert screen.output.active_tab == "checks"
        assert "✓ returns a (2, 3) tensor of ones" in checks_text(screen)
        assert "Passed!" in checks_text(screen)
        assert app.progress.state("1.1/ones") == "passed"
        assert "1/3 passed" in screen_text(app)
        assert "hello from your code" in log_text(screen)
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonPageScreen))
        assert "✓ 1. A tensor of ones" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        assert "✓ A tensor of ones" in screen_text(app)


async def test_check_and_fail_shows_the_teaching_message(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        await check_and_wait(pilot, screen)
        text = checks_text(screen)
        assert "✗ returns a (2, 3) tensor of ones" in text
        # The message's Markdown is drawn (`ones()` shows as code, without backticks).
        assert FAIL_MESSAGE.replace("`", "") in text and "`" not in text
        assert "not yet" in text
        assert app.progress.state("1.1/ones") == "attempted"


async def test_exception_in_learner_code_is_reported_with_its_traceback(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        set_code(screen, "raise ValueError('boom')\n")
        await check_and_wait(pilot, screen)
        assert "raised an exception: ValueError: boom" in checks_text(screen)
        assert "The traceback is on the output tab" in checks_text(screen)
        assert "ValueError: boom" in log_text(screen)
        assert app.progress.state("1.1/ones") == "attempted"


async def test_run_streams_output_and_does_not_record_an_attempt(isolated_dirs):
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        await check_and_wait(pilot, screen, key="ctrl+r")
        assert engine.requests[-1].kind == "run"
        assert "hello from your code" in log_text(screen)
        assert "ran to the end" in log_text(screen)
        assert app.progress.state("1.1/ones") == "new"


async def test_learner_output_cannot_send_escape_sequences_or_markup(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        set_code(screen, "# ESCAPES\n")
        await check_and_wait(pilot, screen, key="ctrl+r")
        shown = log_text(screen)
        assert "\x1b" not in shown and "\x07" not in shown
        assert "\\x1b]0;pwned\\x07" in shown and "\\x1b[2J" in shown
        assert "[bold]markup[/bold]" in shown  # printed as typed, not interpreted
        # Colour codes (what torch prints) are dropped, as a terminal would not show them;
        # every other escape is made visible.
        assert "\\x1b[31m" not in shown and "red [bold]" in shown
        assert ESCAPES.count("\x1b") - ESCAPES.count("\x1b[31m") == shown.count("\\x1b")


async def test_hints_reveal_one_level_per_press_and_are_recorded(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        hints = hints_of(screen)
        assert "2 hint(s) available" in hints
        await pilot.press("ctrl+g")
        await pilot.pause()
        hints = hints_of(screen)
        assert "Hint 1/2" in hints and "Hint 2/2" not in hints
        assert app.progress.data["exercises"]["1.1/ones"]["hints_shown"] == 1
        await pilot.press("ctrl+g")
        await pilot.pause()
        hints = hints_of(screen)
        # The hint's Markdown is drawn: the code shows without its backticks.
        assert "Hint 2/2" in hints and "torch.ones(2, 3)." in hints and "`" not in hints and "last hint" in hints
        await pilot.press("ctrl+g")  # no third hint: the level stays
        await pilot.pause()
        assert app.progress.data["exercises"]["1.1/ones"]["hints_shown"] == 2


async def test_solution_before_a_pass_needs_confirmation_and_is_recorded(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        assert not app.progress.data["exercises"].get("1.1/ones", {}).get("solution_viewed")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, SolutionScreen))
        assert "return torch.ones(2, 3)" in screen_text(app)
        assert app.progress.data["exercises"]["1.1/ones"]["solution_viewed"] is True
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)


async def test_solution_after_a_pass_opens_without_asking_beside_the_learners_code(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        set_code(screen, SOLUTION.replace("return torch.ones(2, 3)", "x = torch.ones(2, 3)\n    return x"))
        await check_and_wait(pilot, screen)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        await pilot.pause()
        text = screen_text(app)
        assert "your code" in text and "the reference" in text
        assert "x = torch.ones(2, 3)" in text and "return torch.ones(2, 3)" in text
        assert not app.progress.data["exercises"]["1.1/ones"].get("solution_viewed")
        await pilot.press("ctrl+n")  # the next exercise is one key away
        await wait_for(pilot, lambda: app.screen is screen and screen.exercise.ref == "1.1/zeros")


async def test_a_long_run_keeps_the_ui_responsive_and_escape_cancels_it(isolated_dirs):
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        set_code(screen, "# SLOW\nwhile True: pass\n")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "tick" in log_text(screen))
        assert screen.running and engine.running.is_set()
        # The status bar repaints on the engine's state callback; under load that can come
        # a frame after the first output, so wait for it rather than asserting at once.
        await wait_for(pilot, lambda: "running…" in screen_text(app))
        # The UI still answers keys while the code runs: a hint is shown.
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: "Hint 1/2" in hints_of(screen))
        # A second run is refused, not queued.
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert len(engine.requests) == 1
        # Escape (even with the editor focused) stops the run.
        assert screen.editor.has_focus
        await pilot.press("escape")
        await wait_for(pilot, lambda: not screen.running)
        assert engine.cancelled.is_set()
        assert "stopped" in log_text(screen)
        assert app.progress.state("1.1/ones") != "passed"


async def test_external_edit_is_picked_up_and_checked_in_watch_mode(isolated_dirs):
    engine = FakeEngine()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        path = Path(isolated_dirs["workspace"]) / "1.1" / "ones.py"
        path.write_text("# edited elsewhere\n")
        await wait_for(pilot, lambda: screen.editor.text == "# edited elsewhere\n")
        await pilot.pause(0.7)
        assert engine.requests == []  # not in watch mode: reloaded, not checked
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert app.watch_mode and "watching" in screen_text(app)
        stat = path.stat()
        path.write_text(SOLUTION)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # coarse-mtime filesystems
        await wait_for(pilot, lambda: app.progress.state("1.1/ones") == "passed")
        assert screen.editor.text == SOLUTION
        assert engine.requests[-1].kind == "check"


async def test_external_editor_key_suspends_and_reloads_the_file(isolated_dirs, monkeypatch):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        suspended = []

        @contextlib.contextmanager
        def fake_suspend():
            suspended.append(True)
            yield

        # Headless test drivers cannot suspend; the real terminal path is the same call.
        monkeypatch.setattr(app, "suspend", fake_suspend)
        monkeypatch.setenv("VISUAL", f"{sys.executable} -c \"import sys; open(sys.argv[1], 'a').write('# from vi\\n')\"")
        await pilot.press("f2")
        await wait_for(pilot, lambda: screen.editor.text.endswith("# from vi\n"))
        assert suspended == [True]


async def test_reset_to_starter_asks_and_keeps_a_backup(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        path = Path(isolated_dirs["workspace"]) / "1.1" / "ones.py"
        starter = path.read_text()
        set_code(screen, "my work\n")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: path.read_text() == "my work\n")
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert path.read_text() == "my work\n"
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.editor.text == starter)
        assert path.read_text() == starter
        assert (path.parent / "ones.py.~1~").read_text() == "my work\n"


async def test_next_and_previous_exercise(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        refs = []
        for key in ("ctrl+n", "ctrl+n", "ctrl+n", "f3"):
            await pilot.press(key)
            await pilot.pause()
            refs.append(screen.exercise.ref)
        assert refs == ["1.1/zeros", "1.2/add", "1.2/add", "1.1/zeros"]
        assert "Exercise 2/2: A tensor of zeros" in screen_text(app)
        assert app.progress.last == "1.1/zeros"


async def test_metrics_draw_a_live_loss_curve(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        set_code(screen, "# METRICS\n")
        await check_and_wait(pilot, screen, key="ctrl+r")
        curve = screen.query_one(LossCurve)
        assert [m["value"] for m in curve.metrics] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
        assert screen.output.active_tab == "loss"


async def test_help_opens_from_anywhere_and_question_mark_still_types_in_the_editor(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        # The help opens on the keys of the screen it was asked from; every key is in it.
        assert "In the catalogue" in screen_text(app) and "open its page" in screen_text(app)
        assert "ctrl+t" in app.screen.query_one("#help-text").source
        await pilot.press("escape")
        screen = await open_first_exercise(app, pilot)
        screen.editor.move_cursor((0, 0))
        await pilot.press("question_mark")
        await pilot.pause()
        assert screen.editor.text.startswith("?")
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))


async def test_command_palette_finds_an_exercise(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"zeros")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen))
        assert app.screen.exercise.ref == "1.1/zeros"


@pytest.mark.parametrize(("state", "level", "shown"), [
    ("warming", "", "sandbox warming…"), ("ready", "partial", "isolation partial"),
    ("running", "full", "running…"), ("dead", "", "sandbox down"),
])
async def test_status_bar_shows_device_sandbox_state_and_isolation(isolated_dirs, state, level, shown):
    app = make_app(FakeEngine(state=state, level=level))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await wait_for(pilot, lambda: shown in screen_text(app))
        assert "cpu (auto)" in screen_text(app)


async def test_the_engine_is_warmed_after_the_first_screen(isolated_dirs):
    engine = FakeEngine(state="stopped")
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: engine.started)


async def test_theme_toggles_between_light_and_dark(isolated_dirs):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        dark = app.current_theme.dark
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert app.current_theme.dark is not dark


def test_the_tui_never_imports_torch(subprocess_env):
    code = ("import sys; import tutor.ui.app, tutor.ui.bench, tutor.ui.screens.lesson, tutor.ui.commands; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env,
                         check=True)
    assert out.stdout.strip() == "False"


async def test_a_session_log_that_cannot_be_written_is_reported_once(isolated_dirs):
    class BrokenRecorder:
        error = "could not record this run in /nowhere: Permission denied"

    engine = FakeEngine()
    engine.recorder = BrokenRecorder()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_exercise(app, pilot)
        await check_and_wait(pilot, screen)
        await check_and_wait(pilot, screen)
        said = [n.message for n in app._notifications if "could not record" in n.message]
        assert said == [BrokenRecorder.error]
