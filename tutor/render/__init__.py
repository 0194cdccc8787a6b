"""Renderers: pure functions from artifact data to Rich renderables.

Two public entry points, used by ``pytorch-tutor run`` (``tutor.display``) and by the TUI:

* :func:`render_artifact` draws one ``{"type": "artifact", "kind", "title", "data"}`` event;
* :func:`render_metrics` draws the live chart of ``{"type": "metric", ...}`` events.

One module per artifact kind (``tutor/render/<kind>.py``), imported only when an artifact of
that kind is drawn, so importing this package stays cheap. Nothing here imports torch
(``tests/test_render_boundaries.py``). The data schema of every kind is in docs/visuals.md.

Renderers never raise on bad data: a broken artifact becomes a one-line note, because a
learner's odd visual must not take the TUI down.
"""

from __future__ import annotations

import importlib
from typing import Any

#: artifact kind -> module under tutor.render that provides ``render(data, title, width)``.
RENDERERS = {
    "tensor": "tensor",
    "graph": "graph",
    "module": "module",
    "curve": "curve",
    "image": "image",
    "heatmap": "heatmap",
    "profile": "profile",
    "tensorboard": "tensorboard",
    "text": "text",
}

__all__ = ["render_artifact", "render_metrics", "RENDERERS"]


def render_artifact(artifact: dict[str, Any], width: int = 80) -> Any:
    """A Rich renderable for one artifact event, at most ``width`` columns wide."""
    from rich.text import Text

    from tutor.render.common import clean

    if not isinstance(artifact, dict):
        return Text("(an unreadable visual was skipped)", style="dim")
    kind = str(artifact.get("kind", ""))
    title = clean(artifact.get("title") or "", 80)
    data = artifact.get("data")
    module_name = RENDERERS.get(kind)
    if module_name is None:
        return Text(f"(a visual of unknown kind {clean(kind, 30)!r} was skipped)", style="dim")
    if not isinstance(data, dict):
        return Text(f"(the {kind} visual {title!r} carries no data)", style="dim")
    try:
        module = importlib.import_module(f"tutor.render.{module_name}")
        return module.render(data, title, max(20, int(width)))
    except Exception as exc:  # a renderer bug or malformed data: say so, don't crash
        return Text(f"(could not draw the {kind} visual {title!r}: {clean(exc, 120)})", style="dim")


def render_metrics(metrics: list[dict[str, Any]], width: int = 80, height: int = 16) -> Any:
    """The live chart of metric events: one series per metric name, x = step (or order)."""
    from rich.text import Text

    from tutor.render.common import clean

    try:
        from tutor.render.curve import render_metrics as _render

        return _render(metrics, max(20, int(width)), max(6, int(height)))
    except Exception as exc:
        return Text(f"(could not draw the metrics: {clean(exc, 120)})", style="dim")
