"""Images with half-block cells: each character is two pixels stacked (``▀`` with the top
pixel as foreground and the bottom one as background). That needs only truecolour/256
colours — no terminal graphics protocol — so it works over SSH and inside tmux. Without
colour, a grey-level character ramp draws the same picture.

Data schema: ``images`` (list of ``{"height", "width", "channels": 1|3, "pixels": [uint8,
row-major HWC]}``), ``labels`` (one string per image, optional), ``total`` (images in the
learner's batch before it was capped).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.style import Style
from rich.text import Text

from tutor.render.common import RAMP, Adaptive, byte, clean, title_text

Pixel = tuple[int, int, int]


#: Images are decoded at most this many pixels wide (no terminal is wider), sampling
#: rows and columns as they are read, so a huge image costs no more than a big one.
MAX_DECODE_W = 256


def _pixels(image: dict[str, Any]) -> tuple[int, int, list[list[Pixel]]]:
    h, w, c = int(image["height"]), int(image["width"]), int(image.get("channels") or 1)
    flat = image["pixels"]
    if c not in (1, 3) or len(flat) != h * w * c:
        raise ValueError(f"image of {h}x{w}x{c} carries {len(flat)} values")
    scale = min(1.0, MAX_DECODE_W / w) if w else 1.0
    ys = sorted({min(h - 1, int(y / scale)) for y in range(max(1, round(h * scale)))}) if h else []
    xs = sorted({min(w - 1, int(x / scale)) for x in range(max(1, round(w * scale)))}) if w else []
    rows = []
    for y in ys:
        row = []
        for x in xs:
            i = (y * w + x) * c
            if c == 1:
                v = byte(flat[i])
                row.append((v, v, v))
            else:
                row.append(tuple(byte(flat[i + k]) for k in range(3)))  # type: ignore[misc]
        rows.append(row)
    return h, w, rows


def _fit(rows: list[list[Pixel]], max_w: int) -> list[list[Pixel]]:
    """Nearest-neighbour shrink so the image is at most ``max_w`` pixels (= columns) wide."""
    h, w = len(rows), len(rows[0]) if rows else 0
    if w <= max_w or w == 0:
        return rows
    scale = max_w / w
    new_h = max(1, round(h * scale))
    return [[rows[min(h - 1, int(y / scale))][min(w - 1, int(x / scale))] for x in range(max_w)]
            for y in range(new_h)]


def _grey(p: Pixel) -> float:
    return (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) / 255.0


def image_lines(rows: list[list[Pixel]], plain: bool) -> list[Text]:
    """One Text per pair of pixel rows."""
    lines = []
    for y in range(0, len(rows), 2):
        top = rows[y]
        bottom = rows[y + 1] if y + 1 < len(rows) else None
        line = Text()
        for x, p in enumerate(top):
            q = bottom[x] if bottom is not None else None
            if plain:
                g = _grey(p) if q is None else (_grey(p) + _grey(q)) / 2
                line.append(RAMP[min(len(RAMP) - 1, int(g * len(RAMP)))])
            else:
                style = Style(color=f"rgb({p[0]},{p[1]},{p[2]})",
                              bgcolor=None if q is None else f"rgb({q[0]},{q[1]},{q[2]})")
                line.append("▀", style=style)
        lines.append(line)
    return lines


def render(data: dict[str, Any], title: str, width: int) -> Adaptive:
    images = [im for im in (data.get("images") or []) if isinstance(im, dict)]
    labels = [clean(label, 40) for label in (data.get("labels") or [])]
    decoded = [_pixels(im)[2] for im in images]
    total = int(data.get("total") or len(images))

    def build(plain: bool, w: int) -> Any:
        head = title_text(title, "image")
        if not decoded:
            return Group(head, Text("(no images)", style="dim"))
        shape = f"{len(decoded[0])}×{len(decoded[0][0]) if decoded[0] else 0}"
        head.append(f"  {total} image{'s' if total != 1 else ''}, shown at up to {shape} px", style="dim")
        # tiles: (lines, width); a batch becomes a grid that wraps at the console width
        tiles = []
        for i, rows in enumerate(decoded):
            fitted = _fit(rows, w if len(decoded) == 1 else max(4, min(w, 64)))
            lines = image_lines(fitted, plain)
            tile_w = len(fitted[0]) if fitted else 0
            label = labels[i] if i < len(labels) else (f"#{i}" if len(decoded) > 1 else "")
            if label:
                lines.append(Text(label[:tile_w] if tile_w >= 2 else label[:2], style="dim"))
            tiles.append((lines, max(tile_w, 1)))
        out: list[Any] = [head]
        row: list[tuple[list[Text], int]] = []
        used = 0
        for tile in tiles + [None]:  # type: ignore[list-item]
            if tile is not None and (not row or used + 1 + tile[1] <= w):
                used += (1 if row else 0) + tile[1]
                row.append(tile)
                continue
            height = max(len(lines) for lines, _ in row)
            for y in range(height):
                line = Text()
                for j, (lines, tw) in enumerate(row):
                    if j:
                        line.append(" ")
                    piece = lines[y] if y < len(lines) else Text()
                    line.append_text(piece)
                    line.append(" " * (tw - piece.cell_len))
                out.append(line)
            if tile is not None:
                row, used = [tile], tile[1]
        if total > len(decoded):
            out.append(Text(f"(first {len(decoded)} of {total} shown)", style="dim"))
        return Group(*out)

    return Adaptive(build, width)
