"""tutor/ui/bench.py launches the real TUI under a pty and reads its first-screen figures.
(No timing assertions here: `pytorch-tutor bench` reports the figures against the budgets.)"""

from __future__ import annotations

from pathlib import Path

from tutor.course.loader import load_course
from tutor.ui import bench


def test_launch_reports_first_screen_memory_and_no_torch(tmp_path: Path):
    home = bench.prepare_home(tmp_path, returning=True)
    sample = bench.launch_once(home)
    assert sample["screen"] == "LessonScreen"  # a returning learner lands on the lesson
    assert sample["torch_imported"] is False
    assert 0 < sample["start_ms"] < 60_000
    assert 10 < sample["rss_mb"] < 1024
    # The first launch filled the course cache in the data dir: JSON (tutor/coursecache.py),
    # never a pickle that learner code could plant.
    data = Path(home["PYTORCH_TUTOR_DATA"])
    courses = [p for p in data.rglob("course-*.json") if ".lesson-" not in p.name and not p.name.endswith(".refs.json")]
    assert len(courses) == 1
    lesson_files = list(data.rglob("course-*.lesson-*.json"))
    assert len(lesson_files) == len(load_course().lessons)
    assert not list(data.rglob("*.pickle"))
    # The next start draws its first screen from one lesson's file and the refs: the whole
    # course, rich's Markdown and the output pane come after that frame.
    again = bench.launch_once(home)
    assert again["screen"] == "LessonScreen"
    assert again["loaded_before_first_paint"] == []


def test_measure_returns_the_two_bench_figures():
    figures = bench.measure(runs=1)
    assert set(figures) == {"tui_start_ms", "tui_rss_mb"}
    assert all(value > 0 for value in figures.values())
