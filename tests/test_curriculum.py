"""The shipped curriculum passes the authoring gate: every lesson loads, every reference
solution passes its checks within budget, every starter fails with a check failure, and
(in the chapters that meet the v2 bar) every authored mistake fails with its diagnosis and
every authored alternative passes, over several seeds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.course.loader import load_course

ROOT = Path(__file__).resolve().parents[1]
COURSE = load_course()

#: Chapters whose lessons are on format v2 with authored mistakes, alternatives and predict
#: questions (issue 14). A chapter joins when all of its lessons meet the bar below.
CHAPTERS_AT_V2_BAR = set(range(1, 12))   # every chapter: lessons 4–11 were written to the bar
MIN_MISTAKES = 4
MIN_ALTERNATIVES = 2


def code_exercises(lesson):
    return [e for e in lesson.exercises if e.kind != "predict"]


def test_curriculum_loads_without_errors() -> None:
    assert COURSE.errors == [], "\n".join(map(str, COURSE.errors))


@pytest.mark.parametrize("lesson", COURSE.lessons, ids=lambda lesson: lesson.id)
def test_lesson_meets_the_teaching_bar(lesson) -> None:
    assert len(code_exercises(lesson)) >= 2, "every lesson has at least two checked exercises"
    for exercise in code_exercises(lesson):
        assert len(exercise.hints) >= 2, f"{exercise.ref}: at least two levels of hints"
        kinds = {c["kind"] for c in exercise.checks}
        assert kinds - {"source", "stdout"}, f"{exercise.ref}: needs a check that looks at results, not only source"


V2_LESSONS = [lesson for lesson in COURSE.lessons if lesson.chapter in CHAPTERS_AT_V2_BAR]


@pytest.mark.parametrize("lesson", V2_LESSONS, ids=lambda lesson: lesson.id)
def test_lesson_meets_the_v2_bar(lesson) -> None:
    assert lesson.format_version == 2, f"{lesson.id}: format_version 2 (import mode, judge-side cases)"
    predicts = [e for e in lesson.exercises if e.kind == "predict"]
    assert predicts, f"{lesson.id}: at least one predict question"
    assert lesson.exercises[-1].kind != "predict", f"{lesson.id}: a predict question comes before what it prepares"
    for exercise in code_exercises(lesson):
        assert len(exercise.mistakes) >= MIN_MISTAKES, f"{exercise.ref}: at least {MIN_MISTAKES} authored mistakes"
        assert len(exercise.alternatives) >= MIN_ALTERNATIVES, \
            f"{exercise.ref}: at least {MIN_ALTERNATIVES} authored alternatives"
        for mistake in exercise.mistakes:
            assert mistake.expect, f"{exercise.ref}: mistake {mistake.name!r} names the words its diagnosis must contain"
        codes = [s.code for s in exercise.mistakes + exercise.alternatives] + [exercise.solution, exercise.starter]
        assert len(set(codes)) == len(codes), f"{exercise.ref}: every mistake and alternative is a different file"


CHAPTER_FOLDERS = sorted({ROOT / "lessons" / Path(lesson.path).parent.name for lesson in COURSE.lessons})


@pytest.mark.long
@pytest.mark.serial   # references must finish within their time budgets: nothing else running
@pytest.mark.slow
@pytest.mark.timeout(1800)   # five seeds of every exercise, its mistakes and alternatives: minutes, not seconds
@pytest.mark.parametrize("folder", CHAPTER_FOLDERS, ids=lambda folder: folder.name)
def test_lint_passes_on_every_chapter(folder: Path) -> None:
    # One chapter per test, so a failure names its chapter and the parts can be shared out.
    # Fixed seeds keep CI deterministic (7..11); mistakes must fail and alternatives pass on
    # every one of them. Authors sweep other seeds with `lint --seeds N --seed S`.
    proc = subprocess.run([sys.executable, "-m", "tutor", "lint", "--json", "--seed", "7", "--seeds", "5", str(folder)],
                          capture_output=True, text=True, timeout=1800, cwd=ROOT)
    report = json.loads(proc.stdout)
    problems = [f"{e['id']}: {p}" for lesson in report["lessons"] for e in lesson["exercises"] for p in e["problems"]]
    problems += [err for lesson in report["lessons"] for err in lesson["errors"]]
    assert report["ok"] and proc.returncode == 0, "\n".join(problems) or proc.stderr[-2000:]
    in_folder = [lesson for lesson in COURSE.lessons if Path(lesson.path).parent.name == folder.name]
    ran = sum(len(lesson["exercises"]) for lesson in report["lessons"])
    assert ran == sum(len(lesson.exercises) for lesson in in_folder)
    proven = {e["id"]: e for lesson in report["lessons"] for e in lesson["exercises"]}
    for lesson in in_folder:
        if lesson.chapter not in CHAPTERS_AT_V2_BAR:
            continue
        for exercise in code_exercises(lesson):
            verdicts = proven[exercise.ref]
            if verdicts.get("skipped"):
                # `start.py test` installs every extra (`dev` includes `all`): only an exercise
                # that needs a device this machine lacks may be skipped here.
                assert "pip install" not in verdicts["skipped"], f"{exercise.ref}: {verdicts['skipped']}"
                continue
            assert set(verdicts["mistakes"].values()) == {"fails"}, f"{exercise.ref}: {verdicts['mistakes']}"
            assert set(verdicts["alternatives"].values()) == {"passes"}, f"{exercise.ref}: {verdicts['alternatives']}"
