"""The lesson page: a lesson to read, full width — its prose, its examples (each runnable
with one key, the output and visuals drawn right under it, through the same sandbox as
everything else) and its exercises with the learner's progress, and a key to start.

The exercise screen is pushed on top of this page; its "back to the lesson" key pops it, so
the page is found again exactly where the learner left it.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tutor.display import clean_output, explanations, head_and_tail
from tutor.storage import atomic_write_text
from tutor.ui.marks import MARKS
from tutor.ui.messages import RunEvent, RunFinished
from tutor.ui.runner import RunsCode
from tutor.ui.widgets.output_pane import finish_line, renderers
from tutor.ui.widgets.status_bar import StatusBar

#: Output kept per example on the page (they are short programs; a flood is cut).
EXAMPLE_OUTPUT_CHARS = 8 * 1024


def markdown(text: str) -> Any:
    from tutor.ui.screens.lesson import markdown as lesson_md

    return lesson_md(text)


def code_block(code: str, dark: bool = True) -> Any:
    """An example's code, highlighted, wrapped to the page width (never cut)."""
    from rich.syntax import Syntax

    return Syntax(code.rstrip(), "python", theme="ansi_dark" if dark else "ansi_light", word_wrap=True,
                  background_color="default", line_numbers=False)


class ExampleBlock(Vertical, can_focus=True):
    """One runnable example: title, code, explanation, and (after a run) what it printed."""

    def __init__(self, index: int, example: Any, dark: bool = True) -> None:
        super().__init__(id=f"example-{index}", classes="example")
        self.index = index
        self.example = example
        self.dark = dark
        self.output_text = ""
        self.visuals: list[Any] = []
        self.outcome: Text | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble((f"Example {self.index}: ", "bold"), (self.example.title, "bold"),
                                   (f"   enter or {self.index} runs it" if self.index <= 9 else "   enter runs it",
                                    "dim")), classes="example-title")
        yield Static(code_block(self.example.code, self.dark), classes="example-code")
        if self.example.explanation:
            yield Static(markdown(self.example.explanation.strip()), classes="example-explanation")
        yield Static(classes="example-output")

    def on_mount(self) -> None:
        self.query_one(".example-output", Static).display = False

    def begin(self) -> None:
        self.output_text = ""
        self.visuals = []
        self.outcome = Text("running…  (esc stops it)", style="dim")
        self._draw()

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind in ("stdout", "stderr"):
            self.output_text += str(event.get("text", ""))
            if len(self.output_text) > 4 * EXAMPLE_OUTPUT_CHARS:
                self.output_text, _ = head_and_tail(self.output_text, EXAMPLE_OUTPUT_CHARS // 2,
                                                    EXAMPLE_OUTPUT_CHARS // 2)
        elif kind == "artifact":
            self.visuals.append(event)
        elif kind == "metric":
            self.visuals.append({"metric": event})
        self._draw()

    def finish(self, result: Any) -> None:
        self.outcome = finish_line(result, "run")
        self.notes = explanations(result)
        if result.error and result.status == "error":
            self.output_text += f"\n{result.error}"
        self._draw()

    def _draw(self) -> None:
        out = self.query_one(".example-output", Static)
        out.display = True
        width = max(20, (self.size.width or 80) - 2)
        parts: list[Any] = []
        shown, _ = head_and_tail(clean_output(self.output_text), EXAMPLE_OUTPUT_CHARS // 2, EXAMPLE_OUTPUT_CHARS // 2)
        if shown.strip():
            parts.append(Text(shown.rstrip("\n")))
        found = renderers()
        metrics = [v["metric"] for v in self.visuals if "metric" in v]
        for visual in self.visuals:
            if "metric" in visual:
                continue
            parts.append(found[0](visual, width) if found else Text(f"[{visual.get('kind')}]", style="dim"))
        if metrics and found:
            parts.append(found[1](metrics, width, 12))
        for note in getattr(self, "notes", []):
            parts.append(Text(note, style="yellow"))
        if self.outcome is not None:
            parts.append(self.outcome)
        out.update(Group(*parts))


class ExerciseRow(Static, can_focus=True):
    """One exercise of the lesson, with its progress mark; enter opens it."""

    def __init__(self, exercise: Any, position: int) -> None:
        super().__init__(classes="exercise-row")
        self.exercise = exercise
        self.position = position

    def show_state(self, state: str, extra: str = "") -> None:
        mark, style = MARKS.get(state, MARKS["new"])
        question = getattr(self.exercise, "kind", "code") == "predict"
        self.update(Text.assemble((f" {mark} ", style), (f"{self.position}. ", "bold"), (self.exercise.title, ""),
                                  ("  (predict)" if question else "", "cyan"),
                                  (f"  {self.exercise.ref}", "dim"), (f"  {state}", style),
                                  (f"  {extra}" if extra else "", "yellow")))


class LessonPageScreen(RunsCode, Screen[None]):
    """Read the lesson, run its examples, pick an exercise."""

    BINDINGS = [
        Binding("enter", "activate", "Run/Open", id="activate"),
        Binding("s", "start", "Start exercises", id="start"),
        Binding("ctrl+r,f5", "run_example", "Run example", show=False, id="run"),
        *[Binding(str(n), f"run_number({n})", f"Run example {n}", show=False) for n in range(1, 10)],
        Binding("tab", "app.focus_next", "Next item", show=True, id="next-item"),
        Binding("escape,ctrl+c", "stop", "Stop", id="stop"),
        Binding("escape", "back", "Catalogue", id="back"),
        Binding("question_mark", "app.help", "Help", show=False),
    ]

    def __init__(self, lesson: Any) -> None:
        super().__init__()
        self.lesson = lesson
        self._example_running: ExampleBlock | None = None
        #: Runs finished on this page (tests wait on it).
        self.finished_runs = 0

    def compose(self) -> ComposeResult:
        lesson = self.lesson
        dark = bool(getattr(self.app, "current_theme", None) is None or self.app.current_theme.dark)
        yield Static(Text.assemble((f"Lesson {lesson.id}  ", "bold"), (lesson.title, "bold"),
                                   (f"   {lesson.chapter_title}" if lesson.chapter_title else "", "dim"),
                                   no_wrap=True, overflow="ellipsis"), classes="title-bar")
        with VerticalScroll(id="page"):
            if lesson.summary:
                yield Static(Text(lesson.summary.strip(), style="italic"), id="page-summary")
            yield Static(markdown(lesson.prose.strip()), id="page-prose")
            for i, example in enumerate(lesson.examples, start=1):
                yield ExampleBlock(i, example, dark)
            yield Static(Text("Exercises", style="bold"), id="exercises-title")
            for i, exercise in enumerate(lesson.exercises, start=1):
                yield ExerciseRow(exercise, i)
            yield Static(Text("s starts (or resumes) the exercises; enter on one opens it.", style="dim"),
                         id="page-hint")
        yield StatusBar(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_marks()
        self.query_one("#page", VerticalScroll).focus()
        self.call_after_refresh(getattr(self.app, "mark_first_paint"))

    def on_screen_resume(self) -> None:
        self.refresh_marks()
        getattr(self.app, "refresh_status")()  # now, not at the next tick: progress may have changed

    def refresh_marks(self) -> None:
        progress = getattr(self.app, "progress")
        for row in self.query(ExerciseRow):
            python = getattr(getattr(self.app, "ctx", None), "python", None)
            row.show_state(progress.state(row.exercise.ref), missing_extras_note(row.exercise, python))

    # --- keys -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.running
        if action == "back":
            return not self.running
        return True

    def action_activate(self) -> None:
        focused = self.focused
        if isinstance(focused, ExerciseRow):
            getattr(self.app, "open_exercise")(focused.exercise)
        elif isinstance(focused, ExampleBlock):
            self.run_example(focused)
        else:
            self.action_start()

    def action_start(self) -> None:
        app: Any = self.app
        app.open_exercise(app.next_open_exercise(self.lesson))

    def action_run_example(self) -> None:
        focused = self.focused
        blocks = list(self.query(ExampleBlock))
        if isinstance(focused, ExampleBlock):
            self.run_example(focused)
        elif blocks:
            self.run_example(blocks[0])

    def action_run_number(self, n: int) -> None:
        blocks = list(self.query(ExampleBlock))
        if 1 <= n <= len(blocks):
            blocks[n - 1].focus()
            self.run_example(blocks[n - 1])

    def run_example(self, block: ExampleBlock) -> None:
        if self.running:
            self.notify("An example is still running; esc stops it.", severity="warning", timeout=3)
            return
        app: Any = self.app
        path = app.paths.workspace / ".examples" / self.lesson.id / f"example-{block.index}.py"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, block.example.code)
            request = app.run_request(path)
        except Exception as exc:  # noqa: BLE001 - a bad example must not crash the app
            self.notify(f"cannot run example {block.index}: {exc}", severity="error")
            return
        self._example_running = block
        block.begin()
        self.call_after_refresh(block.query_one(".example-output").scroll_visible, animate=False)
        self.submit_run("run", f"{self.lesson.id} example {block.index}", request)

    def on_run_event(self, message: RunEvent) -> None:
        if message.run_id == self._run_id and self._example_running is not None:
            self._example_running.feed(message.event)

    def on_run_finished(self, message: RunFinished) -> None:
        self.finished_runs += 1
        if self.run_done(message) and self._example_running is not None:
            block = self._example_running
            block.finish(message.result)
            # The output (not the block's top: a long example is taller than the screen).
            self.call_after_refresh(block.query_one(".example-output").scroll_visible, animate=False)
            self._example_running = None

    def action_stop(self) -> None:
        self.stop_run()

    def action_back(self) -> None:
        if self.is_current:
            getattr(self.app, "show_catalogue")()


def missing_extras_note(exercise: Any, python: str | None = None) -> str:
    """"needs X: pip install ..." when the exercise's ``needs.extras`` are missing from the
    Python that runs learner code; empty when nothing is missing."""
    if not getattr(exercise, "extras", None):
        return ""
    try:
        from tutor.course.extras import install_command, missing_extras
    except ImportError:
        return ""
    missing = missing_extras(exercise, python)
    return f"needs {', '.join(missing)}: {install_command(missing)}" if missing else ""
