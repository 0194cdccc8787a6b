"""``pytorch-tutor list``: chapters, lessons and exercises with the learner's progress."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.table import Table
from rich.text import Text

from tutor.display import console

STATE_MARKS = {"passed": ("✓", "green"), "attempted": ("…", "yellow"), "new": ("·", "dim")}


def register(sub: Any) -> None:
    p = sub.add_parser("list", help="chapters, lessons and exercises, with your progress")
    p.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    p.set_defaults(handler=run)


def as_json(ctx: Any) -> dict[str, Any]:
    course, progress = ctx.course, ctx.progress
    return {
        "format": 1,
        "chapters": [
            {"id": chapter.id, "title": chapter.title, "lessons": [
                {"id": lesson.id, "title": lesson.title, "exercises": [
                    {"id": ex.ref, "title": ex.title, "kind": ex.kind, "state": progress.state(ex.ref)}
                    for ex in lesson.exercises
                ]} for lesson in chapter.lessons
            ]} for chapter in course.chapters
        ],
        "errors": [str(e) for e in course.errors],
    }


def report_load_problems(ctx: Any) -> None:
    """Broken lesson files and set-aside progress files are said once, on stderr."""
    err = console(stderr=True)
    for problem in ctx.course.errors:
        err.print(Text(f"warning: lesson skipped: {problem}", style="yellow"))
    if ctx.progress.notice:
        err.print(Text(f"warning: {ctx.progress.notice}", style="yellow"))


def run(args: argparse.Namespace, ctx: Any) -> int:
    if args.json:
        json.dump(as_json(ctx), sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    report_load_problems(ctx)
    out = console()
    refs = [ex.ref for ex in ctx.course.exercises]
    counts = ctx.progress.counts(refs)
    for chapter in ctx.course.chapters:
        table = Table(title=f"{chapter.number}. {chapter.title}", title_justify="left", show_header=False,
                      box=None, pad_edge=False, expand=False)
        table.add_column("id", style="bold", no_wrap=True)
        table.add_column("title")
        for lesson in chapter.lessons:
            table.add_row(lesson.id, Text(lesson.title, style="bold"))
            for ex in lesson.exercises:
                mark, style = STATE_MARKS[ctx.progress.state(ex.ref)]
                kind = ("  (question)", "dim") if ex.kind == "predict" else ""
                table.add_row("", Text.assemble((f"{mark} ", style), (ex.ref, "cyan"), "  ", ex.title, kind))
        out.print(table)
        out.print()
    out.print(Text(f"{counts['passed']} passed, {counts['attempted']} attempted, {counts['new']} new "
                   f"— check one with: pytorch-tutor check EXERCISE", style="dim"))
    return 0
