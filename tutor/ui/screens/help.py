"""The help screen: every key, built from the key table in ``tutor/ui/keys.py``."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from tutor.ui.keys import help_markdown


class HelpScreen(ModalScreen[None]):
    """Every key, by screen."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def __init__(self, where: str = "exercise") -> None:
        super().__init__()
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            with VerticalScroll(id="help-scroll"):
                yield Markdown(help_markdown(self.where), id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()
