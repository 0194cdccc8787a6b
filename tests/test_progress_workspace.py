"""The tutor never deletes or overwrites an exercise file the learner has edited."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.course.loader import load_course
from tutor.course.model import Exercise
from tutor.workspace import ensure_exercise_file, exercise_file, reset_to_starter, starter_text


@pytest.fixture
def exercise() -> Exercise:
    found = load_course().find_exercise("1.3/standardize")
    assert found is not None
    return found


def test_a_new_file_starts_from_the_starter(tmp_path: Path, exercise: Exercise) -> None:
    path = ensure_exercise_file(tmp_path, exercise)
    assert path == exercise_file(tmp_path, exercise)
    assert path.read_text() == starter_text(exercise)


def test_an_edited_file_is_never_overwritten(tmp_path: Path, exercise: Exercise) -> None:
    path = ensure_exercise_file(tmp_path, exercise)
    path.write_text("# my own solution\n")
    for _ in range(3):
        assert ensure_exercise_file(tmp_path, exercise) == path
    assert path.read_text() == "# my own solution\n"


def test_an_empty_edited_file_is_still_the_learners(tmp_path: Path, exercise: Exercise) -> None:
    path = ensure_exercise_file(tmp_path, exercise)
    path.write_text("")
    ensure_exercise_file(tmp_path, exercise)
    assert path.read_text() == ""


def test_reset_keeps_every_previous_version(tmp_path: Path, exercise: Exercise) -> None:
    path = ensure_exercise_file(tmp_path, exercise)
    path.write_text("# attempt one\n")
    first = reset_to_starter(tmp_path, exercise)
    assert path.read_text() == starter_text(exercise)
    assert first is not None and first.read_text() == "# attempt one\n"
    path.write_text("# attempt two\n")
    second = reset_to_starter(tmp_path, exercise)
    assert second is not None and second != first
    assert first.read_text() == "# attempt one\n" and second.read_text() == "# attempt two\n"


def test_reset_of_an_untouched_file_makes_no_backup(tmp_path: Path, exercise: Exercise) -> None:
    ensure_exercise_file(tmp_path, exercise)
    assert reset_to_starter(tmp_path, exercise) is None
    assert sorted(p.name for p in (tmp_path / "1.3").iterdir()) == ["standardize.py"]
