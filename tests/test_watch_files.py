"""Noticing saves (tutor/filewatch.py) and where `watch` starts and goes next: no worker."""

from __future__ import annotations

import os
import select
import time
from pathlib import Path

import pytest

from tutor.context import Context
from tutor.filewatch import FileWatcher, filesystem_type, needs_polling
from tutor.plain import plain_console, strip_trailing, wrap_code_comments


def wait_readable(watcher: FileWatcher, timeout: float = 10.0) -> bool:
    ready, _, _ = select.select([watcher.fileno()], [], [], timeout)
    return bool(ready)


@pytest.mark.parametrize("poll", [False, True], ids=["inotify", "polling"])
def test_a_save_by_rename_is_noticed_and_other_files_are_not(tmp_path: Path, poll: bool) -> None:
    target = tmp_path / "ex.py"
    target.write_text("x = 1\n")
    watcher = FileWatcher(target, poll=poll, interval=0.05)
    try:
        assert watcher.method == ("polling" if poll else "inotify")
        time.sleep(0.2)  # let the watch settle
        (tmp_path / "other.py").write_text("unrelated\n")
        assert not wait_readable(watcher, 0.4), "a change to another file is not a save"
        tmp = tmp_path / ".ex.py.swp"
        tmp.write_text("x = 2\n")
        os.replace(tmp, target)  # how vim and VS Code save
        assert wait_readable(watcher)
        watcher.drain()
        assert not wait_readable(watcher, 0.2)
        target.write_text("x = 3\n")  # and an in-place write
        assert wait_readable(watcher)
    finally:
        watcher.close()


def test_network_file_systems_are_polled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert filesystem_type(tmp_path) is not None
    monkeypatch.setattr("tutor.filewatch.filesystem_type", lambda path: "nfs4")
    assert needs_polling(tmp_path)
    watcher = FileWatcher(tmp_path / "x.py")
    try:
        assert watcher.method == "polling"
    finally:
        watcher.close()


def fixture_ctx() -> Context:
    return Context(lesson_dirs=[str(Path(__file__).parent / "fixtures" / "ui_lessons")], builtin_lessons=False)


def test_watch_starts_where_the_learner_is_and_moves_on() -> None:
    from tutor.commands.watch_cmd import next_exercise, starting_point

    ctx = fixture_ctx()
    order = [ex.ref for ex in ctx.course.exercises]
    assert len(order) >= 2
    assert starting_point(ctx, None).ref == order[0]
    ctx.progress.record_attempt(order[0], True)
    assert starting_point(ctx, None).ref == order[1], "a passed exercise is skipped"
    ctx.progress.record_attempt(order[1], False)
    assert starting_point(ctx, None).ref == order[1], "the one last worked on, not yet passed"
    assert next_exercise(ctx, ctx.course.find_exercise(order[0])).ref == order[1]
    assert next_exercise(ctx, ctx.course.find_exercise(order[-1])).ref == order[1], \
        "after the last one: the first not yet passed"
    assert starting_point(ctx, order[-1]).ref == order[-1]
    for ref in order:
        ctx.progress.record_attempt(ref, True)
    assert next_exercise(ctx, ctx.course.find_exercise(order[0])) is None


def test_plain_output_has_no_trailing_blanks_and_no_guessed_wrap(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.table import Table

    monkeypatch.delenv("COLUMNS", raising=False)  # a plain pipe: no width given

    out_path = tmp_path / "out.txt"
    with out_path.open("w") as f:
        out = plain_console(file=f)
        table = Table(title="a title", show_header=False, box=None)
        table.add_column()
        table.add_column()
        table.add_row("short", "x")
        table.add_row("a much longer cell", "a long exercise title " * 6)
        out.print(table)
        out.file.flush()
    lines = out_path.read_text().splitlines()
    assert lines and all(line == line.rstrip() for line in lines)
    assert len(lines) == 3 and lines[2].endswith(("a long exercise title " * 6).strip()), \
        "a long line is not wrapped at a guessed 80 columns in a pipe"
    assert strip_trailing("abc  \x1b[0m \x1b[1m") == "abc\x1b[0m\x1b[1m"


def test_long_comments_wrap_as_comments() -> None:
    code = ("def f(x):\n"
            "    # " + "word " * 30 + "\n"
            "    return x * 2  # " + "why " * 25 + "\n")
    wrapped = wrap_code_comments(code, 40)
    lines = wrapped.splitlines()
    assert all(len(line) <= 40 for line in lines)
    comment_lines = [line for line in lines if line.strip().startswith("#")]
    assert len(comment_lines) > 4 and all(line.startswith("    # ") for line in comment_lines)
    assert "    return x * 2" in lines
    assert " ".join(l.strip()[2:] for l in comment_lines).split() == ["word"] * 30 + ["why"] * 25
    assert wrap_code_comments("s = '# not a comment, a string that is long enough to pass the width'\n", 30) \
        == "s = '# not a comment, a string that is long enough to pass the width'\n"


def test_the_course_cache_finds_the_same_builtin_lessons_as_the_loader() -> None:
    from tutor.course.loader import builtin_lessons_dir
    from tutor import coursecache

    assert coursecache.builtin_lessons_dir().resolve() == builtin_lessons_dir().resolve()


def test_watch_follows_code_exercises_and_points_at_the_questions_it_passes() -> None:
    from tutor.cli import UserError
    from tutor.commands.watch_cmd import next_exercise, questions_between, starting_point

    ctx = Context()
    refs = [ex.ref for ex in ctx.course.exercises]
    # Lesson 1.3 asks a question between its first two code exercises.
    assert refs.index("1.3/make_tensors") < refs.index("1.3/predict_keepdim") < refs.index("1.3/standardize")
    current = ctx.course.find_exercise("1.3/make_tensors")
    following = next_exercise(ctx, current)
    assert following.ref == "1.3/standardize", "the question is not watched"
    assert [q.ref for q in questions_between(ctx, current, following)] == ["1.3/predict_keepdim"]
    ctx.progress.record_attempt("1.3/predict_keepdim", True)
    assert questions_between(ctx, current, following) == [], "an answered question is not pointed at again"
    with pytest.raises(UserError, match=r"pytorch-tutor answer 1\.3/predict_keepdim"):
        starting_point(ctx, "1.3/predict_keepdim")
    ctx.progress.record_attempt("1.1/first_tensor", True)  # the next in course order is a question
    assert ctx.course.exercises[1].kind == "predict" and starting_point(ctx, None).kind == "code"
