"""``pytorch-tutor replay [SESSION | --last | --lesson ID]``: show recorded runs, offline.

Replay reads session logs (tutor/record.py) and lessons' shipped recordings; it never
imports torch and never starts a worker, so it works on a machine without either. With a
terminal it opens a read-only viewer that steps through the attempts; ``--print`` (or no
terminal) prints them. With no argument it lists the recorded sessions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from tutor.display import console, print_result, safe_text


def register(sub: Any) -> None:
    p = sub.add_parser("replay", help="show a recorded session offline (no torch needed)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("session", nargs="?", metavar="SESSION",
                       help="a session id (or a unique prefix of one) or a .jsonl file; see --list")
    which.add_argument("--last", action="store_true", help="the most recent session that ran something")
    which.add_argument("--lesson", metavar="ID",
                       help="every recorded attempt at a lesson (1.3) or exercise (1.3/standardize), "
                            "with the recordings shipped with the lesson")
    which.add_argument("--list", action="store_true", help="list the recorded sessions (the default)")
    p.add_argument("--print", dest="print_", action="store_true", help="print instead of opening the viewer")
    p.add_argument("--no-code", action="store_true", help="with --print: leave out each attempt's code")
    p.add_argument("--json", action="store_true", help="with --list: machine-readable list")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Any) -> int:
    from tutor.cli import UserError
    from tutor.record import Replay, SessionError, find_session, list_sessions

    sessions_dir = ctx.paths.sessions_dir
    err = console(stderr=True)
    if not (args.session or args.last or args.lesson):
        return _list(sessions_dir, args.json)
    if args.session:
        try:
            replay = Replay.of_session(find_session(sessions_dir, args.session))
        except (LookupError, SessionError) as exc:
            raise UserError(str(exc)) from None
    elif args.last:
        listing = list_sessions(sessions_dir)
        _notices(err, listing.notices)
        with_runs = [s for s in listing.sessions if s.records]
        if not with_runs:
            raise UserError(f"no recorded runs yet in {sessions_dir}")
        replay = Replay.of_session(with_runs[-1])
    else:
        replay = _lesson_replay(ctx, args.lesson.strip().rstrip("/"), err)
    if not replay.attempts:
        raise UserError(f"nothing to replay in {replay.title}")
    if args.print_ or not (sys.stdout.isatty() and sys.stdin.isatty()):
        print_replay(replay, code=not args.no_code)
        return 0
    from tutor.ui.replay_screen import run_replay

    return run_replay(replay)


def _notices(out: Any, notices: list[str]) -> None:
    for notice in notices:
        out.print(Text(f"note: {notice}", style="yellow"))


def _lesson_replay(ctx: Any, target: str, err: Any) -> Any:
    """The learner's own attempts at ``target`` in time order, then the lesson's shipped runs."""
    from tutor.cli import UserError
    from tutor.record import Attempt, Replay, SessionError, list_sessions, read_session, records_for

    lesson_id = target.split("/", 1)[0]
    lesson = ctx.course.lesson(lesson_id)
    if "/" in target and lesson is not None:
        exercise = ctx.course.find_exercise(target)
        target = exercise.ref if exercise is not None else target
    listing = list_sessions(ctx.paths.sessions_dir)
    _notices(err, listing.notices)
    attempts = [Attempt(s, r) for s, r in records_for(listing.sessions, target)]
    notes: list[str] = []
    shipped = 0
    for file in (lesson.recordings if lesson is not None else []):
        try:
            session = read_session(Path(file), shipped=True)
        except SessionError as exc:
            notes.append(f"shipped recording {Path(file).name}: {exc.reason}")
            continue
        found = records_for([session], target)
        shipped += len(found)
        attempts.extend(Attempt(s, r) for s, r in found)
    if lesson is None and not attempts:
        raise UserError(f"no lesson or exercise {target!r} has recorded runs (see `pytorch-tutor replay --list`)")
    title = f"recorded attempts at {target}" + (f" ({shipped} shipped with the lesson)" if shipped else "")
    return Replay(title, attempts, notes)


def _list(sessions_dir: Path, as_json: bool) -> int:
    from tutor.record import list_sessions

    listing = list_sessions(sessions_dir)
    rows = []
    for s in reversed(listing.sessions):
        statuses = [r.get("status") for r in s.records]
        rows.append({"id": s.id, "started": s.started, "file": str(s.path), "runs": len(s.records),
                     "passed": statuses.count("pass"), "lessons": s.lessons, "problems": s.problems})
    if as_json:
        json.dump({"format": 1, "sessions": rows, "notices": listing.notices}, sys.stdout, indent=2)
        print()
        return 0
    out = console()
    _notices(console(stderr=True), listing.notices)
    if not rows:
        out.print(f"no recorded sessions yet in {sessions_dir}; every run and check is recorded there")
        return 0
    table = Table(title=f"recorded sessions ({sessions_dir})", title_justify="left")
    for col in ("session", "started", "runs", "passed", "lessons"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(row["id"], row["started"], str(row["runs"]), str(row["passed"]), ", ".join(row["lessons"]))
    out.print(table)
    out.print(Text("replay one: pytorch-tutor replay SESSION (or --last, or --lesson ID)", style="dim"))
    return 0


def print_replay(replay: Any, code: bool = True, out: Any = None) -> None:
    """The whole replay as text: each attempt's facts, code, output, checks and visuals."""
    out = out or console()
    out.print(Text(safe_text(replay.title), style="bold"))
    for note in replay.notes:
        out.print(Text(f"note: {safe_text(note)}", style="yellow"))
    total = len(replay.attempts)
    for n, attempt in enumerate(replay.attempts, start=1):
        out.print(Rule(Text(f"{n}/{total}  {safe_text(attempt.label)}", style="bold"), align="left"))
        out.print(Text(safe_text(attempt.facts()), style="dim"))
        rec = attempt.record
        if code and rec.get("code"):
            out.print(Syntax(safe_text(rec["code"].rstrip("\n")), "python", line_numbers=True,
                             theme="ansi_dark", word_wrap=True))
            if rec.get("code_truncated"):
                out.print(Text("(code cut short in the recording)", style="dim"))
        if rec.get("events_dropped"):
            out.print(Text(f"({rec['events_dropped']} output event(s) not kept by the recording)", style="dim"))
        print_result(attempt.result(), str(rec.get("kind", "check")), out=out)
