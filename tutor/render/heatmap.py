"""Heatmaps: confusion matrices, attention maps, any 2-D grid of numbers.

Small grids print their numbers (coloured background, or a ramp character without colour);
large ones print one or two cells per value. The ramp (`` .:-=+*#%@``) always carries the
magnitude, so a heatmap reads the same with ``NO_COLOR``.

Data schema: ``values`` (2-D list, at most 64×64 — the learner side pools bigger ones),
``row_labels``, ``col_labels`` (optional lists of strings), ``xlabel``, ``ylabel``,
``shape`` (the original shape), ``integer`` (format as counts).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tutor.render.common import (Adaptive, clean, finite, fmt, heat_style, number, ramp_char,
                                 ramp_legend, shape_str, title_text)

#: Grids up to this many rows print their numbers (if they also fit the width).
NUMBER_ROWS = 16
MAX_ROWS = 48


def _pool_columns(matrix: list[list[float | None]], cols: int) -> list[list[float | None]]:
    """Average neighbouring columns so that each row has ``cols`` values."""
    out = []
    for row in matrix:
        n = len(row)
        new = []
        for j in range(cols):
            chunk = [v for v in row[j * n // cols:(j + 1) * n // cols] if v is not None]
            new.append(sum(chunk) / len(chunk) if chunk else None)
        out.append(new)
    return out


def _pool_rows(matrix: list[list[float | None]], rows: int) -> list[list[float | None]]:
    n = len(matrix)
    if n <= rows:
        return matrix
    out = []
    for i in range(rows):
        block = matrix[i * n // rows:(i + 1) * n // rows]
        cols = len(block[0]) if block else 0
        new = []
        for j in range(cols):
            chunk = [r[j] for r in block if j < len(r) and r[j] is not None]
            new.append(sum(chunk) / len(chunk) if chunk else None)  # type: ignore[operator]
        out.append(new)
    return out


def render(data: dict[str, Any], title: str, width: int) -> Adaptive:
    raw = data.get("values")
    if isinstance(raw, list) and (not raw or all(isinstance(r, list) and not r for r in raw)):
        return Text(f"heatmap {title}: empty (shape {clean(data.get('shape'), 30)})", style="dim")  # type: ignore[return-value]
    if not isinstance(raw, list) or not all(isinstance(r, list) for r in raw):
        raise ValueError("heatmap data has no 2-D 'values'")
    matrix = [[number(v) for v in row] for row in raw]
    flat = finite(v for row in matrix for v in row)
    lo = number(data.get("lo")) if data.get("lo") is not None else (min(flat) if flat else 0.0)
    hi = number(data.get("hi")) if data.get("hi") is not None else (max(flat) if flat else 0.0)
    lo = lo if lo is not None else 0.0
    hi = hi if hi is not None else 0.0
    row_labels = [clean(x, 12) for x in (data.get("row_labels") or [])]
    col_labels = [clean(x, 12) for x in (data.get("col_labels") or [])]
    integer = bool(data.get("integer"))
    ncols = max(len(r) for r in matrix)

    def numbers_fit(w: int) -> int:
        cell = max([len(fmt(v if not integer or v is None else int(v))) for row in matrix for v in row]
                   + [len(c) for c in col_labels] + [1]) + 2
        label_w = max([len(r) for r in row_labels] + [len(str(len(matrix)))]) + 1
        return cell if len(matrix) <= NUMBER_ROWS and label_w + ncols * (cell + 1) <= w else 0

    def value_text(v: float | None) -> str:
        if v is None:
            return "nan"
        return str(int(round(v))) if integer else fmt(v)

    def build(plain: bool, w: int) -> Any:
        head = title_text(title, "heatmap")
        head.append(f"  {shape_str(data.get('shape') or [len(matrix), ncols])}", style="dim")
        parts: list[Any] = [head]
        if data.get("ylabel") or data.get("xlabel"):
            parts.append(Text(f"rows: {clean(data.get('ylabel') or '', 30) or '-'}   "
                              f"columns: {clean(data.get('xlabel') or '', 30) or '-'}", style="dim"))
        if numbers_fit(w):
            table = Table.grid(padding=(0, 1))
            table.add_column(justify="right", style="dim")
            for _ in range(ncols):
                table.add_column(justify="right")
            if col_labels:
                table.add_row("", *[Text(c, style="dim") for c in col_labels[:ncols]]
                              + [""] * (ncols - len(col_labels[:ncols])))
            for i, row in enumerate(matrix):
                label = row_labels[i] if i < len(row_labels) else str(i)
                cells = []
                for v in row:
                    if plain:
                        cells.append(Text(f"{value_text(v)} {ramp_char(v, lo, hi)}"))
                    else:
                        cells.append(Text(f" {value_text(v)} ", style=heat_style(v, lo, hi)))
                table.add_row(label, *cells)
            parts.append(table)
        else:
            label_w = max([len(r) for r in row_labels[:MAX_ROWS]] + [len(str(len(matrix)))]) + 1
            room = max(4, w - label_w)
            cell_w = 2 if ncols * 2 <= room else 1
            grid = matrix if ncols * cell_w <= room else _pool_columns(matrix, room // cell_w)
            pooled_rows = len(grid) > MAX_ROWS
            grid = _pool_rows(grid, MAX_ROWS)
            for i, row in enumerate(grid):
                label = row_labels[i] if (not pooled_rows and i < len(row_labels)) else str(i if not pooled_rows else i * len(matrix) // len(grid))
                line = Text(label.rjust(label_w - 1) + " ", style="dim")
                for v in row:
                    if plain:
                        line.append(ramp_char(v, lo, hi) * cell_w)
                    else:
                        line.append(" " * cell_w, style=heat_style(v, lo, hi))
                line.stylize("", 0)
                parts.append(line)
            if grid is not matrix and (len(grid) != len(matrix) or len(grid[0]) != ncols):
                parts.append(Text(f"(averaged down to {len(grid)}×{len(grid[0])} cells to fit)", style="dim"))
        parts.append(ramp_legend(lo, hi, plain))
        return Group(*parts)

    return Adaptive(build, width)
