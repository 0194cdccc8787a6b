"""Line charts with plotext: ``curve`` artifacts and the live metrics chart.

plotext draws into one global figure, so every chart is built under a lock. Colour is not
needed to tell series apart: without colour each series gets its own marker character, and
the legend under the chart (drawn with Rich, not plotext) shows the mapping.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from rich.console import Group
from rich.text import Text

from tutor.render.common import (SERIES_MARKS, Adaptive, clean, downsample, fmt, number,
                                 title_text)

#: Points drawn per series; longer series are thinned evenly (the last point is kept).
MAX_POINTS = 1000
MAX_SERIES = 8
#: 256-colour codes for plotext, and the matching Rich colours for the legend.
_PLOT_COLORS = (14, 13, 11, 10, 12, 9, 15, 8)

_LOCK = threading.Lock()


def _series_points(series: dict[str, Any], log: bool) -> tuple[list[float], list[float], int]:
    ys = series.get("y") or []
    xs = series.get("x") or list(range(len(ys)))
    points, skipped = [], 0
    for x, y in zip(xs, ys):
        fx, fy = number(x), number(y)
        if fx is None or fy is None or not (math.isfinite(fx) and math.isfinite(fy)) or (log and fy <= 0):
            skipped += 1
            continue
        points.append((fx, fy))
    points = downsample(points, MAX_POINTS)
    return [p[0] for p in points], [p[1] for p in points], skipped


def integer_ticks(xs: list[float], width: int) -> list[int] | None:
    """Whole-number tick positions when every x is a whole number (steps, epochs), about one
    per 10 columns; None when the axis is not integral (plotext's own ticks then)."""
    if not xs or any(abs(x) > 1e15 or x != int(x) for x in xs):
        return None
    low, high = int(min(xs)), int(max(xs))
    span = high - low
    if span == 0:
        return [low]
    wanted = max(2, min(10, width // 10))
    step = max(1, math.ceil(span / (wanted - 1)))
    for nice in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if nice >= step:
            step = nice
            break
    else:
        magnitude = 10 ** int(math.log10(step))
        step = math.ceil(step / magnitude) * magnitude
    first = low - low % step if low % step else low
    ticks = list(range(first, high + 1, step))
    return [t for t in ticks if t >= low] or [low]


def chart(series: list[dict[str, Any]], width: int, height: int, plain: bool, log: bool = False,
          xlabel: str = "", ylabel: str = "") -> Any:
    """A Rich renderable: a plotext chart of ``series`` plus a legend line."""
    series = [s for s in series if isinstance(s, dict)][:MAX_SERIES]
    prepared = []
    skipped = 0
    for s in series:
        xs, ys, bad = _series_points(s, log)
        skipped += bad
        if xs:
            prepared.append((clean(s.get("label") or "", 40), xs, ys))
    if not prepared:
        return Text("(nothing to plot: no finite values" + (" above 0 for a log scale" if log else "") + ")",
                    style="dim")
    import plotext as plt

    single = len(prepared) == 1
    with _LOCK:
        fig = plt.figure
        fig.clear()
        fig.theme("colorless" if plain else "simple")
        fig.plot_size(max(20, width), max(5, height))
        for i, (label, xs, ys) in enumerate(prepared):
            if len(xs) == 1:  # one point: draw it as a short flat segment, so it shows
                xs, ys = [xs[0], xs[0] + 1], [ys[0], ys[0]]
            symbol = "braille" if (single or not plain) else SERIES_MARKS[i % len(SERIES_MARKS)]
            marker = plt.marker(symbol) if plain else plt.marker(symbol, pixel=_PLOT_COLORS[i % len(_PLOT_COLORS)])
            fig.draw(fig.signal(xs, ys, marker=marker).lines())
        if log:
            fig.ruler(axis="y").scale("log")
        ticks = integer_ticks([x for _, xs, _ in prepared for x in xs], width)
        if ticks:
            fig.ruler(axis="x").ticks(ticks, [str(t) for t in ticks])
        fig.legend(active=False)
        try:
            rendered = str(fig.build())
        except (ValueError, OverflowError, ZeroDivisionError, IndexError):
            # plotext cannot scale values near ±1e308 (or a degenerate range): say what the
            # values are instead of drawing them.
            rendered = None
        fig.clear()
    if rendered is None:
        values = [y for _, _, ys in prepared for y in ys]
        return Text(f"(cannot plot values this large: from {fmt(min(values))} to {fmt(max(values))})", style="dim")
    body = Text.from_ansi(rendered.rstrip("\n"))
    if plain:
        body.stylize("")  # from_ansi kept plotext's codes as styles; plain mode drops them
        body = Text(body.plain)
    legend = Text()
    for i, (label, xs, ys) in enumerate(prepared):
        if i:
            legend.append("   ")
        if plain:
            legend.append(("⠿" if single else SERIES_MARKS[i % len(SERIES_MARKS)]) + " ")
        else:
            legend.append("━━ ", style=f"color({_PLOT_COLORS[i % len(_PLOT_COLORS)]})")
        legend.append(label or f"series {i + 1}")
        legend.append(f" (last {fmt(ys[-1])})", style="dim")
    notes = []
    if log:
        notes.append("log scale")
    if xlabel or ylabel:
        notes.append(f"x: {clean(xlabel, 30) or 'step'}, y: {clean(ylabel, 30) or 'value'}")
    if skipped:
        notes.append(f"{skipped} non-finite{' or non-positive' if log else ''} point(s) not drawn")
    parts: list[Any] = [body, legend]
    if notes:
        parts.append(Text("; ".join(notes), style="dim"))
    return Group(*parts)


def render(data: dict[str, Any], title: str, width: int) -> Adaptive:
    series = data.get("series")
    if not isinstance(series, list):
        raise ValueError("curve data has no 'series' list")
    height = int(data.get("height") or 16)
    log = bool(data.get("log"))

    def build(plain: bool, w: int) -> Any:
        return Group(title_text(title, "curve"),
                     chart(series, w, min(max(height, 6), 40), plain, log,
                           str(data.get("xlabel") or ""), str(data.get("ylabel") or "")))

    return Adaptive(build, width)


def metrics_series(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group metric events by name into series; a missing step means "the next one"."""
    by_name: dict[str, dict[str, list[float]]] = {}
    for event in metrics:
        if not isinstance(event, dict):
            continue
        name = str(event.get("name") or "metric")
        value = number(event.get("value"))
        if value is None:
            continue
        series = by_name.setdefault(name, {"x": [], "y": []})
        step = number(event.get("step"))
        if step is None:
            step = series["x"][-1] + 1 if series["x"] else 0
        series["x"].append(step)
        series["y"].append(value)
    return [{"label": name, "x": s["x"], "y": s["y"]} for name, s in by_name.items()]


def render_metrics(metrics: list[dict[str, Any]], width: int, height: int) -> Adaptive:
    series = metrics_series(metrics)

    def build(plain: bool, w: int) -> Any:
        if not series:
            return Text("(no metrics yet: call show.metric(name, value) in your code)", style="dim")
        # the legend (and a note line) take two rows of the requested height
        return chart(series, w, max(5, height - 2), plain)

    return Adaptive(build, width)
