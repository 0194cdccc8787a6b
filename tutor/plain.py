"""Output that fits a plain terminal, a pipe or a file.

Rich lays tables out to the console width and pads every cell, so piped output carries
trailing spaces, and when stdout is not a terminal the width is a guess (80) at which long
titles wrap. Two helpers fix that for the headless commands:

* :func:`plain_console`: the commands' console, whose lines never end in spaces; when
  stdout is not a terminal (and ``COLUMNS`` does not say otherwise) it does not wrap at a
  guessed width either: a line is as long as its content.
* :func:`wrap_code_comments`: a Python snippet with its long comments re-wrapped as comments
  (each continuation starts with the same indentation and ``#``) to fit ``width``, so a
  wrapped comment never turns into a line that reads like code.
"""

from __future__ import annotations

import io
import os
import re
import sys
import textwrap
from typing import Any, TextIO

from rich.console import Console

#: Width used when stdout is not a terminal and COLUMNS is not set: "as wide as the content".
UNBOUNDED_WIDTH = 1000

_TRAILING = re.compile(r"[ \t]+((?:\x1b\[[0-9;]*m)*)$")


def strip_trailing(line: str) -> str:
    """``line`` without trailing blanks, keeping any style codes that follow them."""
    while True:
        stripped = _TRAILING.sub(r"\1", line)
        if stripped == line:
            return line
        line = stripped


class StripTrailingWriter(io.TextIOBase):
    """A text stream that removes trailing blanks from every line written through it."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self._pending = ""

    def write(self, text: str) -> int:
        data = self._pending + text
        lines = data.split("\n")
        self._pending = lines.pop()
        if lines:
            self.target.write("\n".join(strip_trailing(line) for line in lines) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.target.write(strip_trailing(self._pending))
            self._pending = ""
        self.target.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.target, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8") or "utf-8"


def plain_console(stderr: bool = False, file: TextIO | None = None, **options: Any) -> Console:
    """The console for a headless command (see the module docstring)."""
    target = file or (sys.stderr if stderr else sys.stdout)
    tty = bool(getattr(target, "isatty", lambda: False)())
    if not tty and "width" not in options and not os.environ.get("COLUMNS"):
        options["width"] = UNBOUNDED_WIDTH
    options.setdefault("highlight", False)
    options.setdefault("soft_wrap", False)
    return Console(file=StripTrailingWriter(target), **options)  # type: ignore[arg-type]


_COMMENT = re.compile(r"^(?P<indent>\s*)#\s?(?P<text>.*)$")


def wrap_code_comments(code: str, width: int) -> str:
    """Re-wrap comment lines longer than ``width`` as several comment lines.

    Full-line comments are re-flowed at their indentation; a long trailing comment after
    code moves to its own comment line(s) above that code. Code itself is left alone
    (the caller's syntax view may wrap or scroll it)."""
    width = max(20, width)
    out: list[str] = []
    for line in code.splitlines():
        if len(line) <= width:
            out.append(line)
            continue
        full = _COMMENT.match(line)
        if full:
            out.extend(_comment_lines(full["indent"], full["text"], width))
            continue
        split = _trailing_comment(line)
        if split is None:
            out.append(line)
            continue
        code_part, comment = split
        indent = re.match(r"\s*", code_part).group()  # type: ignore[union-attr]
        out.extend(_comment_lines(indent, comment, width))
        out.append(code_part.rstrip())
    return "\n".join(out) + ("\n" if code.endswith("\n") else "")


def _comment_lines(indent: str, text: str, width: int) -> list[str]:
    prefix = indent + "# "
    return textwrap.wrap(text, width=width, initial_indent=prefix, subsequent_indent=prefix,
                         break_long_words=False, break_on_hyphens=False) or [prefix.rstrip()]


def _trailing_comment(line: str) -> tuple[str, str] | None:
    """(code, comment text) when ``line`` ends in a ``#`` comment outside any string."""
    import tokenize

    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            col = tok.start[1]
            code = line[:col]
            if not code.strip():
                return None
            return code, tok.string.lstrip("#").strip()
    return None
