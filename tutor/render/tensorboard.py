"""TensorBoard scalars: one small line chart per tag.

The learner side reads the event files (``sandbox.learner.tfevents``, no torch, no
tensorboard) and sends the numbers, because the log folder is deleted with the run.

Data schema: ``logdir`` (as the learner named it), ``scalars`` (``{tag: {"steps": [...],
"values": [...]}}``, at most 16 tags, 1000 points each), ``omitted_tags`` (count).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text

from tutor.render.common import Adaptive, clean, title_text
from tutor.render.curve import chart

MAX_TAGS_DRAWN = 8
CHART_HEIGHT = 9


def render(data: dict[str, Any], title: str, width: int) -> Adaptive:
    scalars = data.get("scalars")
    if not isinstance(scalars, dict):
        raise ValueError("tensorboard data has no 'scalars'")

    def build(plain: bool, w: int) -> Any:
        head = title_text(title, "tensorboard")
        head.append(f"  {clean(data.get('logdir') or '', 60)}  {len(scalars)} scalar tag(s)", style="dim")
        parts: list[Any] = [head]
        if not scalars:
            parts.append(Text("(no scalars found: did the SummaryWriter write and close/flush?)", style="dim"))
        for tag in sorted(scalars)[:MAX_TAGS_DRAWN]:
            series = scalars[tag] if isinstance(scalars[tag], dict) else {}
            parts.append(Text(clean(tag, 60), style="bold"))
            parts.append(chart([{"label": tag, "x": series.get("steps") or [], "y": series.get("values") or []}],
                               w, CHART_HEIGHT, plain))
        hidden = max(0, len(scalars) - MAX_TAGS_DRAWN) + int(data.get("omitted_tags") or 0)
        if hidden:
            parts.append(Text(f"(+{hidden} more tag(s) not drawn)", style="dim"))
        return Group(*parts)

    return Adaptive(build, width)
