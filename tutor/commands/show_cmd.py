"""``pytorch-tutor show LESSON``: the lesson's prose, examples and exercise prompts."""

from __future__ import annotations

import argparse
from typing import Any

from rich.markdown import Markdown
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.text import Text

from tutor.display import console


def register(sub: Any) -> None:
    p = sub.add_parser("show", help="print a lesson: explanation, examples and exercises")
    p.add_argument("lesson", metavar="LESSON", help="a lesson id such as 1.3")
    p.set_defaults(handler=run)


def find_lesson(ctx: Any, lesson_id: str) -> Any:
    from tutor.cli import UserError

    lesson = ctx.course.lesson(lesson_id.strip())
    if lesson is None:
        ex = ctx.course.find_exercise(lesson_id)
        if ex is not None:
            return ctx.course.lesson(ex.lesson_id)
        known = ", ".join(l.id for l in ctx.course.lessons[:12])
        raise UserError(f"no lesson {lesson_id!r} (lessons: {known}{', ...' if len(ctx.course.lessons) > 12 else ''})")
    return lesson


def run(args: argparse.Namespace, ctx: Any) -> int:
    lesson = find_lesson(ctx, args.lesson)
    out = console()
    out.print(Rule(Text(f"{lesson.id}  {lesson.title}", style="bold")))
    out.print(Markdown(lesson.prose))
    for example in lesson.examples:
        out.print(Panel(Syntax(example.code.rstrip(), "python", theme="ansi_dark", background_color="default"),
                        title=example.title, title_align="left"))
        if example.explanation:
            out.print(Markdown(example.explanation))
    for n, ex in enumerate(lesson.exercises, 1):
        out.print(Rule(Text(f"Exercise {n}: {ex.title}", style="bold cyan"), align="left"))
        out.print(Markdown(ex.prompt))
        if ex.kind == "predict":
            out.print(Panel(Syntax(ex.snippet.rstrip(), "python", theme="ansi_dark", background_color="default"),
                            title="predict before you run", title_align="left"))
            for k, choice in enumerate(ex.choices, 1):
                out.print(Text.assemble((f"  {k}. ", "bold cyan"), choice))
            out.print(Text(f"  answer it: pytorch-tutor answer {ex.ref} NUMBER", style="dim"))
            continue
        out.print(Text(f"  check it: pytorch-tutor check {ex.ref}", style="dim"))
    return 0
