"""Tensors: a header (shape, dtype, device, strides, requires_grad) and then either the
values (small tensors; 2-D ones heat-coloured), or summary statistics, a histogram and a
corner preview (large ones). Output is bounded whatever the tensor's size.

Data schema (docs/visuals.md): ``shape, dtype, device, strides, requires_grad, contiguous,
grad_fn, numel, values`` (nested lists, present when the whole tensor was sent),
``corner`` (2-D preview of a large tensor), ``stats`` and ``hist``.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tutor.render.common import (Adaptive, clean, finite, fmt, fmt_count, heat_style, number,
                                 shape_str, title_text)

#: At most this many rows of values, and slices of a >2-D tensor, are drawn.
MAX_ROWS = 12
MAX_SLICES = 3
HIST_ROWS = 10


def header(data: dict[str, Any], title: str) -> Text:
    line = title_text(title, "tensor")
    if title:
        line.append("  ")
    line.append(shape_str(data.get("shape")), style="bold")
    line.append(f"  {clean(data.get('dtype', '?'), 30)}")
    line.append(f"  {clean(data.get('device', '?'), 20)}")
    if data.get("strides") is not None:
        line.append(f"  strides {shape_str(data.get('strides'))}", style="dim")
    if data.get("contiguous") is False:
        line.append("  non-contiguous", style="yellow")
    if data.get("requires_grad"):
        line.append("  requires_grad", style="magenta")
    if data.get("grad_fn"):
        line.append(f"  grad_fn={clean(data['grad_fn'], 40)}", style="magenta")
    return line


def _cells(row: list[Any], col_limit: int) -> list[Any]:
    """The columns to show: all, or the first and last few with an ellipsis between."""
    if len(row) <= col_limit:
        return list(row)
    head = (col_limit + 1) // 2
    tail = col_limit - head - 1
    return list(row[:head]) + ["…"] + (list(row[-tail:]) if tail > 0 else [])


def _rows(matrix: list[list[Any]]) -> list[Any]:
    if len(matrix) <= MAX_ROWS:
        return list(matrix)
    head = MAX_ROWS // 2
    return list(matrix[:head]) + ["…"] + list(matrix[-(MAX_ROWS - head - 1):])


def matrix_table(matrix: list[list[Any]], plain: bool, width: int, lo: float, hi: float,
                 row_step: int = 1, min_cell: int = 0) -> Table:
    """A 2-D block of values; in colour each cell's background shows its magnitude (without
    colour the numbers speak for themselves). Row ``i`` is labelled ``i * row_step``."""
    texts = [[fmt(v) for v in row] for row in matrix if isinstance(row, list)]
    cell_w = max([len(t) for row in texts for t in row] + [1, min_cell]) + (0 if plain else 2)
    ncols = max([len(r) for r in matrix if isinstance(r, list)] + [0])
    idx_w = len(str(row_step * len(matrix))) + 1
    col_limit = max(2, (width - idx_w - 2) // (cell_w + 1))
    table = Table.grid(padding=(0, 1))
    table.add_column(justify="right", style="dim")
    for _ in _cells(list(range(ncols)), col_limit):
        table.add_column(justify="right", min_width=cell_w)
    for i, row in enumerate(_rows(matrix)):
        if row == "…":
            table.add_row("⋮", *["⋮" for _ in _cells(list(range(ncols)), col_limit)])
            continue
        index = row_step * _row_index(matrix, i)
        cells = []
        for v in _cells(row, col_limit):
            if v == "…":
                cells.append(Text("…", style="dim"))
                continue
            x = number(v)
            if plain:
                cells.append(Text(fmt(v)))
            else:
                cells.append(Text(f" {fmt(v)} ", style=heat_style(x, lo, hi) if x is not None else ""))
        table.add_row(str(index), *cells)
    return table


def _row_index(matrix: list[Any], shown: int) -> int:
    """Index in ``matrix`` of the ``shown``-th displayed row (rows elided in the middle)."""
    if len(matrix) <= MAX_ROWS:
        return shown
    head = MAX_ROWS // 2
    return shown if shown < head else len(matrix) - (MAX_ROWS - shown)


def _flatten(values: Any) -> list[Any]:
    if isinstance(values, list):
        out: list[Any] = []
        for v in values:
            out.extend(_flatten(v))
        return out
    return [values]


def _slices(values: Any, shape: list[int], prefix: tuple[int, ...] = ()) -> list[tuple[tuple[int, ...], Any]]:
    """(index prefix, 2-D block) for each trailing matrix of an n-D nested list."""
    if len(shape) <= 2:
        return [(prefix, values)]
    out = []
    for i, sub in enumerate(values):
        out.extend(_slices(sub, shape[1:], prefix + (i,)))
    return out


def small_values(data: dict[str, Any], plain: bool, width: int) -> list[Any]:
    values = data["values"]
    shape = list(data.get("shape") or [])
    flat = finite(_flatten(values))
    lo, hi = (min(flat), max(flat)) if flat else (0.0, 0.0)
    if not shape:
        return [Text(fmt(values), style="bold")]
    if len(shape) == 1:
        # a vector reads best as a row that wraps into rows of indices
        per_row = max(1, (width - 6) // (max([len(fmt(v)) for v in values] + [1]) + 3))
        matrix = [values[i:i + per_row] for i in range(0, len(values), per_row)] or [[]]
        table = matrix_table(matrix, plain, width, lo, hi, row_step=per_row)
        note = Text(f"(rows of {per_row}; the left column is the index of the row's first value)",
                    style="dim") if len(matrix) > 1 else None
        return [table] + ([note] if note else [])
    parts: list[Any] = []
    blocks = _slices(values, shape)
    for prefix, block in blocks[:MAX_SLICES]:
        if prefix:
            parts.append(Text("[" + ", ".join(str(i) for i in prefix) + ", :, :]", style="dim"))
        # one cell width for every slice, so the slices line up
        parts.append(matrix_table(block, plain, width, lo, hi, min_cell=max((len(fmt(v)) for v in _flatten(values)), default=1)))
    if len(blocks) > MAX_SLICES:
        parts.append(Text(f"… {len(blocks) - MAX_SLICES} more slice(s) not shown", style="dim"))
    return parts


def stats_line(stats: dict[str, Any]) -> Text:
    line = Text()
    for key in ("min", "max", "mean", "std"):
        if key in stats:
            line.append(f"{key} ", style="dim")
            line.append(f"{fmt(stats[key])}   ")
    for key, label in (("zeros", "zeros"), ("nan", "NaN"), ("inf", "inf")):
        count = stats.get(key)
        if count:
            line.append(f"{fmt_count(count)} {label}   ", style="red" if key != "zeros" else "dim")
    return line


def histogram(hist: dict[str, Any], plain: bool, width: int) -> Table:
    """Horizontal bars, one row per bin (``HIST_ROWS`` bins, merged from what was sent)."""
    counts = [int(c) for c in hist.get("counts") or []]
    lo, hi = number(hist.get("lo")) or 0.0, number(hist.get("hi")) or 0.0
    if len(counts) > HIST_ROWS:
        group = -(-len(counts) // HIST_ROWS)
        counts = [sum(counts[i:i + group]) for i in range(0, len(counts), group)]
    else:
        group = 1
    nbins_sent = len(hist.get("counts") or [])
    step = (hi - lo) / nbins_sent if nbins_sent else 0.0
    edges = [lo + i * group * step for i in range(len(counts))] + [hi]
    top = max(counts + [1])
    label_w = max(len(f"{fmt(e)}") for e in edges)
    bar_w = max(5, width - 2 * label_w - 16)
    table = Table.grid(padding=(0, 1))
    table.add_column(justify="right", style="dim")
    table.add_column()
    table.add_column(justify="right", style="dim")
    for i, c in enumerate(counts):
        n = round(c / top * bar_w)
        bar = "█" * n if c == 0 or n else "▏"
        table.add_row(f"{fmt(edges[i])} .. {fmt(edges[i + 1])}", Text(bar, style="" if plain else "cyan"),
                      fmt_count(c))
    return table


def render(data: dict[str, Any], title: str, width: int) -> Adaptive:
    values = data.get("values")
    if values is not None and not isinstance(values, (list, int, float)):
        raise ValueError("tensor 'values' must be a (nested) list of numbers")

    def build(plain: bool, w: int) -> Any:
        parts: list[Any] = [header(data, title)]
        if data.get("values") is not None:
            parts.extend(small_values(data, plain, w))
        else:
            parts.append(Text(f"{fmt_count(data.get('numel'))} elements: too many to print, summary below",
                              style="dim"))
        stats = data.get("stats") or {}
        if stats and (data.get("values") is None or (data.get("numel") or 0) > 16):
            parts.append(stats_line(stats))
        if data.get("values") is None:
            if data.get("hist") and (data["hist"].get("counts")):
                parts.append(Text("histogram", style="bold"))
                parts.append(histogram(data["hist"], plain, w))
            corner = data.get("corner")
            if isinstance(corner, list) and corner and isinstance(corner[0], list):
                flat = finite(_flatten(corner))
                lo, hi = (min(flat), max(flat)) if flat else (0.0, 0.0)
                parts.append(Text(f"top-left corner {clean(data.get('corner_index') or '', 40)}", style="bold"))
                parts.append(matrix_table(corner, plain, w, lo, hi))
        return Group(*parts)

    return Adaptive(build, width)
