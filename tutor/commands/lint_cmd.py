"""``pytorch-tutor lint [DIR]``: the authoring gate.

For every lesson: the file loads (schema, ids, code that compiles) and its assets are what it
says (size, sha256, the script that makes them). For every code exercise, on every seed
(``--seeds N``): the reference solution passes every check within its time budget, the starter
*fails with a check failure* (not a crash, not a timeout, not a broken check), every authored
mistake fails with a message containing its ``expect`` words, and every alternative passes.
For every predict exercise: the snippet runs and exactly one choice matches what it produced,
the same one on every seed. An exercise whose extras are missing here is reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import re
import os
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from tutor.display import console
from tutor.workspace import starter_text


def register(sub: Any) -> None:
    p = sub.add_parser("lint", help="check lessons: schema, solutions pass, starters fail (for authors)")
    p.add_argument("dir", nargs="*", metavar="DIR",
                   help="lesson folders or files, e.g. lessons/ch04 lessons/ch05 (default: the built-in lessons)")
    p.add_argument("--json", action="store_true", help="machine-readable report (docs/json.md)")
    p.add_argument("--only", metavar="ID", action="append", default=[],
                   help="lint only this lesson or exercise (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="seed for the checks' random inputs "
                   "(with --seeds: the first of N consecutive seeds)")
    p.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="run every exercise over N seeds (CI uses at least 5); any seed on which a reference "
                        "fails, a starter or a mistake passes is a problem")
    p.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="exercises checked at once (default: up to 2)")
    p.add_argument("--no-run", action="store_true", help="only validate the files; run nothing")
    p.set_defaults(handler=run)


@dataclass
class ExerciseReport:
    id: str
    kind: str = "code"
    solution: str = "skip"            # pass | fail | error | timeout | crash | skip
    starter: str = "skip"             # fail (wanted) | pass | crash | timeout | error | skip
    solution_seconds: float | None = None
    problems: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    skipped: str | None = None        # why nothing ran (a missing extra, a missing device)
    #: name -> "fails" (wanted) | "passes" | "error" | "wrong message" for mistakes, and
    #: name -> "passes" (wanted) | "fails" | "error" for alternatives.
    mistakes: dict[str, str] = field(default_factory=dict)
    alternatives: dict[str, str] = field(default_factory=dict)
    answer: int | None = None         # predict: the choice that matches what the snippet did

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "kind": self.kind, "solution": self.solution, "starter": self.starter,
               "solution_seconds": self.solution_seconds, "problems": self.problems, "seeds": self.seeds,
               "skipped": self.skipped, "mistakes": self.mistakes, "alternatives": self.alternatives}
        if self.kind == "predict":
            out["answer"] = self.answer
        return out


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
            return f"{check.name}: {_one_line(check.message) if check.message else check.status}"
    if result.error:
        return _one_line(result.error)
    if result.outcome != "ok":
        tail = result.stderr.strip().splitlines()[-1:] if result.stderr.strip() else []
        return f"{result.outcome}: {result.detail}" + (f" ({tail[0]})" if tail else "")
    return result.status


def _one_line(markdown: str) -> str:
    from tutor.mdplain import to_plain

    lines = [line.strip() for line in to_plain(markdown).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _failure_text(result: Any) -> str:
    """Everything the learner would read about why this run failed, for `expect` matching."""
    parts = [f"{c.name}\n{c.message}" for c in result.checks if c.status in ("fail", "error")]
    parts += [result.detail, result.error]
    return "\n".join(p for p in parts if p)


def _seeds(args: argparse.Namespace) -> list[int | None]:
    if args.seeds is None:
        return [args.seed]
    first = args.seed if args.seed is not None else 1
    return [first + k for k in range(args.seeds)]


_ON_SEED = re.compile(r"^(?P<head>.*?) on seed (?P<seed>\d+)(?P<mid>[^:]*)(?P<rest>:.*)?$", re.S)


def merge_seed_problems(problems: list[str]) -> list[str]:
    """The same problem on several seeds, said once: "mistake 'x' passes on seeds 1, 3, 4: …"
    (the detail shown is the first seed's)."""
    merged: dict[tuple[str, str], list[Any]] = {}
    order: list[tuple[str, str] | str] = []
    for problem in problems:
        match = _ON_SEED.match(problem)
        if not match:
            order.append(problem)
            continue
        key = (match["head"], match["mid"])
        if key not in merged:
            merged[key] = [[], match["rest"] or ""]
            order.append(key)
        merged[key][0].append(match["seed"])
    out = []
    for item in order:
        if isinstance(item, str):
            out.append(item)
            continue
        seeds, rest = merged[item]
        label = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {', '.join(seeds)}"
        out.append(f"{item[0]} on {label}{item[1]}{rest}")
    return out


def _on(seed: int, many: bool) -> str:
    return f" on seed {seed}" if many else f" (seed {seed})"


def lint_exercise(ctx: Any, engine: Any, exercise: Any, seed: int | None, devices: list[str],
                  seeds: list[int | None] | None = None) -> ExerciseReport:
    from tutor.course.extras import extras_problem

    seeds = list(seeds) if seeds is not None else [seed]
    report = ExerciseReport(exercise.ref, kind=exercise.kind)
    if exercise.device in ("cuda", "mps") and not any(d.startswith(exercise.device) for d in devices):
        report.skipped = f"needs a {exercise.device.upper()} device; this machine has none"
        return report
    missing = extras_problem(exercise, ctx.python)
    if missing:
        report.skipped = missing
        return report
    with tempfile.TemporaryDirectory(prefix="pytorch-tutor-lint-") as tmp:
        if exercise.kind == "predict":
            _lint_predict(ctx, engine, exercise, seeds, Path(tmp), report)
        else:
            _lint_code(ctx, engine, exercise, seeds, Path(tmp), report)
    report.problems = merge_seed_problems(report.problems)
    return report


def _submit(ctx: Any, engine: Any, exercise: Any, file: Path, seed: int | None) -> tuple[int, Any]:
    request = ctx.request(exercise, file, seed=seed)
    return request.seed, engine.submit(request)


def _lint_code(ctx: Any, engine: Any, exercise: Any, seeds: list[int | None], tmp: Path,
               report: ExerciseReport) -> None:
    many = len(seeds) > 1
    solution_file = tmp / "solution.py"
    solution_file.write_text(exercise.solution, encoding="utf-8")
    starter_file = tmp / "starter.py"
    starter_file.write_text(starter_text(exercise), encoding="utf-8")
    report.solution, report.starter = "pass", "fail"
    for wanted in seeds:
        seed, result = _submit(ctx, engine, exercise, solution_file, wanted)
        report.seeds.append(seed)
        state = _classify_solution(result)
        seconds = round(result.child_ms / 1000, 3)
        report.solution_seconds = max(report.solution_seconds or 0.0, seconds)
        if state != "pass":
            report.solution = state
            report.problems.append(f"solution {state}{_on(seed, many)}: {_first_problem(result)}")
        elif result.child_ms / 1000 > exercise.time_budget:
            report.problems.append(f"solution took {seconds:.2f} s{_on(seed, many)}, over its "
                                   f"{exercise.time_budget:g} s budget")
        _, result = _submit(ctx, engine, exercise, starter_file, seed)
        state = _classify_starter(result)
        if state != "fail":
            report.starter = state
            why = "passes its checks" if state == "pass" else f"{state}: {_first_problem(result)}"
            report.problems.append(f"starter must fail with a check failure, but{_on(seed, many)} it {why}"
                                   if many else f"starter must fail with a check failure, but it {why} (seed {seed})")
        for k, mistake in enumerate(exercise.mistakes):
            _lint_mistake(ctx, engine, exercise, mistake, tmp / f"mistake_{k}.py", seed, many, report)
        for k, alternative in enumerate(exercise.alternatives):
            file = tmp / f"alternative_{k}.py"
            file.write_text(alternative.code, encoding="utf-8")
            _, result = _submit(ctx, engine, exercise, file, seed)
            report.alternatives.setdefault(alternative.name, "passes")
            if result.status != "pass":
                report.alternatives[alternative.name] = "error" if result.status == "error" else "fails"
                what = "breaks the check" if result.status == "error" else "fails"
                report.problems.append(f"alternative {alternative.name!r} must pass, but it {what}{_on(seed, many)}: "
                                       f"{_first_problem(result)}")


def _lint_mistake(ctx: Any, engine: Any, exercise: Any, mistake: Any, file: Path, seed: int, many: bool,
                  report: ExerciseReport) -> None:
    file.write_text(mistake.code, encoding="utf-8")
    _, result = _submit(ctx, engine, exercise, file, seed)
    report.mistakes.setdefault(mistake.name, "fails")
    if result.status == "pass":
        report.mistakes[mistake.name] = "passes"
        report.problems.append(f"mistake {mistake.name!r} passes{_on(seed, many)}: the checks cannot tell it "
                               f"from a right answer (add a fixed case that separates them)")
        return
    if result.status == "error":
        report.mistakes[mistake.name] = "error"
        report.problems.append(f"mistake {mistake.name!r} breaks the check{_on(seed, many)}: {_first_problem(result)}")
        return
    text = _failure_text(result).casefold()
    absent = [word for word in mistake.expect if word.casefold() not in text]
    if absent:
        if report.mistakes[mistake.name] == "fails":
            report.mistakes[mistake.name] = "wrong message"
        report.problems.append(f"mistake {mistake.name!r} fails{_on(seed, many)}, but the message does not say "
                               f"{', '.join(repr(w) for w in absent)}: {_first_problem(result)}")


def _lint_predict(ctx: Any, engine: Any, exercise: Any, seeds: list[int | None], tmp: Path,
                  report: ExerciseReport) -> None:
    import random

    from tutor.course import predict

    many = len(seeds) > 1
    snippet = tmp / "snippet.py"
    snippet.write_text(exercise.snippet, encoding="utf-8")
    answers: dict[int, int] = {}
    for wanted in seeds:
        seed = wanted if wanted is not None else random.randrange(1, 2**31)
        report.seeds.append(seed)
        result = engine.submit(predict.snippet_request(exercise, snippet, seed, ctx.resolved_device))
        seen = predict.observed(exercise, result)
        matches = predict.matching_choices(exercise, seen)
        if seen is None:
            report.problems.append(f"the snippet gives nothing to compare{_on(seed, many)}: "
                                   f"{predict.describe_run(result)}")
        elif len(matches) != 1:
            which = "no choice matches" if not matches else f"choices {matches} all match"
            report.problems.append(f"{which} what the snippet produced{_on(seed, many)}: {seen!r}")
        else:
            answers[seed] = matches[0]
    if len(set(answers.values())) > 1:
        report.problems.append("the right choice changes with the seed: " +
                               ", ".join(f"{n} on seed {s}" for s, n in answers.items()))
    if answers and not report.problems:
        report.answer = next(iter(answers.values()))
        report.solution = "pass"


def run(args: argparse.Namespace, ctx: Any) -> int:
    from tutor.cli import UserError
    from tutor.course.loader import load_course

    if args.dir:
        targets = [Path(d) for d in args.dir]
        for target in targets:
            if not target.exists():
                raise UserError(f"no such lesson folder or file: {target}")
        course = load_course(targets, include_builtin=False, author_checks=True)
    else:
        course = load_course([Path(d) for d in ctx.lesson_dirs], include_builtin=ctx.builtin_lessons,
                             author_checks=True)
    lessons = course.lessons
    if args.only:
        wanted = set(args.only)
        lessons = [l for l in lessons if l.id in wanted or any(e.ref in wanted for e in l.exercises)]
    exercises = [e for l in lessons for e in l.exercises
                 if not args.only or l.id in args.only or e.ref in args.only]

    if args.seeds is not None and args.seeds < 1:
        raise UserError("--seeds must be at least 1")
    seeds = _seeds(args)
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
            rep = lint_exercise(ctx, engine_for_thread(), ex, args.seed, devices, seeds=seeds)
            if not args.json:
                mark = "-" if rep.skipped else ("✓" if rep.ok else "✗")
                progress.print(Text(f"{mark} {rep.id}" + (f" skipped: {rep.skipped}" if rep.skipped else ""),
                                    style="dim" if rep.skipped else ("green" if rep.ok else "red")))
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
    from tutor.course.assets import asset_problems

    # So are assets: size, hash and the script that makes them.
    recording_errors = {lesson.id: shipped_recording_problems(lesson) + asset_problems(lesson) for lesson in lessons}
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
                   "summary": {"lessons": len(lessons), "exercises": len(reports), "problems": problems,
                               "skipped": sum(1 for r in reports.values() if r.skipped)}},
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
        table = Table(title="lint", title_justify="left", box=box.SIMPLE_HEAD)
        table.add_column("exercise", overflow="fold")
        for col in ("solution", "starter", "mistakes", "alts", "secs"):
            table.add_column(col, no_wrap=True)
        for rep in reports.values():
            starter = _badge(rep.starter, "fail")
            if rep.kind == "predict" and not rep.skipped:
                solution = Text(f"answer {rep.answer}", style="green") if rep.answer else Text("no answer", style="red")
                starter = Text("-", style="dim")
            else:
                solution = _badge(rep.solution, "pass")
            table.add_row(rep.id, solution, starter, _tally(rep.mistakes, "fails"),
                          _tally(rep.alternatives, "passes"),
                          f"{rep.solution_seconds:.2f}" if rep.solution_seconds is not None else "-")
        out.print(table)
        # Problems under the table, one per line: they are sentences, too long for a cell at 80 columns.
        for rep in reports.values():
            if rep.skipped:
                out.print(Text(f"- {rep.id} skipped: {rep.skipped}", style="dim"))
            for problem in rep.problems:
                out.print(Text(f"✗ {rep.id}: {problem}", style="red"))
    skipped = sum(1 for r in reports.values() if r.skipped)
    seed_note = f" over {len(seeds)} seeds" if len(seeds) > 1 else ""
    out.print(Text(f"{len(lessons)} lesson(s), {len(reports) - skipped} exercise(s) run{seed_note}, "
                   f"{skipped} skipped, {problems} problem(s)", style="bold green" if ok else "bold red"))
    return 0 if ok else 1


def _tally(results: dict[str, str], wanted: str) -> Text:
    if not results:
        return Text("-", style="dim")
    good = sum(1 for v in results.values() if v == wanted)
    return Text(f"{good}/{len(results)}", style="green" if good == len(results) else "red")


def _badge(value: str, wanted: str) -> Text:
    if value == "skip":
        return Text(value, style="dim")
    return Text(value, style="green" if value == wanted else "red")


def _devices(ctx: Any) -> list[str]:
    """The devices this machine can run exercises on, to skip those that need another.

    Without a sign of a GPU (no ``/dev/nvidia*``, not Apple silicon) that is the CPU alone,
    known without starting an interpreter; otherwise ``doctor``'s probe answers, from its
    cache after the first time (the probe imports torch: seconds)."""
    from tutor.devices import gpu_hints, probe_environment

    if not gpu_hints():
        return ["cpu"]
    from tutor.probecache import ProbeCache

    info, _ = ProbeCache(ctx.paths.data, ctx.python).probe(probe_environment, python_arg=ctx.python)
    return list(info.get("devices") or ["cpu"])
