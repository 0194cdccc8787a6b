"""Learner output is shown as a terminal shows it: carriage returns rewrite the line (progress
bars), colour codes are dropped, stderr is called "stderr", and a long output keeps its
beginning and its end — in the CLI (tutor/display.py) and in the TUI's output pane."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from ui_fakes import FakeEngine, fixture_context, wait_for

from sandbox.protocol import RunResult
from tutor.display import (HEAD_CHARS, NO_KEYBOARD, TAIL_CHARS, clean_output, collapse_returns, head_and_tail,
                           inline_markdown, outcome_line, print_result)

#: A small stand-in for tqdm: redraws one line with \r, then ends it; torch-style bold.
PROGRESS_SCRIPT = '''import sys, time
for i in range(0, 101, 25):
    sys.stderr.write(f"\\rtraining: {i:3d}%|{'#' * (i // 10):<10}| {i}/100")
    sys.stderr.flush()
    time.sleep(0.01)
sys.stderr.write("\\n")
print("\\x1b[1mWarning:\\x1b[0m done")
'''


def printed(result: RunResult, kind: str) -> str:
    out = io.StringIO()
    print_result(result, kind, Console(file=out, width=100, color_system=None))
    return out.getvalue()


def test_carriage_returns_leave_the_last_frame_of_each_line():
    assert collapse_returns(" 10%|#\r 50%|#####\r100%|##########\nnext\n") == "100%|##########\nnext\n"
    assert collapse_returns("abc\r\ndef") == "abc\ndef"            # CRLF is a plain line end
    assert collapse_returns("frame\r") == "frame"                   # a trailing \r keeps the frame
    assert collapse_returns("no returns") == "no returns"


def test_colour_codes_are_dropped_and_other_escapes_made_visible():
    shown = clean_output("\x1b[1mbold\x1b[0m \x1b[31;1mred\x1b[m \x1b]0;title\x07 \x1b[2J")
    assert shown.startswith("bold red ")
    assert "\\x1b]0;title\\x07" in shown and "\\x1b[2J" in shown and "\x1b" not in shown


def test_head_and_tail_keep_both_ends_and_say_what_was_left_out():
    lines = [f"line {i}" for i in range(20000)]
    text = "\n".join(lines) + "\n"
    shown, dropped = head_and_tail(text)
    assert dropped > 0 and len(shown) < HEAD_CHARS + TAIL_CHARS + 200
    assert shown.startswith("line 0\n") and shown.endswith("line 19999\n")
    assert f"{dropped:,} characters of output left out" in shown
    assert head_and_tail("short") == ("short", 0)


def test_inline_markdown_draws_code_and_bold_without_interpreting_markup():
    text = inline_markdown("`x.sum(dim=0)` is **wrong** [bold]here[/bold]")
    assert text.plain == "x.sum(dim=0) is wrong [bold]here[/bold]"
    assert any("cyan" in str(span.style) for span in text.spans)


def test_a_run_that_ended_says_ran_to_the_end_never_passed():
    result = RunResult(status="pass", outcome="ok", duration_ms=10.0)
    assert outcome_line(result, "run").plain == "✓ ran to the end"
    assert outcome_line(result, "check").plain == "✓ passed"
    assert "passed" not in printed(result, "run")


def test_cli_output_panels_are_named_stdout_and_stderr():
    result = RunResult(status="pass", outcome="ok", stdout="hello\n", stderr="a\r50%\r100%\n", duration_ms=1.0)
    shown = printed(result, "run")
    assert "stdout" in shown and "stderr" in shown and "errors" not in shown
    assert "100%" in shown and "50%" not in shown and "\\x0d" not in shown


def test_cli_long_output_keeps_its_end():
    result = RunResult(status="pass", outcome="ok", stdout="".join(f"row {i}\n" for i in range(30000)),
                       duration_ms=1.0)
    shown = printed(result, "run")
    assert "row 0" in shown and "row 29999" in shown and "left out here" in shown


def test_input_without_a_keyboard_is_explained():
    result = RunResult(status="fail", outcome="exception", detail="EOFError: EOF when reading a line",
                       stderr='Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n'
                              '    input("n? ")\nEOFError: EOF when reading a line\n')
    assert NO_KEYBOARD in " ".join(printed(result, "run").split())  # (the console wraps it)


@pytest.mark.slow
def test_progress_bar_script_in_the_real_sandbox_prints_like_a_terminal(tmp_path: Path, subprocess_env):
    script = tmp_path / "progress.py"
    script.write_text(PROGRESS_SCRIPT)
    proc = subprocess.run([sys.executable, "-m", "tutor", "run", str(script)], capture_output=True, text=True,
                          env=subprocess_env, timeout=240)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "training: 100%|##########| 100/100" in out
    assert " 25%" not in out and "\\x0d" not in out and "\r" not in out
    assert "Warning: done" in out and "\\x1b" not in out and "\x1b[1m" not in out
    assert "stderr" in out and "errors" not in out
    assert "ran to the end" in out and "passed" not in out


# --- the TUI's output pane ------------------------------------------------------------------


async def test_tui_output_pane_applies_carriage_returns_keeps_head_and_tail(isolated_dirs):
    from tutor.ui.app import TutorApp
    from tutor.ui.screens.catalogue import CatalogueScreen
    from tutor.ui.screens.lesson import LessonScreen
    from tutor.ui.widgets.output_pane import OutputLog, OutputPane

    app = TutorApp(fixture_context(), engine=FakeEngine(), cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen) and app.screen.pane_ready)
        await pilot.pause()
        pane = app.screen.query_one(OutputPane)
        pane.begin("run", "1.1/ones")
        for i in range(0, 101, 10):
            pane.feed({"type": "stderr", "text": f"\r{i:3d}%"})
        assert "100%" in pane.log_view.live_line()  # the bar shows live, as it stands
        pane.feed({"type": "stderr", "text": "\n"})
        pane.feed({"type": "stdout", "text": "\x1b[1mbold\x1b[0m\n"})
        for i in range(12000):
            pane.feed({"type": "stdout", "text": f"line {i:05d} of a long output\n"})
        pane.finish("run", RunResult(status="pass", outcome="ok", duration_ms=5.0))
        await pilot.pause()
        text = "\n".join(strip.text for strip in pane.query_one(OutputLog).lines)
        assert "100%" in text and " 90%" not in text and "\\x0d" not in text
        assert "bold" in text and "\\x1b" not in text
        assert "line 00000" in text and "line 11999" in text        # the beginning and the end
        assert "characters of output left out" in text            # announced
        assert text.count("is held back") == 1                     # once
        assert "line 06000" not in text                            # the middle is gone
        assert "ran to the end" in text


async def test_visuals_asked_for_before_their_tab_is_mounted_are_drawn_once_it_is():
    """On a busy machine the lesson screen restored an exercise's last result before the
    Visuals tab was mounted, and mounting into it raised MountError: the app ended."""
    from textual.app import App
    from textual.containers import Vertical

    from tutor.ui.widgets.output_pane import VisualsView
    from render_fixtures import artifacts

    view = VisualsView(id="late")
    view.reset()                                  # what pane.clear() does
    view.add(artifacts()["tensor_small"])         # and a replayed result's artifact
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.mount(Vertical(id="host"))
        await app.query_one("#host").mount(view)
        await pilot.pause()
        visuals = list(view.query(".visual"))
        assert len(visuals) == 1 and not list(view.query(".placeholder"))
        view.reset()                               # mounted now: the placeholder is back
        await pilot.pause()
        assert not list(view.query(".visual")) and len(list(view.query(".placeholder"))) == 1


async def test_visuals_asked_for_while_the_app_closes_are_let_go():
    """A learner quitting as a lesson opens: the restored result's reset must not raise
    (it wrote a crash report and a failing exit status)."""
    from textual.app import App

    from tutor.ui.widgets.output_pane import VisualsView
    from render_fixtures import artifacts

    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        view = VisualsView()
        await app.mount(view)
        await pilot.pause()
        app.exit(0)
        view.reset()
        view.add(artifacts()["tensor_small"])
    assert app.return_code == 0
