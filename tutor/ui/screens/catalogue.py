"""The catalogue screen: every chapter, lesson and exercise with the learner's progress."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static, Tree

from tutor.course.model import Exercise
from tutor.ui.widgets.catalogue_tree import CatalogueTree
from tutor.ui.widgets.status_bar import StatusBar

WELCOME = (
    "Welcome to pytorch-tutor! Each lesson has a short explanation and exercises you solve "
    "in a small Python file; ctrl+t checks your code in a sandbox. Pick an exercise with "
    "the arrow keys and press enter — 1.1 is a good start. ? shows every key."
)


class CatalogueScreen(Screen[None]):
    """The course at a glance. Enter opens the exercise (or a lesson's next open exercise)."""

    BINDINGS = [
        Binding("slash", "app.command_palette", "Search", id="search"),
        Binding("question_mark", "app.help", "Help", id="help"),
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
        yield CatalogueTree(app.course, app.progress, id="catalogue")
        yield StatusBar(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        tree = self.query_one(CatalogueTree)
        tree.focus()
        self.call_after_refresh(getattr(self.app, "mark_first_paint"))
        # The tree lays out its lines on the first refresh; the cursor can move after it.
        self.call_after_refresh(tree.reveal, getattr(self.app, "progress").last)

    def on_screen_resume(self) -> None:
        self.refresh_marks()

    def refresh_marks(self) -> None:
        self.query_one(CatalogueTree).refresh_marks()

    def on_tree_node_selected(self, event: Tree.NodeSelected[Any]) -> None:
        # Enter on a chapter or a lesson toggles it (the tree's own behaviour); on an
        # exercise it opens it.
        if isinstance(event.node.data, Exercise):
            event.stop()
            getattr(self.app, "open_exercise")(event.node.data)
