"""``pytorch-tutor check EXERCISE``: run the learner's file through the exercise's checks.

Exit status: 0 pass, 1 fail (a check failed, or the code crashed or hung), 2 error (the
tutor could not reach a verdict, or bad input).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tutor.display import console, print_result
from tutor.workspace import ensure_exercise_file

EXIT_CODES = {"pass": 0, "fail": 1, "error": 2}


def register(sub: Any) -> None:
    p = sub.add_parser("check", help="check your solution to an exercise")
    p.add_argument("exercise", metavar="EXERCISE", help="an exercise id such as 1.3/standardize (see `list`)")
    p.add_argument("--file", metavar="F", help="check this file instead of your workspace file")
    p.add_argument("--json", action="store_true", help="machine-readable result (docs/json.md)")
    p.add_argument("--seed", type=int, help="the seed for the checker's random inputs (default: a fresh one)")
    p.add_argument("--timeout", type=float, metavar="S", help="override the exercise's time budget")
    p.set_defaults(handler=run)


def find_exercise(ctx: Any, ref: str) -> Any:
    from tutor.cli import UserError

    exercise = ctx.course.find_exercise(ref)
    if exercise is None:
        lesson = ctx.course.lesson(ref.strip())
        if lesson is not None:
            refs = ", ".join(ex.ref for ex in lesson.exercises)
            raise UserError(f"{ref} is a lesson; name one of its exercises: {refs}")
        raise UserError(f"no exercise {ref!r} (see `pytorch-tutor list`)")
    return exercise


def refuse_unrunnable(ctx: Any, exercise: Any) -> None:
    """A question is answered, not checked; missing extras are said with the install command (exit 2)."""
    from tutor.cli import UserError
    from tutor.course.extras import extras_problem

    if exercise.kind == "predict":
        raise UserError(f"{exercise.ref} is a prediction question: see it with `pytorch-tutor answer {exercise.ref}`, "
                        f"answer with `pytorch-tutor answer {exercise.ref} NUMBER`")
    missing = extras_problem(exercise, ctx.python)
    if missing:
        raise UserError(missing)


def run(args: argparse.Namespace, ctx: Any) -> int:
    from tutor.cli import UserError

    ctx.engine.start_in_background()  # warm the worker while the lesson and file are prepared
    exercise = find_exercise(ctx, args.exercise)
    refuse_unrunnable(ctx, exercise)
    if exercise.device in ("cuda", "mps") and not ctx.resolved_device.startswith(exercise.device):
        raise UserError(f"{exercise.ref} needs a {exercise.device.upper()} device, and the worker here has none "
                        f"(see `pytorch-tutor doctor`); `pytorch-tutor replay --lesson {exercise.lesson_id}` "
                        f"shows any recorded runs the lesson ships")
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise UserError(f"no such file: {args.file}")
    else:
        path = ensure_exercise_file(ctx.paths.workspace, exercise)
    if args.timeout is not None and args.timeout <= 0:
        raise UserError("--timeout must be a positive number of seconds")
    request = ctx.request(exercise, path, seed=args.seed, timeout=args.timeout)
    if not args.json:
        console().print(f"[dim]checking {exercise.ref} ({path})…[/dim]")
    result = ctx.engine.submit(request)
    if result.status != "error" and not args.file:
        ctx.progress.record_attempt(exercise.ref, result.status == "pass")
    if args.json:
        json.dump(result.to_json("check"), sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print_result(result, "check")
    return EXIT_CODES.get(result.status, 2)
