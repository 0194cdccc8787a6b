"""The fallback visual: plain text (a ``repr`` of something ``show`` could not draw).

Data schema: ``text`` (string, bounded by the learner side), ``note`` (optional).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from tutor.render.common import Adaptive, clean, title_text

MAX_LINES = 40


def render(data: dict[str, Any], title: str, width: int) -> Adaptive:
    raw = str(data.get("text") or "")
    lines = raw.splitlines()
    body = "\n".join(clean(line, 400) for line in lines[:MAX_LINES])
    if len(lines) > MAX_LINES:
        body += f"\n… {len(lines) - MAX_LINES} more line(s)"

    def build(plain: bool, w: int) -> Any:
        parts: list[Any] = [title_text(title, "show"), Text(body)]
        if data.get("note"):
            parts.append(Text(clean(data["note"], 200), style="dim"))
        return Group(*parts)

    return Adaptive(build, width)
