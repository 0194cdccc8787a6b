"""Time spent per exercise, as the TUI sees it (an exercise on screen counts, capped per
visit), kept in ``<data>/time-spent.json`` beside the progress file: a plain map from
exercise id to seconds. Separate from ``progress.json`` so that merely looking at an
exercise never marks it attempted, and a lost or damaged file only loses these figures.
"""

from __future__ import annotations

import json
from pathlib import Path

FILE_NAME = "time-spent.json"


def load(data_dir: Path) -> dict[str, float]:
    try:
        raw = json.loads((Path(data_dir) / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(k): float(v) for k, v in raw.items() if isinstance(v, (int, float)) and v >= 0}


def add(data_dir: Path, ref: str, seconds: float) -> None:
    """Add ``seconds`` to ``ref``'s total (best effort: a failed write is not an error)."""
    from tutor.storage import atomic_write_json

    totals = load(data_dir)
    totals[ref] = round(totals.get(ref, 0.0) + max(0.0, float(seconds)), 1)
    try:
        atomic_write_json(Path(data_dir) / FILE_NAME, totals)
    except OSError:
        pass


def human(seconds: float) -> str:
    """``42 s``, ``7 min``, ``1 h 05 min``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
