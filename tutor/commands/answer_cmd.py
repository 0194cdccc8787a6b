"""``pytorch-tutor answer EXERCISE [CHOICE]``: answer a ``predict`` question.

Without CHOICE it prints the question and the numbered choices. With CHOICE (a number, or
the choice's text) it runs the snippet in the sandbox, says whether the prediction was
right, what the snippet really produced and why (the explanation), and records the answer.

Exit status: 0 right, 1 wrong, 2 error (bad input, or a question whose snippet does not
match exactly one choice).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.syntax import Syntax
from rich.text import Text

from tutor.display import console, safe_text
from tutor.mdplain import to_plain


def register(sub: Any) -> None:
    p = sub.add_parser("answer", help="answer a prediction question (`list` shows which exercises are questions)")
    p.add_argument("exercise", metavar="EXERCISE", help="a predict exercise id such as 1.3/predict_keepdim")
    p.add_argument("choice", metavar="CHOICE", nargs="?",
                   help="the number of your choice (1 = first) or its text; without it, the question is shown")
    p.add_argument("--json", action="store_true", help="machine-readable result (docs/json.md)")
    p.set_defaults(handler=run)


def _question(exercise: Any) -> None:
    out = console()
    out.print(Text(f"{exercise.ref}  {exercise.title}", style="bold"))
    out.print(Text(to_plain(exercise.prompt)))
    out.print(Syntax(exercise.snippet.rstrip(), "python", theme="ansi_dark", background_color="default"))
    for n, choice in enumerate(exercise.choices, 1):
        out.print(Text.assemble((f"  {n}. ", "bold cyan"), safe_text(choice)))
    out.print(Text(f"answer with: pytorch-tutor answer {exercise.ref} NUMBER", style="dim"))


def run(args: argparse.Namespace, ctx: Any) -> int:
    from tutor.cli import UserError
    from tutor.commands.check_cmd import find_exercise
    from tutor.course import predict
    from tutor.course.extras import extras_problem

    exercise = find_exercise(ctx, args.exercise)
    if exercise.kind != "predict":
        raise UserError(f"{exercise.ref} is a code exercise, not a question: check it with "
                        f"`pytorch-tutor check {exercise.ref}`")
    if args.choice is None:
        if args.json:
            json.dump({"format": 1, "exercise": exercise.ref, "prompt": exercise.prompt, "snippet": exercise.snippet,
                       "choices": exercise.choices}, sys.stdout, indent=2, ensure_ascii=False)
            print()
        else:
            _question(exercise)
        return 0
    choice = predict.parse_choice(exercise, args.choice)
    if choice is None:
        raise UserError(f"{args.choice!r} is not one of the choices: give a number from 1 to {len(exercise.choices)}")
    missing = extras_problem(exercise, ctx.python)
    if missing:
        raise UserError(missing)
    with tempfile.TemporaryDirectory(prefix="pytorch-tutor-predict-") as tmp:
        snippet = Path(tmp) / "snippet.py"
        snippet.write_text(exercise.snippet, encoding="utf-8")
        request = predict.snippet_request(exercise, snippet, random.randrange(1, 2**31), ctx.resolved_device)
        result = ctx.engine.submit(request)
    seen = predict.observed(exercise, result)
    matches = predict.matching_choices(exercise, seen)
    if len(matches) != 1:
        why = predict.describe_run(result) if seen is None else f"it produced {seen!r}"
        raise UserError(f"this question could not be scored ({why}, which matches {len(matches)} of the choices); "
                        f"please report it — `pytorch-tutor lint --only {exercise.ref}` shows the same")
    right = matches[0]
    correct = choice == right
    ctx.progress.record_answer(exercise.ref, choice, correct)
    if args.json:
        json.dump({"format": 1, "exercise": exercise.ref, "choice": choice, "correct": correct, "answer": right,
                   "observed": seen, "explanation": exercise.explanation}, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        out = console()
        if correct:
            out.print(Text(f"✓ right: {safe_text(exercise.choices[right - 1])}", style="bold green"))
        else:
            out.print(Text(f"✗ not quite: you chose {choice} ({safe_text(exercise.choices[choice - 1])}); "
                           f"the snippet gave {right} ({safe_text(exercise.choices[right - 1])})", style="bold yellow"))
        out.print(Text(to_plain(exercise.explanation)))
    return 0 if correct else 1
