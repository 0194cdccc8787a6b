"""A plain-text view of an artifact, for ``show`` outside the sandbox (``python file.py``).

Self-contained on purpose: learner code may run where the tutor is not installed, so this
never imports ``tutor``; the tutor's own renderers draw the same artifacts far better.
"""

from __future__ import annotations

import math
from typing import Any

MAX_LINES = 12
MAX_WIDTH = 100


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def _row(values: Any) -> str:
    if isinstance(values, list):
        inner = ", ".join(_row(v) for v in values[:12]) + (", ..." if len(values) > 12 else "")
        return f"[{inner}]"
    return _num(values)


def _tensor(data: dict[str, Any]) -> list[str]:
    lines = [f"shape {tuple(data.get('shape') or ())} {data.get('dtype', '')}".rstrip()]
    values = data.get("values")
    if values is None and data.get("corner") is not None:
        lines.append(f"corner {data.get('corner_index', '')}:")
        values = data["corner"]
    if isinstance(values, list) and values and isinstance(values[0], list):
        lines += ["  " + _row(v) for v in values[:MAX_LINES]]
    elif values is not None:
        lines.append("  " + _row(values))
    stats = data.get("stats")
    if isinstance(stats, dict):
        lines.append("  " + "  ".join(f"{k}={_num(v)}" for k, v in stats.items() if not isinstance(v, (list, dict))))
    return lines


def _curve(data: dict[str, Any]) -> list[str]:
    lines = []
    for series in (data.get("series") or [])[:MAX_LINES]:
        ys = series.get("y") or series.get("values") or []
        if ys:
            finite = [y for y in ys if isinstance(y, (int, float)) and math.isfinite(y)]
            summary = f"{len(ys)} points, last {_num(ys[-1])}"
            if finite:
                summary += f", min {_num(min(finite))}, max {_num(max(finite))}"
        else:
            summary = "no points"
        lines.append(f"{series.get('label') or 'series'}: {summary}")
    return lines


def _scalars(data: dict[str, Any]) -> list[str]:
    return [", ".join(f"{k}={_num(v)}" for k, v in data.items() if isinstance(v, (str, int, float, bool)))]


def render_text(artifact: dict[str, Any]) -> str:
    """A few lines describing ``artifact`` (never raises on odd data)."""
    kind = str(artifact.get("kind", "?"))
    title = str(artifact.get("title") or "")
    data = artifact.get("data") if isinstance(artifact.get("data"), dict) else {}
    try:
        if kind == "text":
            body = str(data.get("text", "")).splitlines()[:MAX_LINES]
        elif kind == "tensor":
            body = _tensor(data)
        elif kind == "curve":
            body = _curve(data)
        else:
            body = _scalars(data)
    except Exception as exc:  # noqa: BLE001 - a fallback view must not break learner code
        body = [f"(cannot describe this {kind}: {type(exc).__name__})"]
    head = f"{kind} {title}".rstrip()
    return "\n".join([head] + [line[:MAX_WIDTH] for line in body if line])
