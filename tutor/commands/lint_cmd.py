"""``pytorch-tutor lint [DIR]``: the authoring gate.

For every lesson: the file loads (schema, ids, code that compiles); and for every exercise,
the reference solution passes every check within its time budget, and the starter *fails
with a check failure* — not a crash, not a timeout, not a broken check.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from tutor.display import console
from tutor.workspace import starter_text


def register(sub: Any) -> None:
    p = sub.add_parser("lint", help="check lessons: schema, solutions pass, starters fail (for authors)")
    p.add_argument("dir", nargs="?", metavar="DIR", help="a lesson folder or file (default: the built-in lessons)")
    p.add_argument("--json", action="store_true", help="machine-readable report (docs/json.md)")
    p.add_argument("--only", metavar="ID", action="append", default=[],
                   help="lint only this lesson or exercise (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="seed for the checks' random inputs")
    p.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="exercises checked at once (default: up to 2)")
    p.add_argument("--no-run", action="store_true", help="only validate the files; run nothing")
    p.set_defaults(handler=run)


@dataclass
class ExerciseReport:
    id: str
    solution: str = "skip"            # pass | fail | error | timeout | crash | skip
    starter: str = "skip"             # fail (wanted) | pass | crash | timeout | error | skip
    solution_seconds: float | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "solution": self.solution, "starter": self.starter,
                "solution_seconds": self.solution_seconds, "problems": self.problems}


def _classify_solution(result: Any) -> str:
    if result.status == "pass":
        return "pass"
    if result.status == "error":
        return "error"
    if result.outcome == "timeout":
        return "timeout"
    if result.outcome != "ok":
        return "crash"
    return "fail"


def _classify_starter(result: Any) -> str:
    if result.status == "error":
        return "error"
    if result.outcome == "timeout":
        return "timeout"
    if result.outcome != "ok":
        return "crash"
    if result.status == "pass":
        return "pass"
    return "fail" if any(c.status == "fail" for c in result.checks) else "error"


def _first_problem(result: Any) -> str:
    for check in result.checks:
        if check.status in ("fail", "error"):
            return f"{check.name}: {check.message.splitlines()[0] if check.message else check.status}"
    if result.error:
        return result.error.splitlines()[0]
    if result.outcome != "ok":
        tail = result.stderr.strip().splitlines()[-1:] if result.stderr.strip() else []
        return f"{result.outcome}: {result.detail}" + (f" ({tail[0]})" if tail else "")
    return result.status


def lint_exercise(ctx: Any, engine: Any, exercise: Any, seed: int | None, devices: list[str]) -> ExerciseReport:
    report = ExerciseReport(exercise.ref)
    if exercise.device in ("cuda", "mps") and not any(d.startswith(exercise.device) for d in devices):
        report.problems = []
        report.solution = report.starter = "skip"
        return report
    with tempfile.TemporaryDirectory(prefix="pytorch-tutor-lint-") as tmp:
        solution_file = Path(tmp) / "solution.py"
        solution_file.write_text(exercise.solution, encoding="utf-8")
        starter_file = Path(tmp) / "starter.py"
        starter_file.write_text(starter_text(exercise), encoding="utf-8")
        result = engine.submit(ctx.request(exercise, solution_file, seed=seed))
        report.solution = _classify_solution(result)
        report.solution_seconds = round(result.child_ms / 1000, 3)
        if report.solution != "pass":
            report.problems.append(f"solution {report.solution}: {_first_problem(result)}")
        elif result.child_ms / 1000 > exercise.time_budget:
            report.problems.append(f"solution took {result.child_ms / 1000:.2f} s, over its "
                                   f"{exercise.time_budget:g} s budget")
        result = engine.submit(ctx.request(exercise, starter_file, seed=seed))
        report.starter = _classify_starter(result)
        if report.starter != "fail":
            why = "passes its checks" if report.starter == "pass" else f"{report.starter}: {_first_problem(result)}"
            report.problems.append(f"starter must fail with a check failure, but it {why}")
    return report


def run(args: argparse.Namespace, ctx: Any) -> int:
    from tutor.cli import UserError
    from tutor.course.loader import load_course

    if args.dir:
        target = Path(args.dir)
        if not target.exists():
            raise UserError(f"no such lesson folder or file: {args.dir}")
        course = load_course([target], include_builtin=False)
    else:
        course = ctx.course
    lessons = course.lessons
    if args.only:
        wanted = set(args.only)
        lessons = [l for l in lessons if l.id in wanted or any(e.ref in wanted for e in l.exercises)]
    exercises = [e for l in lessons for e in l.exercises
                 if not args.only or l.id in args.only or e.ref in args.only]

    reports: dict[str, ExerciseReport] = {}
    if not args.no_run and exercises:
        devices = _devices(ctx)
        jobs = max(1, min(args.jobs, len(exercises)))
        engines: list[Any] = []
        local = threading.local()
        lock = threading.Lock()

        def engine_for_thread() -> Any:
            if not hasattr(local, "engine"):
                from tutor.engine import Engine

                local.engine = Engine(python=ctx.python, device=ctx.resolved_device)
                with lock:
                    engines.append(local.engine)
            return local.engine

        progress = console(stderr=True)

        def one(ex: Any) -> ExerciseReport:
            rep = lint_exercise(ctx, engine_for_thread(), ex, args.seed, devices)
            if not args.json:
                mark = "✓" if rep.ok else "✗"
                progress.print(Text(f"{mark} {rep.id}", style="green" if rep.ok else "red"))
            return rep

        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                for rep in pool.map(one, exercises):
                    reports[rep.id] = rep
        finally:
            for engine in engines:
                engine.close()

    by_file_errors: dict[str, list[str]] = {}
    for err in course.errors:
        by_file_errors.setdefault(err.file, []).append(str(err))
    from tutor.record import shipped_recording_problems

    # Shipped recordings are validated against the session format even with --no-run.
    recording_errors = {lesson.id: shipped_recording_problems(lesson) for lesson in lessons}
    lesson_json = []
    for lesson in lessons:
        lesson_json.append({"id": lesson.id, "file": lesson.path, "errors": recording_errors[lesson.id],
                            "exercises": [reports.get(e.ref, ExerciseReport(e.ref)).to_json()
                                          for e in lesson.exercises if e.ref in reports or args.no_run]})
    for file, errors in by_file_errors.items():
        lesson_json.append({"id": None, "file": file, "errors": errors, "exercises": []})
    problems = (sum(len(r.problems) for r in reports.values()) + len(course.errors)
                + sum(len(e) for e in recording_errors.values()))
    ok = problems == 0
    if args.json:
        json.dump({"format": 1, "ok": ok, "lessons": lesson_json,
                   "summary": {"lessons": len(lessons), "exercises": len(reports), "problems": problems}},
                  sys.stdout, indent=2)
        print()
        return 0 if ok else 1
    out = console()
    for err in course.errors:
        out.print(Text(f"✗ {err}", style="red"))
    for errors in recording_errors.values():
        for err in errors:
            out.print(Text(f"✗ {err}", style="red"))
    if reports:
        table = Table(title="lint", title_justify="left")
        for col in ("exercise", "solution", "starter", "seconds", "problem"):
            table.add_column(col, overflow="fold")
        for rep in reports.values():
            table.add_row(rep.id, _badge(rep.solution, "pass"), _badge(rep.starter, "fail"),
                          f"{rep.solution_seconds:.2f}" if rep.solution_seconds is not None else "-",
                          "\n".join(rep.problems))
        out.print(table)
    out.print(Text(f"{len(lessons)} lesson(s), {len(reports)} exercise(s) run, {problems} problem(s)",
                   style="bold green" if ok else "bold red"))
    return 0 if ok else 1


def _badge(value: str, wanted: str) -> Text:
    if value == "skip":
        return Text(value, style="dim")
    return Text(value, style="green" if value == wanted else "red")


def _devices(ctx: Any) -> list[str]:
    from tutor.commands.doctor_cmd import probe_environment

    info = probe_environment(ctx.python)
    return list(info.get("devices") or ["cpu"])
