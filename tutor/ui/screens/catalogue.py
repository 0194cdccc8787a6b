"""The catalogue screen: every chapter, lesson and exercise with the learner's progress."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static, Tree

from tutor.course.model import Exercise, Lesson
from tutor.ui.marks import MARKS
from tutor.ui.widgets.catalogue_tree import CatalogueTree
from tutor.ui.widgets.status_bar import StatusBar

WELCOME = (
    "Welcome to pytorch-tutor! Each lesson has a short explanation and exercises you solve "
    "in a small Python file; ctrl+t checks your code in a sandbox. Pick a lesson with "
    "the arrow keys and press enter to read it — 1.1 is a good start. ? shows every key."
)


class CatalogueScreen(Screen[None]):
    """The course at a glance. Enter opens the exercise (or a lesson's next open exercise)."""

    BINDINGS = [
        Binding("slash", "app.command_palette", "Search", id="search"),
        Binding("question_mark", "app.help", "Help", id="help"),
        Binding("p", "progress", "Progress", id="progress"),
    ]

    def __init__(self, first_run: bool = False) -> None:
        super().__init__()
        self.first_run = first_run

    def compose(self) -> ComposeResult:
        app: Any = self.app
        yield Static(Text.assemble(("pytorch-tutor", "bold"), ("  the course", "dim")), classes="title-bar")
        if self.first_run:
            yield Static(WELCOME, id="welcome")
        if app.course.errors:
            yield Static(Text(f"{len(app.course.errors)} lesson file(s) could not be loaded; "
                              "`pytorch-tutor lint` says why.", style="yellow"), id="load-errors")
        with Horizontal(id="catalogue-body"):
            yield CatalogueTree(app.course, app.progress, id="catalogue")
            yield Static(id="catalogue-details")
        yield StatusBar(id="status")
        yield Footer(compact=True)

    def on_resize(self, event: Any) -> None:
        self.set_class(event.size.width >= 110, "wide")

    def on_mount(self) -> None:
        self.set_class(self.app.size.width >= 110, "wide")
        tree = self.query_one(CatalogueTree)
        tree.focus()
        self.call_after_refresh(getattr(self.app, "mark_first_paint"))
        # The tree lays out its lines on the first refresh; the cursor can move after it.
        self.call_after_refresh(tree.reveal, getattr(self.app, "progress").last)

    def on_screen_resume(self) -> None:
        self.refresh_marks()
        getattr(self.app, "refresh_status")()  # now, not at the next tick: progress may have changed

    def refresh_marks(self) -> None:
        self.query_one(CatalogueTree).refresh_marks()
        self._show_details(self.query_one(CatalogueTree).cursor_node)

    def action_progress(self) -> None:
        from tutor.ui.screens.progress_view import ProgressScreen

        self.app.push_screen(ProgressScreen())

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Any]) -> None:
        self._show_details(event.node)

    def _show_details(self, node: Any) -> None:
        """The side panel (at 110 columns and more): the highlighted lesson's summary and
        exercises."""
        data = getattr(node, "data", None)
        lesson = data if isinstance(data, Lesson) else None
        if isinstance(data, Exercise):
            lesson = getattr(self.app, "course").lesson(data.lesson_id)
        details = self.query_one("#catalogue-details", Static)
        if lesson is None:
            details.update(Text("Enter on a lesson opens its page: the explanation, runnable examples, "
                                "then the exercises. p shows your progress.", style="dim"))
            return
        progress = getattr(self.app, "progress")
        text = Text.assemble((f"{lesson.id}  {lesson.title}\n", "bold"))
        if lesson.summary:
            text.append(lesson.summary.strip() + "\n", style="italic")
        text.append(f"\n{len(lesson.examples)} runnable example(s) · {len(lesson.exercises)} exercise(s)\n", style="dim")
        for ex in lesson.exercises:
            mark, style = MARKS.get(progress.state(ex.ref), MARKS["new"])
            text.append(f"{mark} ", style)
            text.append(f"{ex.title}\n")
        details.update(text)

    def on_tree_node_selected(self, event: Tree.NodeSelected[Any]) -> None:
        # Enter on a lesson opens its page; on an exercise, the exercise; on a chapter it
        # folds or unfolds it (space folds any row).
        data = event.node.data
        event.stop()
        if isinstance(data, Exercise):
            getattr(self.app, "open_exercise")(data)
        elif isinstance(data, Lesson):
            getattr(self.app, "open_lesson")(data)
        else:
            event.node.toggle()
