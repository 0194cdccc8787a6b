"""Lesson assets: proving that what a lesson ships is what it says (``lint``).

Hashing is left out of loading (loading every lesson must stay fast); ``lint`` reads each
file once: it must exist, be no larger than its cap, hash to its ``sha256``, and the script
named in ``made_by`` must exist in the repository the lesson lives in.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_made_by(lesson_path: str, made_by: str) -> Path | None:
    """``made_by`` is relative to the repository root: look in each folder above the lesson."""
    for folder in Path(lesson_path).resolve().parents:
        candidate = folder / made_by
        if candidate.is_file():
            return candidate
    return None


def asset_problems(lesson: Any) -> list[str]:
    """One line per problem with the lesson's assets, naming the file, line and asset."""
    problems: list[str] = []
    for asset in lesson.assets:
        where = f"{lesson.path}:{asset.line}: assets[{asset.name}]"
        path = Path(asset.path)
        if not path.is_file():
            problems.append(f"{where}: no such file {asset.file!r}")
            continue
        size = path.stat().st_size
        if size > asset.max_bytes:
            problems.append(f"{where}: {asset.file} is {size} bytes, over its max_bytes {asset.max_bytes}")
        actual = sha256_of(path)
        if actual != asset.sha256:
            problems.append(f"{where}: sha256 of {asset.file} is {actual}, the lesson says {asset.sha256} "
                            f"(remake it with {asset.made_by}, or update the hash if the change is intended)")
        if find_made_by(lesson.path, asset.made_by) is None:
            problems.append(f"{where}: made_by {asset.made_by!r} is not in the repository")
    return problems
