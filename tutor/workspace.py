"""The learner's exercise files: plain ``.py`` files in a workspace folder.

``WORKSPACE/1.3/standardize.py`` is created from the starter on first use. Once it exists it
is the learner's: the tutor never overwrites it. Resetting to the starter first keeps the
previous version as ``standardize.py.~N~`` next to it.
"""

from __future__ import annotations

from pathlib import Path

from tutor.course.model import Exercise
from tutor.storage import atomic_write_text

HEADER = "# {ref}: {title}\n# Edit this file, then check it: pytorch-tutor check {ref}\n\n"


def exercise_file(workspace: Path, exercise: Exercise) -> Path:
    return workspace / exercise.lesson_id / f"{exercise.id}.py"


def starter_text(exercise: Exercise) -> str:
    return HEADER.format(ref=exercise.ref, title=exercise.title) + exercise.starter.rstrip() + "\n"


def ensure_exercise_file(workspace: Path, exercise: Exercise) -> Path:
    """The learner's file for ``exercise``, created from the starter if it does not exist."""
    path = exercise_file(workspace, exercise)
    if not path.exists():
        atomic_write_text(path, starter_text(exercise))
    return path


def is_edited(path: Path, exercise: Exercise) -> bool:
    try:
        return path.read_text(encoding="utf-8") != starter_text(exercise)
    except OSError:
        return False


def backup_path(path: Path) -> Path:
    n = 1
    while True:
        candidate = path.with_name(f"{path.name}.~{n}~")
        if not candidate.exists():
            return candidate
        n += 1


def reset_to_starter(workspace: Path, exercise: Exercise) -> Path | None:
    """Restore the starter; the previous version is kept. Returns the backup's path, if any."""
    path = exercise_file(workspace, exercise)
    backup = None
    if path.exists() and is_edited(path, exercise):
        backup = backup_path(path)
        backup.write_bytes(path.read_bytes())
    atomic_write_text(path, starter_text(exercise))
    return backup
