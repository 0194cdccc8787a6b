"""The progress view: per chapter, how many exercises are passed and attempted, the hints
used, the solutions looked at before passing, and the time spent (as the TUI measured it)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tutor.ui import time_spent
from tutor.ui.marks import MARKS


def progress_table(course: Any, progress: Any, seconds: dict[str, float]) -> Table:
    """One row per chapter, and a total (pure: the tests call it directly)."""
    table = Table(box=None, pad_edge=False, expand=False, header_style="bold")
    table.add_column("chapter", overflow="fold", ratio=1)
    for name in ("passed", "attempted", "hints", "solutions", "time"):
        table.add_column(name, justify="right", no_wrap=True)
    totals = [0, 0, 0, 0, 0, 0.0]
    for chapter in course.chapters:
        refs = [ex.ref for lesson in chapter.lessons for ex in lesson.exercises]
        items = [progress.data.get("exercises", {}).get(r) or {} for r in refs]
        passed = sum(progress.state(r) == "passed" for r in refs)
        attempted = sum(progress.state(r) == "attempted" for r in refs)
        hints = sum(int(i.get("hints_shown", 0) or 0) for i in items)
        solutions = sum(bool(i.get("solution_viewed")) for i in items)
        spent = sum(seconds.get(r, 0.0) for r in refs)
        row = [passed, attempted, hints, solutions, len(refs), spent]
        totals = [a + b for a, b in zip(totals, row)]
        mark, style = MARKS["passed"] if refs and passed == len(refs) else (
            MARKS["attempted"] if passed or attempted else MARKS["new"])
        table.add_row(Text.assemble((f"{mark} ", style), f"{chapter.number}. {chapter.title}"),
                      f"{passed}/{len(refs)}", str(attempted), str(hints), str(solutions), time_spent.human(spent))
    table.add_row(Text("all", style="bold"), f"{totals[0]}/{totals[4]}", str(totals[1]), str(totals[2]),
                  str(totals[3]), time_spent.human(totals[5]), style="bold")
    return table


class ProgressScreen(ModalScreen[None]):
    """Progress per chapter; esc closes."""

    BINDINGS = [Binding("escape,q,p", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        app: Any = self.app
        with Vertical(classes="dialog wide"):
            yield Static(Text.assemble(("Your progress", "bold"), ("   esc closes", "dim")), classes="question")
            with VerticalScroll(id="progress-scroll"):
                yield Static(progress_table(app.course, app.progress, time_spent.load(app.paths.data)),
                             id="progress-table")
                yield Static(Text("hints: hints revealed · solutions: reference solutions shown before a pass · "
                                  "time: while the exercise was on screen", style="dim"))

    def on_mount(self) -> None:
        self.query_one("#progress-scroll").focus()
