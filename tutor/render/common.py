"""Shared pieces of the renderers: colour-or-plain switching, number formatting, ramps.

Every renderer returns an :class:`Adaptive` renderable. Rich asks it to draw itself for a
given console, and it decides *then* whether colour is allowed (``NO_COLOR``, a dumb
terminal, a file) and how wide it may be — so one artifact renders well in the TUI, in
``pytorch-tutor run`` on a 256-colour terminal, and piped into a file.

Nothing here imports torch; artifact data is plain JSON (lists, numbers, strings).
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Iterable

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

#: Character ramp from "low" to "high": readable with no colour at all.
RAMP = " .:-=+*#%@"
#: Series colours (distinct on dark and light backgrounds) and their colour-free markers.
SERIES_COLORS = ("cyan", "magenta", "yellow", "green", "blue", "red", "bright_white", "bright_black")
SERIES_MARKS = ("•", "+", "x", "o", "*", "#", "%", "@")
SPARK = "▁▂▃▄▅▆▇█"

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")


def clean(value: Any, limit: int = 200) -> str:
    """A learner-provided string made safe to print: no control characters, bounded."""
    text = _CONTROL.sub("?", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain_mode(console: Console) -> bool:
    """True when colour must not carry meaning: NO_COLOR, no colour system, or a file."""
    return bool(console.no_color) or console.color_system is None


class Adaptive:
    """A renderable built lazily from ``build(plain, width)`` when Rich draws it."""

    def __init__(self, build: Callable[[bool, int], Any], width: int | None = None) -> None:
        self._build = build
        self._width = width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width if self._width is None else max(20, min(self._width, options.max_width))
        yield self._build(plain_mode(console), width)

    def build(self, plain: bool, width: int) -> Any:
        """Build directly (for callers that want the inner renderable)."""
        return self._build(plain, width)


def number(value: Any) -> float | None:
    """A float from an artifact value (the protocol sends NaN/inf as strings)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if value in ("nan", "inf", "-inf"):
        return float(value)
    return None


def fmt(value: Any, digits: int = 4) -> str:
    """A compact number: integers as is, floats with ``digits`` significant digits."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    x = number(value)
    if x is None:
        return clean(value, 20)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if x == int(x) and abs(x) < 1e6:
        return f"{x:.1f}" if abs(x) < 1e4 else str(int(x))
    mag = abs(x)
    if mag >= 1e5 or mag < 1e-3:
        return f"{x:.{max(1, digits - 2)}e}"
    return f"{x:.{digits}g}"


def fmt_count(n: Any) -> str:
    try:
        return f"{int(n):,}"
    except (TypeError, ValueError):
        return "?"


def fmt_bytes(n: float) -> str:
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{sign}{n:.0f} {unit}" if unit == "B" else f"{sign}{n:.1f} {unit}"
        n /= 1024
    return f"{sign}{n:.1f} GiB"  # pragma: no cover


def fmt_us(us: float) -> str:
    """Microseconds as a readable duration."""
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e3:
        return f"{us / 1e3:.2f} ms"
    return f"{us:.0f} µs"


def shape_str(shape: Iterable[Any] | None) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(list(shape)) == 1 else "") + ")"


def finite(values: Iterable[Any]) -> list[float]:
    out = []
    for v in values:
        x = number(v)
        if x is not None and math.isfinite(x):
            out.append(x)
    return out


def level(x: float | None, lo: float, hi: float, steps: int) -> int:
    """Which of ``steps`` buckets ``x`` falls in between ``lo`` and ``hi``."""
    if x is None or not math.isfinite(x) or not math.isfinite(lo) or not math.isfinite(hi):
        return 0
    if hi <= lo:
        return steps // 2
    # Halved first: hi - lo overflows to inf for values near ±1e308.
    frac = (x / 2 - lo / 2) / (hi / 2 - lo / 2)
    if not math.isfinite(frac):
        return 0
    return max(0, min(steps - 1, int(frac * steps)))


def whole(value: Any, default: int = 0) -> int:
    """An int from an artifact value; NaN, ±inf and non-numbers become ``default``."""
    x = number(value)
    if x is None or not math.isfinite(x):
        return default
    return int(x)


def byte(value: Any) -> int:
    """A pixel value clamped to 0..255 (NaN is 0, +inf 255)."""
    x = number(value)
    if x is None or math.isnan(x):
        return 0
    return 255 if x >= 255 else 0 if x <= 0 else int(x)


def ramp_char(x: float | None, lo: float, hi: float) -> str:
    return RAMP[level(x, lo, hi, len(RAMP))]


def heat_rgb(frac: float) -> tuple[int, int, int]:
    """A perceptually ordered blue -> yellow colour map (viridis-like), frac in [0, 1]."""
    stops = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
    frac = max(0.0, min(1.0, frac))
    pos = frac * (len(stops) - 1)
    i = min(int(pos), len(stops) - 2)
    t = pos - i
    a, b = stops[i], stops[i + 1]
    return tuple(round(a[k] + (b[k] - a[k]) * t) for k in range(3))  # type: ignore[return-value]


def heat_style(x: float | None, lo: float, hi: float) -> str:
    """A background colour for a value, with a readable foreground."""
    if x is None or not math.isfinite(x):
        return "bold red"
    frac = 0.5 if hi <= lo else (x - lo) / (hi - lo)
    r, g, b = heat_rgb(frac)
    fg = "black" if frac > 0.55 else "white"
    return f"{fg} on rgb({r},{g},{b})"


def ramp_legend(lo: float, hi: float, plain: bool) -> Text:
    """``low  .:-=+*#%@ high`` — what the ramp characters (and colours) mean."""
    line = Text(f"{fmt(lo)} ", style="dim")
    for i, ch in enumerate(RAMP):
        if plain:
            line.append(ch if ch != " " else "·")
        else:
            line.append(" ", style=heat_style(i / (len(RAMP) - 1), 0.0, 1.0))
    line.append(f" {fmt(hi)}", style="dim")
    return line


def title_text(title: str, kind: str) -> Text:
    text = Text()
    text.append(f"{kind} ", style="bold cyan")
    if title:
        text.append(clean(title, 80), style="bold")
    return text


def downsample(values: list[Any], limit: int) -> list[Any]:
    """At most ``limit`` evenly spaced items, always keeping the last one."""
    n = len(values)
    if n <= limit or limit < 2:
        return list(values[:limit]) if limit < 2 else list(values)
    step = (n - 1) / (limit - 1)
    return [values[round(i * step)] for i in range(limit)]
