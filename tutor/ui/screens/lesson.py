"""The exercise screen: the prompt and hints, the editor on the workspace file, the output
pane. (The lesson's prose and examples live on its page, ``lesson_page.py``; esc goes back
to it.)

Runs happen in a thread worker (``tutor/ui/runner.py``); its events come back as
messages, so the screen stays responsive and escape can stop the run. The file is saved
shortly after each edit and polled for changes made by other programs (every 0.5 s: an
mtime/size poll works on every filesystem, network ones included).

Layout: at 80 columns the prompt sits above the editor, so the editor gets the whole width
(at least 60 columns); from 110 columns on, the prompt is a side column. The pane with
focus has an accent bar on its left and says so in its title.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from tutor.display import safe_text
from tutor.storage import atomic_write_text
from tutor.ui.keys import lesson_bindings
from tutor.ui.messages import ProgressChanged, RunEvent, RunFinished
from tutor.ui.marks import MARKS
from tutor.ui.runner import RunsCode
from tutor.ui.widgets.code_editor import CodeEditor
from tutor.ui.widgets.status_bar import StatusBar
from tutor.workspace import ensure_exercise_file, reset_to_starter

if TYPE_CHECKING:
    from tutor.ui.widgets.output_pane import OutputPane

#: Seconds between the last keystroke and the automatic save.
AUTOSAVE_DELAY_S = 0.4
#: Seconds between two looks at the file on disk.
POLL_INTERVAL_S = 0.5
#: From this width on, the prompt is a side column instead of a band above the editor.
WIDE_LAYOUT_COLUMNS = 110
#: Time spent on an exercise counts at most this much per visit (a learner who walked away).
MAX_VISIT_S = 20 * 60


@dataclass
class LastRun:
    """An exercise's latest run or check, kept so that coming back to it shows its result
    (and never another exercise's)."""

    kind: str
    events: list[dict[str, Any]] = field(default_factory=list)
    result: Any = None
    footer: Any = None


def markdown(text: str, quick: bool = False) -> Any:
    """Lesson Markdown as one Rich renderable: far cheaper to mount than Textual's Markdown
    widget (one widget per block), which matters for the first-screen budget.

    ``quick`` (the first screen, before it is drawn): unless rich's Markdown is already
    loaded, the text with its markup taken out (``tutor.mdplain``). Importing rich's
    Markdown and its parser costs about 50 ms on a small machine, a tenth of the TUI's
    start; the screen draws the real thing right after its first frame."""
    if quick and "rich.markdown" not in sys.modules:
        from tutor.mdplain import to_plain

        return Text(to_plain(text))
    from rich.markdown import Markdown as RichMarkdown

    return RichMarkdown(text, code_theme="ansi_dark", inline_code_lexer="python", hyperlinks=False)


def lesson_markdown(lesson: Any) -> str:
    """The lesson's prose followed by its runnable examples, as Markdown."""
    parts = [f"## Lesson {lesson.id}: {lesson.title}", "", lesson.prose.strip()]
    for example in lesson.examples:
        parts += ["", f"### Example: {example.title}", "", "```python", example.code.rstrip(), "```"]
        if example.explanation:
            parts += ["", example.explanation.strip()]
    return "\n".join(parts)


def prompt_markdown(exercise: Any, position: int, count: int) -> str:
    return f"## Exercise {position}/{count}: {exercise.title}\n\n{exercise.prompt.strip()}"


def hints_text(hints: list[str], shown: int, quick: bool = False) -> Any:
    """The hints revealed so far, their Markdown drawn; what the next key does."""
    from rich.console import Group

    if shown <= 0:
        return Text(f"{len(hints)} hint(s) available: ctrl+g reveals one at a time.", style="dim")
    parts: list[Any] = []
    for i, hint in enumerate(hints[:shown], start=1):
        parts.append(Text(f"Hint {i}/{len(hints)}", style="bold yellow"))
        parts.append(markdown(hint.strip(), quick))
    if shown >= len(hints):
        parts.append(Text("That was the last hint; ctrl+o shows the reference solution.", style="dim"))
    else:
        parts.append(Text(f"ctrl+g: hint {shown + 1}/{len(hints)}", style="dim"))
    return Group(*parts)


class LessonScreen(RunsCode, Screen[None]):
    """One exercise at a time: prompt and hints, editor, output."""

    BINDINGS = lesson_bindings()

    def __init__(self, exercise: Any) -> None:
        super().__init__()
        self.exercise = exercise
        self.path: Path | None = None
        #: How many runs and checks have finished on this screen (tests wait on it).
        self.finished_runs = 0
        self._disk_text: str | None = None
        self._file_sig: tuple[int, int] | None = None
        self._save_timer: Timer | None = None
        self._current: LastRun | None = None
        self._shown_at = time.monotonic()
        #: Until the first frame is drawn, prompt and hints are shown without Markdown (see ``markdown``).
        self._quick_reading = True

    # --- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="lesson-title", classes="title-bar")
        with Horizontal(id="lesson-body"):
            with VerticalScroll(id="reading", classes="pane"):
                yield Static(id="prompt")
                yield Static(id="hints")
            with Vertical(id="workbench"):
                yield Static(id="file-bar")
                yield CodeEditor(cursor_blink=self.app.cursor_blink, id="editor", classes="pane")  # type: ignore[attr-defined]
                # The output pane is mounted just after the first paint (``_mount_output``).
        yield StatusBar(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._apply_layout(self.app.size.width)
        self.show_exercise(self.exercise)
        self.set_interval(POLL_INTERVAL_S, self.poll_file)
        self.call_after_refresh(self.app_.mark_first_paint)
        # Highlighting costs tens of milliseconds (tree-sitter builds its query), and so does
        # rich's Markdown: both come once the first screen is drawn, so they do not delay it.
        self.call_after_refresh(self.editor.enable_highlighting)
        self.call_after_refresh(self._draw_reading)
        self.call_after_refresh(self._mount_output)

    def _mount_output(self) -> None:
        """The output pane, after the first frame: a dozen widgets that frame can do without,
        and its module (Textual's log and tabs, rich's pretty-printer) imported only now."""
        from tutor.ui.widgets.output_pane import OutputPane

        self.query_one("#workbench", Vertical).mount(OutputPane(id="output", classes="pane"))

    def _draw_reading(self) -> None:
        """Prompt and hints with their Markdown drawn (the first frame had them plain)."""
        self._quick_reading = False
        self._show_prompt()
        self._show_hints()

    def on_resize(self, event: Any) -> None:
        self._apply_layout(event.size.width)

    def _apply_layout(self, width: int) -> None:
        self.set_class(width >= WIDE_LAYOUT_COLUMNS, "wide")
        self.set_class(width < WIDE_LAYOUT_COLUMNS, "narrow")

    def on_descendant_focus(self, event: Any) -> None:
        self._update_file_bar()

    def on_descendant_blur(self, event: Any) -> None:
        self.call_after_refresh(self._update_file_bar)

    @property
    def app_(self) -> Any:
        return self.app

    @property
    def editor(self) -> CodeEditor:
        return self.query_one(CodeEditor)

    @property
    def output(self) -> OutputPane:
        from tutor.ui.widgets.output_pane import OutputPane

        return self.query_one(OutputPane)

    @property
    def pane_ready(self) -> bool:
        """The output pane is mounted after the first paint, its tabs a moment later."""
        panes = self.query("#output")
        return bool(panes) and bool(getattr(panes.first(), "ready", False))

    # --- which exercise ---------------------------------------------------------------------

    def show_exercise(self, exercise: Any) -> None:
        """Load ``exercise``: its prompt and hints, its workspace file, its last result."""
        if self.path is not None:
            self.save()
            self._record_time()
        if self.running:
            self.action_stop()
        self.exercise = exercise
        self._shown_at = time.monotonic()
        app = self.app_
        self._show_prompt()
        self._show_hints()
        self.query_one("#reading", VerticalScroll).scroll_home(animate=False)
        self.path = ensure_exercise_file(app.paths.workspace, exercise)
        self._load_file()
        self._update_title()
        app.progress.set_last(exercise.ref)
        self._restore_result()
        self.editor.focus()

    def _show_prompt(self) -> None:
        exercise = self.exercise
        lesson = self.app_.lesson(exercise.lesson_id)
        exercises = lesson.exercises if lesson is not None else [exercise]
        position = next((i for i, ex in enumerate(exercises, 1) if ex.ref == exercise.ref), 1)
        self.query_one("#prompt", Static).update(
            markdown(prompt_markdown(exercise, position, len(exercises)), self._quick_reading))

    def _restore_result(self) -> None:
        """Show this exercise's own last result, or empty views: never the previous one's."""
        if not self.pane_ready:
            self.set_timer(0.05, self._restore_result)  # the pane mounts after the first paint
            return
        last = self.app_.last_runs.get(self.exercise.ref)
        pane = self.output
        if last is None or last.result is None:
            pane.clear()
            return
        pane.begin(last.kind, self.exercise.ref)
        for event in last.events:
            pane.feed(event)
        pane.finish(last.kind, last.result, last.footer)

    def _record_time(self) -> None:
        from tutor.ui import time_spent

        seconds = min(time.monotonic() - self._shown_at, MAX_VISIT_S)
        self._shown_at = time.monotonic()
        if seconds >= 1:
            time_spent.add(self.app_.paths.data, self.exercise.ref, seconds)

    def on_unmount(self) -> None:
        self._record_time()

    def _update_title(self) -> None:
        app = self.app_
        ex = self.exercise
        lesson = app.lesson(ex.lesson_id)
        mark, style = MARKS.get(app.progress.state(ex.ref), MARKS["new"])
        self.query_one("#lesson-title", Static).update(Text.assemble(
            (f"{ex.lesson_id} ", "bold"), (lesson.title if lesson else "", ""), ("  ›  ", "dim"),
            (f"{mark} ", style), (ex.title, "bold"), (f"  {ex.ref}", "dim"), no_wrap=True, overflow="ellipsis"))

    def _hints_shown(self) -> int:
        item = self.app_.progress.data.get("exercises", {}).get(self.exercise.ref) or {}
        return int(item.get("hints_shown", 0))

    def _show_hints(self) -> None:
        from rich.console import Group

        from tutor.ui.extras_note import extras_problem_of

        hints = hints_text(self.exercise.hints, self._hints_shown(), self._quick_reading)
        problem = extras_problem_of(self.exercise, getattr(self.app_, "ctx", None))
        if problem:  # needs.extras: said before the learner runs into it
            hints = Group(Text(problem, style="yellow"), hints)
        self.query_one("#hints", Static).update(hints)

    # --- the file ---------------------------------------------------------------------------

    def _load_file(self) -> None:
        assert self.path is not None
        try:
            text = self.path.read_text(encoding="utf-8")
            stat = self.path.stat()
        except (OSError, UnicodeDecodeError) as exc:
            self.notify(f"cannot read {self.path}: {exc}", severity="error")
            return
        self._disk_text = text
        self._file_sig = (stat.st_mtime_ns, stat.st_size)
        if self.editor.text != text:
            self.editor.load_text(text)
        self._update_file_bar("saved")

    def _update_file_bar(self, state: str | None = None) -> None:
        if self.path is None or not self.is_mounted:
            return
        if state is None:
            state = "saved" if self.editor.text == self._disk_text else "edited"
        try:
            shown = str(self.path.relative_to(self.app_.paths.workspace))
        except ValueError:
            shown = str(self.path)
        watch = self.app_.watch_mode
        editing = isinstance(self.focused, CodeEditor)
        focus = ("✎ editing (esc leaves, f6 next pane) ", "bold reverse") if editing else (
            "  editor (f6 or click to edit) ", "dim")
        self.query_one("#file-bar", Static).update(Text.assemble(
            focus, (safe_text(shown), "bold"), (f"  {state}", "dim" if state == "saved" else "yellow"),
            ("   watching: checks on every save" if watch else "", "magenta"), no_wrap=True, overflow="ellipsis"))

    def on_text_area_changed(self, event: CodeEditor.Changed) -> None:
        if self._disk_text is None or self.editor.text == self._disk_text:
            return
        self._update_file_bar("edited")
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(AUTOSAVE_DELAY_S, self.save)

    def save(self) -> None:
        """Write the editor's text to the workspace file if it differs from what is on disk."""
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        if self.path is None or self._disk_text is None:
            return
        text = self.editor.text
        if text == self._disk_text:
            return
        try:
            atomic_write_text(self.path, text)
            stat = self.path.stat()
        except OSError as exc:
            self.notify(f"could not save {self.path}: {exc}", severity="error")
            return
        self._disk_text = text
        self._file_sig = (stat.st_mtime_ns, stat.st_size)
        self._update_file_bar("saved")

    def poll_file(self) -> None:
        """Pick up edits made by another program; in watch mode, check them."""
        if self.path is None:
            return
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return
        except OSError:
            return
        sig = (stat.st_mtime_ns, stat.st_size)
        if sig == self._file_sig:
            return
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return
        self._file_sig = sig
        if text == self._disk_text:
            return
        # The file on disk wins over unsaved keystrokes: the other editor saved last.
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        self._disk_text = text
        if self.editor.text != text:
            self.editor.load_text(text)
        self._update_file_bar("saved")
        if self.app_.watch_mode:
            self.notify(f"{self.path.name} changed on disk: checking", timeout=3)
            self.action_check()
        else:
            self.notify(f"{self.path.name} changed on disk: reloaded", timeout=3)

    # --- runs -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.running
        if action == "back":
            # In the editor, escape first leaves the editor (the text area's own behaviour).
            return not self.running and not isinstance(self.focused, CodeEditor)
        return True

    # Keys typed into the editor wait in the editor's own message queue, while priority
    # bindings (ctrl+t) run at once in the app: without this, "type, then ctrl+t" in quick
    # succession (a paste, tmux send-keys) would check the text from before the typing.
    # ``call_later`` on the editor runs after the keys already queued there.

    def action_run(self) -> None:
        self.editor.call_later(self._start, "run")

    def action_check(self) -> None:
        self.editor.call_later(self._start, "check")

    def _start(self, kind: str) -> None:
        if not self.pane_ready:
            # A key pressed before the output pane is mounted (just after the first paint).
            self.set_timer(0.05, lambda: self._start(kind))
            return
        if self.running:
            self.notify("Your code is still running; esc stops it.", severity="warning", timeout=3)
            return
        self.save()
        app = self.app_
        exercise, path = self.exercise, self.path
        try:
            request = app.build_request(kind, exercise, path)
        except Exception as exc:  # noqa: BLE001 - a bad lesson must not crash the app
            self.notify(f"cannot {kind} {exercise.ref}: {exc}", severity="error")
            return
        self._current = LastRun(kind)
        app.last_runs[exercise.ref] = self._current
        self.output.begin(kind, exercise.ref)
        self.submit_run(kind, exercise.ref, request)

    def _report_recording_problem(self) -> None:
        """Say once if the session log could not be written (the run itself is unaffected)."""
        recorder = getattr(self.app_.engine, "recorder", None)
        problem = getattr(recorder, "error", None)
        if problem and not getattr(self, "_recording_problem_said", False):
            self._recording_problem_said = True
            self.app.notify(problem, severity="warning", timeout=10)

    def on_run_event(self, message: RunEvent) -> None:
        if message.run_id == self._run_id:
            if self._current is not None and len(self._current.events) < 20000:
                self._current.events.append(message.event)
            self.output.feed(message.event)

    def on_run_finished(self, message: RunFinished) -> None:
        result = message.result
        self.finished_runs += 1
        self._report_recording_problem()
        latest = self.run_done(message)
        cancelled = result.detail == "cancelled"
        footer = None
        if message.kind == "check" and result.status in ("pass", "fail") and not cancelled:
            passed = result.status == "pass"
            self.app_.progress.record_attempt(message.ref, passed)
            self.app_.post_message(ProgressChanged())
            if passed:
                footer = Text("\nPassed! ctrl+n: the next exercise · ctrl+o: your code beside the reference.",
                              style="green")
        if latest and self._current is not None:
            self._current.result, self._current.footer = result, footer
        if latest and message.ref == self.exercise.ref:
            self.output.finish(message.kind, result, footer)
            self._update_title()

    def action_stop(self) -> None:
        if self.running:
            self.stop_run()
            self.output.log_view.note(Text("stopping…", style="yellow"))

    def action_back(self) -> None:
        """Back to this exercise's lesson page (where the learner left it)."""
        if not self.is_current:  # a second key press while the screen is already leaving
            return
        self.save()
        self.app_.show_lesson_page(self.exercise.lesson_id)

    def action_catalogue(self) -> None:
        self.save()
        self.app_.show_catalogue()

    def action_tab(self, tab: str) -> None:
        if self.pane_ready:
            self.output.show_tab(tab)

    def action_focus_editor(self) -> None:
        if self.has_class("zoom"):
            self.remove_class("zoom")
        self.editor.focus()

    def action_zoom(self) -> None:
        """The output pane full height (visuals and curves need the room at 80x24)."""
        self.toggle_class("zoom")
        if self.has_class("zoom") and isinstance(self.focused, CodeEditor):
            self.action_next_pane()

    def action_next_pane(self, step: int = 1) -> None:
        """Move focus between the prompt, the editor and the output (Tab stays in the editor
        to indent)."""
        panes = [self.query_one("#reading"), self.editor]
        if self.pane_ready:
            panes.append(self.output.query_one("#output-tabs").query("Tabs").first())
        panes = [p for p in panes if p.display] or panes
        focused = self.focused
        index = next((i for i, p in enumerate(panes) if focused is p or (focused is not None and p in
                                                                          focused.ancestors_with_self)), -1)
        panes[(index + step) % len(panes)].focus()

    # --- navigation -------------------------------------------------------------------------

    def _neighbour(self, step: int) -> Any | None:
        exercises = self.app_.course.exercises
        refs = [ex.ref for ex in exercises]
        try:
            index = refs.index(self.exercise.ref) + step
        except ValueError:
            return None
        return exercises[index] if 0 <= index < len(exercises) else None

    def action_next(self) -> None:
        self._go(+1)

    def action_previous(self) -> None:
        self._go(-1)

    def _go(self, step: int) -> None:
        ex = self._neighbour(step)
        if ex is not None and getattr(ex, "kind", "code") == "predict":
            # A question opens over this screen; the editor stays on the last code exercise.
            self.app_.open_exercise(ex)
            return
        if ex is None:
            self.notify("This is the last exercise." if step > 0 else "This is the first exercise.", timeout=3)
        else:
            self.show_exercise(ex)

    # --- help from the course ---------------------------------------------------------------

    def action_hint(self) -> None:
        hints = self.exercise.hints
        shown = self._hints_shown()
        if shown >= len(hints):
            self.notify("No more hints; ctrl+o shows the solution.", timeout=3)
            return
        level = shown + 1
        self.app_.progress.record_hint(self.exercise.ref, level)
        self.app_.post_message(ProgressChanged())
        self._show_hints()
        # The hint is shown where the prompt is (never as a toast over the check message).
        self.query_one("#reading", VerticalScroll).scroll_end(animate=False)

    def action_solution(self) -> None:
        from tutor.ui.screens.modals import ConfirmScreen

        ex = self.exercise
        progress = self.app_.progress
        if progress.state(ex.ref) == "passed":
            self._show_comparison(ex)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                progress.record_solution_viewed(ex.ref)
                self.app_.post_message(ProgressChanged())
                self._show_solution(ex)

        self.app.push_screen(ConfirmScreen(
            f"You have not passed {ex.ref} yet. Show the reference solution anyway?\n"
            "Your progress will record that you looked.", yes="Show it", no="Keep trying"), answered)

    def _show_solution(self, ex: Any) -> None:
        from tutor.ui.screens.modals import SolutionScreen

        self.app.push_screen(SolutionScreen(ex.ref, ex.solution))

    def _show_comparison(self, ex: Any) -> None:
        """After a pass: the learner's file beside the reference."""
        from tutor.ui.screens.modals import CompareScreen

        self.save()
        self.app.push_screen(CompareScreen(ex.ref, self.editor.text, ex.solution))

    def action_reset(self) -> None:
        from tutor.ui.screens.modals import ConfirmScreen

        ex = self.exercise

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            backup = reset_to_starter(self.app_.paths.workspace, ex)
            self._disk_text = None
            self._load_file()
            kept = f"; your version is kept as {backup.name}" if backup else ""
            self.notify(f"Reset to the starter code{kept}.", timeout=6)

        self.app.push_screen(ConfirmScreen(
            f"Reset {ex.ref} to the starter code?\nYour current file is kept as a backup next to it.",
            yes="Reset", no="Cancel"), answered)

    def action_save(self) -> None:
        self.editor.call_later(self.save)

    def action_toggle_watch(self) -> None:
        self.app_.watch_mode = not self.app_.watch_mode
        self.app_.refresh_status()
        self._update_file_bar("saved" if self.editor.text == self._disk_text else "edited")
        self.notify("Watch mode on: every save to the file is checked." if self.app_.watch_mode
                    else "Watch mode off.", timeout=3)

    def action_external_editor(self) -> None:
        """Suspend the app and open the file in $VISUAL / $EDITOR; reload it afterwards."""
        from textual.app import SuspendNotSupported

        self.save()
        command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        assert self.path is not None
        try:
            with self.app.suspend():
                try:
                    subprocess.call([*shlex.split(command), str(self.path)])
                except OSError as exc:
                    print(f"pytorch-tutor: cannot start {command!r}: {exc}")
        except SuspendNotSupported:
            self.notify("Cannot suspend here; edit the file in another window — changes are picked up.",
                        severity="warning")
            return
        self.poll_file()
