"""The Python editor: Textual's TextArea set up as a code editor."""

from __future__ import annotations

from typing import Any

from textual.widgets import TextArea

#: The editor's token colours per app theme kind: the "css" theme's colours are made for a
#: dark background and almost vanish on a light one.
EDITOR_THEMES = {True: "css", False: "github_light"}
#: What terminals' alt+1..4 (ESC 1..4) arrive as in Textual (macOS option characters): the
#: editor lets them through to the screen's tab keys instead of typing them.
ALT_DIGIT_STAND_INS = frozenset({"inverted_exclamation_mark", "trade_mark_sign", "pound_sign", "cent_sign"})


def python_language_available() -> bool:
    """True when tree-sitter and its Python grammar are installed (``textual[syntax]``)."""
    try:
        import tree_sitter_python  # noqa: F401
    except ImportError:
        return False
    return True


class CodeEditor(TextArea):
    """Line numbers, no soft wrap, Tab indents, Python highlighting when available; the
    colours follow the app's light/dark theme."""

    def __init__(self, text: str = "", *, cursor_blink: bool = True, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(
            text,
            language=None,  # set by enable_highlighting() once the screen is up
            soft_wrap=False,
            tab_behavior="indent",
            show_line_numbers=True,
            id=id,
            classes=classes,
        )
        self.cursor_blink = cursor_blink

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        if key in ALT_DIGIT_STAND_INS:
            return False
        return super().check_consume_key(key, character)

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._follow_theme, init=True)

    def _follow_theme(self, _: Any = None) -> None:
        dark = bool(getattr(self.app.current_theme, "dark", True))
        wanted = EDITOR_THEMES[dark]
        if self.theme != wanted:
            self.theme = wanted

    def enable_highlighting(self) -> None:
        """Python syntax highlighting, when tree-sitter is installed (``textual[syntax]``)."""
        if self.language is None and python_language_available():
            self.language = "python"
