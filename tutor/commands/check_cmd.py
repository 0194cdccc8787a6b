"""``pytorch-tutor check EXERCISE``: run the learner's file through the exercise's checks.

Exit status: 0 pass, 1 fail (a check failed, or the code crashed or hung), 2 error (the
tutor could not reach a verdict, or bad input).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from tutor.timing import waited_s
from tutor.workspace import ensure_exercise_file

EXIT_CODES = {"pass": 0, "fail": 1, "error": 2}
#: Output kept per stream for the CLI, as the TUI keeps: the printed panels show its head
#: and tail (tutor/display.py), so the end of a long output is not lost at 64 KiB.
CLI_OUTPUT_CAP = 1024 * 1024


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

    exercise = ctx.find_exercise(ref)
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
    from tutor.failfast import syntax_error

    if args.file and not Path(args.file).is_file():
        raise UserError(f"no such file: {args.file}")
    if not (args.file and syntax_error(Path(args.file), ctx.python)):
        # Warm (or reach) the worker while the lesson and file are prepared; a file that
        # will not compile is reported without starting anything.
        ctx.engine.start_in_background()
    exercise = find_exercise(ctx, args.exercise)
    refuse_unrunnable(ctx, exercise)
    if exercise.device in ("cuda", "mps") and not ctx.resolved_device.startswith(exercise.device):
        raise UserError(f"{exercise.ref} needs a {exercise.device.upper()} device, and the worker here has none "
                        f"(see `pytorch-tutor doctor`); `pytorch-tutor replay --lesson {exercise.lesson_id}` "
                        f"shows any recorded runs the lesson ships")
    if args.file:
        path = Path(args.file)
    else:
        path = ensure_exercise_file(ctx.paths.workspace, exercise)
    if args.timeout is not None and args.timeout <= 0:
        raise UserError("--timeout must be a positive number of seconds")
    result = check_file(ctx, exercise, path, seed=args.seed, timeout=args.timeout, quiet=args.json)
    if result.status != "error" and not args.file:
        ctx.progress.record_attempt(exercise.ref, result.status == "pass")
    print_outcome(result, "check", args.json)
    return EXIT_CODES.get(result.status, 2)


def check_file(ctx: Any, exercise: Any, path: Path, seed: int | None = None, timeout: float | None = None,
               quiet: bool = False) -> Any:
    """The result of checking ``path``; a syntax error is found here, before the sandbox."""
    from tutor.failfast import syntax_error

    early = syntax_error(path, ctx.python)
    if early is not None:
        return early
    request = ctx.request(exercise, path, seed=seed, timeout=timeout)
    if "output_bytes" not in (exercise.limits or {}):
        request.limits.output_bytes = CLI_OUTPUT_CAP
    if quiet:
        return ctx.engine.submit(request)
    # rich loads on a thread while the sandbox works (tutor/prefetch.py); the "checking…"
    # line is printed on the sandbox's first event, or at the end if it sent none first.
    from tutor.prefetch import prefetch

    prefetch("tutor.display")
    said: list[bool] = []

    def say_checking(_event: Any = None) -> None:
        if not said:
            said.append(True)
            # tutor.display first: this waits for the thread's import to finish while holding
            # no import lock of its own, so the two threads can never wait on each other.
            from tutor.display import console

            from rich.markup import escape  # noqa: I001 - loaded by tutor.display by now

            console().print(f"[dim]checking {escape(exercise.ref)} ({escape(str(path))})…[/dim]")

    result = ctx.engine.submit(request, say_checking)
    say_checking()
    return result


def print_outcome(result: Any, kind: str, as_json: bool, since: float | None = None) -> None:
    """The result as the documented JSON or for a terminal, with the wall time waited:
    ``waited_ms`` in JSON next to the sandbox's ``duration_ms``; in a terminal the figure
    shown is the wall time (what a stopwatch would say), not the sandbox's."""
    waited = waited_s(since)
    if as_json:
        data = result.to_json(kind)
        data["waited_ms"] = round(waited * 1000, 1)
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        from tutor.display import print_result

        print_result(dataclasses.replace(result, duration_ms=waited * 1000), kind)
