"""The lesson screen: prose and prompt, the editor on the workspace file, the output pane.

Runs happen in a thread worker (``Engine.submit`` blocks); its events come back as
messages, so the screen stays responsive and escape can stop the run. The file is saved
shortly after each edit and polled for changes made by other programs (every 0.5 s: an
mtime/size poll works on every filesystem, network ones included).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.lazy import Lazy
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from sandbox.protocol import RunResult
from tutor.display import safe_text
from tutor.storage import atomic_write_text
from tutor.ui.keys import lesson_bindings
from tutor.ui.messages import ProgressChanged, RunEvent, RunFinished
from tutor.ui.marks import MARKS
from tutor.ui.widgets.code_editor import CodeEditor
from tutor.ui.widgets.output_pane import OutputPane
from tutor.ui.widgets.status_bar import StatusBar
from tutor.workspace import ensure_exercise_file, reset_to_starter

#: Seconds between the last keystroke and the automatic save.
AUTOSAVE_DELAY_S = 0.4
#: Seconds between two looks at the file on disk.
POLL_INTERVAL_S = 0.5


def markdown(text: str) -> Any:
    """Lesson Markdown as one Rich renderable: far cheaper to mount than Textual's Markdown
    widget (one widget per block), which matters for the first-screen budget."""
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


def hints_text(hints: list[str], shown: int) -> Text:
    if shown <= 0:
        return Text(f"{len(hints)} hint(s) available: ctrl+g reveals one at a time.", style="dim")
    text = Text()
    for i, hint in enumerate(hints[:shown], start=1):
        text.append(f"Hint {i}/{len(hints)}: ", style="bold yellow")
        text.append(hint.strip() + "\n")
    if shown >= len(hints):
        text.append("That was the last hint; ctrl+o shows the reference solution.", style="dim")
    return text


class LessonScreen(Screen[None]):
    """One exercise at a time; the lesson's prose is shown with it."""

    BINDINGS = lesson_bindings()

    def __init__(self, exercise: Any) -> None:
        super().__init__()
        self.exercise = exercise
        self.path: Path | None = None
        self.running = False
        self._run_id = 0
        #: How many runs and checks have finished on this screen (tests wait on it).
        self.finished_runs = 0
        self._lesson_id: str | None = None
        self._disk_text: str | None = None
        self._file_sig: tuple[int, int] | None = None
        self._save_timer: Timer | None = None

    # --- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="lesson-title", classes="title-bar")
        with Horizontal(id="lesson-body"):
            with VerticalScroll(id="reading"):
                # The task first (it changes with every exercise), then the lesson's prose.
                yield Static(id="prompt")
                yield Static(id="hints")
                yield Static(id="prose")
            with Vertical(id="workbench"):
                yield Static(id="file-bar")
                yield CodeEditor(cursor_blink=self.app.cursor_blink, id="editor")  # type: ignore[attr-defined]
                # Mounted just after the first paint: a dozen widgets the first frame can do without.
                yield Lazy(OutputPane(id="output"))
        yield StatusBar(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.show_exercise(self.exercise)
        self.set_interval(POLL_INTERVAL_S, self.poll_file)
        self.call_after_refresh(self.app_.mark_first_paint)
        # Highlighting costs tens of milliseconds (tree-sitter builds its query); turn it on
        # once the first screen is drawn, so it does not delay it.
        self.call_after_refresh(self.editor.enable_highlighting)

    @property
    def app_(self) -> Any:
        return self.app

    @property
    def editor(self) -> CodeEditor:
        return self.query_one(CodeEditor)

    @property
    def output(self) -> OutputPane:
        return self.query_one(OutputPane)

    # --- which exercise ---------------------------------------------------------------------

    def show_exercise(self, exercise: Any) -> None:
        """Load ``exercise``: its lesson's prose, its prompt and hints, its workspace file."""
        if self.path is not None:
            self.save()
        if self.running:
            self.action_stop()
        self.exercise = exercise
        app = self.app_
        lesson = app.course.lesson(exercise.lesson_id)
        if lesson is not None and lesson.id != self._lesson_id:
            self._lesson_id = lesson.id
            # The prose sits below the prompt: draw it just after the first paint.
            prose = self.query_one("#prose", Static)
            self.call_after_refresh(lambda: prose.update(markdown(lesson_markdown(lesson))))
        exercises = lesson.exercises if lesson is not None else [exercise]
        position = next((i for i, ex in enumerate(exercises, 1) if ex.ref == exercise.ref), 1)
        self.query_one("#prompt", Static).update(markdown(prompt_markdown(exercise, position, len(exercises))))
        self._show_hints()
        self.query_one("#reading", VerticalScroll).scroll_home(animate=False)
        self.path = ensure_exercise_file(app.paths.workspace, exercise)
        self._load_file()
        self._update_title()
        app.progress.set_last(exercise.ref)
        self.editor.focus()

    def _update_title(self) -> None:
        app = self.app_
        ex = self.exercise
        lesson = app.course.lesson(ex.lesson_id)
        mark, style = MARKS.get(app.progress.state(ex.ref), MARKS["new"])
        self.query_one("#lesson-title", Static).update(Text.assemble(
            (f"{ex.lesson_id} ", "bold"), (lesson.title if lesson else "", ""), ("  ›  ", "dim"),
            (f"{mark} ", style), (ex.title, "bold"), (f"  {ex.ref}", "dim"), no_wrap=True, overflow="ellipsis"))

    def _hints_shown(self) -> int:
        item = self.app_.progress.data.get("exercises", {}).get(self.exercise.ref) or {}
        return int(item.get("hints_shown", 0))

    def _show_hints(self) -> None:
        self.query_one("#hints", Static).update(hints_text(self.exercise.hints, self._hints_shown()))

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

    def _update_file_bar(self, state: str) -> None:
        if self.path is None:
            return
        try:
            shown = str(self.path.relative_to(self.app_.paths.workspace))
        except ValueError:
            shown = str(self.path)
        watch = self.app_.watch_mode
        self.query_one("#file-bar", Static).update(Text.assemble(
            (safe_text(shown), "bold"), (f"  {state}", "dim" if state == "saved" else "yellow"),
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
        self._run_id += 1
        run_id = self._run_id
        self._set_running(True)
        self.output.begin(kind, exercise.ref)
        engine = app.engine

        def work() -> None:
            def on_event(event: dict[str, Any]) -> None:
                self.post_message(RunEvent(run_id, event))

            try:
                result = engine.submit(request, on_event)
            except Exception as exc:  # noqa: BLE001 - report, never crash the UI
                result = RunResult(status="error", error=f"{type(exc).__name__}: {exc}")
            self.post_message(RunFinished(run_id, kind, exercise.ref, result))

        self.run_worker(work, thread=True, group="run", exit_on_error=False,
                        name=f"{kind} {exercise.ref}", description=f"{kind} {exercise.ref}")

    def _report_recording_problem(self) -> None:
        """Say once if the session log could not be written (the run itself is unaffected)."""
        recorder = getattr(self.app_.engine, "recorder", None)
        problem = getattr(recorder, "error", None)
        if problem and not getattr(self, "_recording_problem_said", False):
            self._recording_problem_said = True
            self.app.notify(problem, severity="warning", timeout=10)

    def _set_running(self, running: bool) -> None:
        self.running = running
        self.refresh_bindings()
        self.app_.refresh_status()

    def on_run_event(self, message: RunEvent) -> None:
        if message.run_id == self._run_id:
            self.output.feed(message.event)

    def on_run_finished(self, message: RunFinished) -> None:
        result = message.result
        self.finished_runs += 1
        self._report_recording_problem()
        if message.run_id == self._run_id:
            self._set_running(False)
        cancelled = result.detail == "cancelled"
        footer = None
        if message.kind == "check" and result.status in ("pass", "fail") and not cancelled:
            passed = result.status == "pass"
            self.app_.progress.record_attempt(message.ref, passed)
            self.app_.post_message(ProgressChanged())
            if passed and message.ref == self.exercise.ref:
                footer = Text("\nPassed! ctrl+n goes to the next exercise; ctrl+o shows the reference "
                              "solution to compare.", style="green")
                self.notify(f"{message.ref} passed ✓", timeout=4)
        if message.run_id == self._run_id:
            self.output.finish(message.kind, result, footer)
            self._update_title()

    def action_stop(self) -> None:
        if self.running:
            self.app_.engine.cancel()
            self.output.log_view.note(Text("stopping…", style="yellow"))

    def action_back(self) -> None:
        self.save()
        self.app_.show_catalogue()

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
        ex = self._neighbour(+1)
        if ex is None:
            self.notify("This is the last exercise.", timeout=3)
        else:
            self.show_exercise(ex)

    def action_previous(self) -> None:
        ex = self._neighbour(-1)
        if ex is None:
            self.notify("This is the first exercise.", timeout=3)
        else:
            self.show_exercise(ex)

    # --- help from the course ---------------------------------------------------------------

    def action_hint(self) -> None:
        hints = self.exercise.hints
        shown = self._hints_shown()
        if shown >= len(hints):
            self.notify("No more hints; ctrl+o shows the reference solution.", timeout=4)
            return
        level = shown + 1
        self.app_.progress.record_hint(self.exercise.ref, level)
        self.app_.post_message(ProgressChanged())
        self._show_hints()
        self.query_one("#hints").scroll_visible(animate=False)
        self.notify(hints[level - 1].strip(), title=f"Hint {level}/{len(hints)}", timeout=8)

    def action_solution(self) -> None:
        from tutor.ui.screens.modals import ConfirmScreen

        ex = self.exercise
        progress = self.app_.progress
        if progress.state(ex.ref) == "passed":
            self._show_solution(ex)
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
