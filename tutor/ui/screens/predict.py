"""A ``predict`` question: the snippet, its numbered choices; a digit answers. The snippet then
runs in the sandbox (the right choice is whatever it really produced, see
``tutor/course/predict.py``), and the screen says right or not, what came out, and why."""

from __future__ import annotations

import random
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tutor.display import safe_text
from tutor.storage import atomic_write_text
from tutor.ui.messages import ProgressChanged, RunEvent, RunFinished
from tutor.ui.extras_note import extras_problem_of
from tutor.ui.runner import RunsCode


class PredictScreen(RunsCode, ModalScreen[None]):
    """Answer with 1..9; esc closes (or stops the snippet while it runs)."""

    BINDINGS = [
        *[Binding(str(n), f"answer({n})", f"Answer {n}", show=False) for n in range(1, 10)],
        Binding("escape,q", "close", "Close"),
        # The course goes on past a question: next/previous as on the exercise screen.
        Binding("ctrl+n,f4", "step(1)", "Next"),
        Binding("f3", "step(-1)", "Previous"),
    ]

    def __init__(self, exercise: Any) -> None:
        super().__init__()
        self.exercise = exercise
        self.choice: int | None = None
        self.finished_runs = 0

    def compose(self) -> ComposeResult:
        from rich.syntax import Syntax

        from tutor.ui.screens.lesson import markdown

        ex = self.exercise
        with Vertical(classes="dialog full"):
            yield Static(Text.assemble(("Predict  ", "bold"), (ex.title, "bold"), (f"  {ex.ref}", "dim"),
                                       ("   a digit answers · ctrl+n next · esc closes", "dim")), classes="question")
            with VerticalScroll(id="predict-scroll"):
                yield Static(markdown(ex.prompt.strip()), id="predict-prompt")
                yield Static(Syntax(ex.snippet.rstrip(), "python", theme="ansi_dark", word_wrap=True,
                                    background_color="default"), id="predict-snippet")
                yield Static(self._choices(), id="predict-choices")
                yield Static(id="predict-result")

    def on_mount(self) -> None:
        self.query_one("#predict-scroll").focus()
        problem = extras_problem_of(self.exercise, getattr(self.app, "ctx", None))
        if problem:
            self.query_one("#predict-result", Static).update(Text(problem, style="yellow"))

    def _choices(self) -> Text:
        text = Text()
        for n, choice in enumerate(self.exercise.choices, 1):
            mark = "▶ " if self.choice == n else "  "
            text.append(f"{mark}{n}. ", style="bold cyan")
            text.append(safe_text(choice) + "\n", style="bold" if self.choice == n else "")
        return text

    def action_answer(self, n: int) -> None:
        if self.running or not 1 <= n <= len(self.exercise.choices):
            return
        app: Any = self.app
        problem = extras_problem_of(self.exercise, getattr(app, "ctx", None))
        if problem:
            self.notify(problem, severity="warning", timeout=6)
            return
        from tutor.course import predict

        self.choice = n
        self.query_one("#predict-choices", Static).update(self._choices())
        path = app.paths.workspace / ".examples" / self.exercise.lesson_id / f"{self.exercise.id}-snippet.py"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, self.exercise.snippet)
            request = predict.snippet_request(self.exercise, path, random.randrange(1, 2**31), app.ctx.resolved_device)
        except Exception as exc:  # noqa: BLE001 - a bad question must not crash the app
            self.query_one("#predict-result", Static).update(Text(f"cannot run the snippet: {exc}", style="red"))
            return
        self.query_one("#predict-result", Static).update(Text("running the snippet…", style="dim"))
        self.submit_run("run", self.exercise.ref, request)

    def on_run_event(self, message: RunEvent) -> None:
        pass  # the verdict needs the whole run

    def on_run_finished(self, message: RunFinished) -> None:
        self.finished_runs += 1
        if not self.run_done(message) or self.choice is None:
            return
        from tutor.course import predict
        from tutor.ui.screens.lesson import markdown

        ex = self.exercise
        result = message.result
        seen = predict.observed(ex, result)
        matches = predict.matching_choices(ex, seen)
        out = self.query_one("#predict-result", Static)
        if len(matches) != 1:
            why = predict.describe_run(result) if seen is None else f"it produced {seen!r}"
            out.update(Text(f"This question could not be scored ({safe_text(why)}); please report it.", style="red"))
            return
        right = matches[0]
        correct = self.choice == right
        app: Any = self.app
        recorder = getattr(app.progress, "record_answer", None)
        if recorder is not None:
            recorder(ex.ref, self.choice, correct)
            app.post_message(ProgressChanged())
        verdict = (Text(f"✓ right: {safe_text(ex.choices[right - 1])}", style="bold green") if correct else
                   Text(f"✗ not quite: the snippet gave {right}. {safe_text(ex.choices[right - 1])}",
                        style="bold red"))
        parts: list[Any] = [verdict, Text(f"it printed: {safe_text(seen or '')}", style="dim")]
        if ex.explanation:
            parts.append(markdown(ex.explanation.strip()))
        out.update(Group(*parts))

    def action_close(self) -> None:
        if self.running:
            self.stop_run()
            return
        self.dismiss()

    def action_step(self, step: int) -> None:
        """Close the question and open its neighbour in the course (another question opens
        the same way; a code exercise opens on the exercise screen)."""
        if self.running:
            self.stop_run()
        app: Any = self.app
        exercises = list(app.course.exercises)
        refs = [ex.ref for ex in exercises]
        index = refs.index(self.exercise.ref) + step if self.exercise.ref in refs else -1
        if not 0 <= index < len(exercises):
            self.notify("This is the last exercise." if step > 0 else "This is the first exercise.", timeout=3)
            return
        self.dismiss()
        app.open_exercise(exercises[index])


