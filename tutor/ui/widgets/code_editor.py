"""The Python editor: Textual's TextArea set up as a code editor."""

from __future__ import annotations

from textual.widgets import TextArea


def python_language_available() -> bool:
    """True when tree-sitter and its Python grammar are installed (``textual[syntax]``)."""
    try:
        import tree_sitter_python  # noqa: F401
    except ImportError:
        return False
    return True


class CodeEditor(TextArea):
    """Line numbers, no soft wrap, Tab indents, Python highlighting when available.

    The ``css`` theme takes its colours from the app's theme, so the editor follows the
    light/dark switch and ``NO_COLOR``.
    """

    def __init__(self, text: str = "", *, cursor_blink: bool = True, id: str | None = None) -> None:
        super().__init__(
            text,
            language=None,  # set by enable_highlighting() once the screen is up
            soft_wrap=False,
            tab_behavior="indent",
            show_line_numbers=True,
            id=id,
        )
        self.cursor_blink = cursor_blink

    def enable_highlighting(self) -> None:
        """Python syntax highlighting, when tree-sitter is installed (``textual[syntax]``)."""
        if self.language is None and python_language_available():
            self.language = "python"
