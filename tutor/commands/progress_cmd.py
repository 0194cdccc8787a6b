"""``pytorch-tutor progress [show | export FILE | import FILE | reset [ID]]``: manage your progress.

The JSON that ``export`` writes and ``import`` reads is the progress file's own shape
(docs/recording.md). ``import`` merges by default — nothing either side knows is lost — or
replaces with ``--replace``. ``reset`` and ``import --replace`` ask first (``--yes`` when
not at a terminal) and keep a backup of the old file. Exercise files are never touched.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from tutor.display import console

#: Keys of an export that belong in the progress file (the rest describe the export).
_DOCUMENT_KEYS = ("version", "last", "exercises")


def register(sub: Any) -> None:
    p = sub.add_parser("progress", help="show, export, import or reset your progress")
    p.set_defaults(handler=run, action="show", json=False)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    show = actions.add_parser("show", help="what you have passed and attempted, per lesson (default)")
    show.add_argument("--json", action="store_true", help="print the progress document itself")
    exp = actions.add_parser("export", help="write your progress to FILE as JSON ('-' for stdout)")
    exp.add_argument("file", metavar="FILE")
    exp.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    imp = actions.add_parser("import", help="merge progress from FILE (or replace with --replace)")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--replace", action="store_true",
                     help="replace your progress with FILE's instead of merging (asks first)")
    imp.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    reset = actions.add_parser("reset", help="forget your progress on a lesson, an exercise, or everything")
    reset.add_argument("target", nargs="?", metavar="ID", help="a lesson (1.3) or exercise (1.3/standardize); "
                                                                 "default: everything")
    reset.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    from tutor.cli import add_common

    for action in (show, exp, imp, reset):   # `progress reset 1.3 --workspace W` works too
        add_common(action, suppress=True)


def run(args: argparse.Namespace, ctx: Any) -> int:
    progress = ctx.progress
    if progress.notice:
        console(stderr=True).print(Text(f"note: {progress.notice}", style="yellow"))
    action = args.action or "show"
    return {"show": _show, "export": _export, "import": _import, "reset": _reset}[action](args, ctx)


def confirm(question: str, yes: bool, action: str) -> bool:
    """``--yes``, or a y/N answer at a terminal; refuses (UserError) when nobody can answer."""
    from tutor.cli import UserError

    if yes:
        return True
    if not sys.stdin.isatty():
        raise UserError(f"`progress {action}` asks for confirmation and there is no terminal to ask; "
                        "pass --yes to go ahead")
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _show(args: argparse.Namespace, ctx: Any) -> int:
    data = ctx.progress.data
    if args.json:
        json.dump(data, sys.stdout, indent=2, sort_keys=True, ensure_ascii=False)
        print()
        return 0
    out = console()
    table = Table(title="progress", title_justify="left")
    for col in ("lesson", "title", "passed", "attempted", "new"):
        table.add_column(col, overflow="fold")
    known: set[str] = set()
    for lesson in ctx.course.lessons:
        refs = [e.ref for e in lesson.exercises]
        known.update(refs)
        counts = ctx.progress.counts(refs)
        table.add_row(lesson.id, lesson.title, Text(str(counts["passed"]), style="green" if counts["passed"] else ""),
                      str(counts["attempted"]), str(counts["new"]))
    out.print(table)
    orphans = sorted(set(data["exercises"]) - known)
    if orphans:
        out.print(Text(f"also recorded, not in this course: {', '.join(orphans)}", style="dim"))
    if data.get("last"):
        out.print(Text(f"last: {data['last']}", style="dim"))
    out.print(Text(f"file: {ctx.progress.path}", style="dim"))
    return 0


def _export(args: argparse.Namespace, ctx: Any) -> int:
    from tutor import __version__
    from tutor.cli import UserError
    from tutor.storage import atomic_write_text

    doc = {k: ctx.progress.data.get(k) for k in _DOCUMENT_KEYS}
    doc.update(exported=time.strftime("%Y-%m-%dT%H:%M:%S%z"), tutor=__version__)
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if args.file == "-":
        sys.stdout.write(text)
        return 0
    target = Path(args.file).expanduser()
    if target.is_dir():
        raise UserError(f"{args.file} is a folder; name a file to write")
    if target.exists() and not args.force:
        raise UserError(f"{args.file} exists; pass --force to overwrite it")
    try:
        atomic_write_text(target, text)
    except OSError as exc:
        raise UserError(f"cannot write {args.file}: {exc.strerror or exc}") from None
    n = len(doc["exercises"] or {})
    console().print(f"exported progress on {n} exercise(s) to {target}")
    return 0


def load_export(file: str) -> dict[str, Any]:
    """Read and validate an exported progress file; a UserError names what is wrong."""
    from tutor.cli import UserError
    from tutor.progress import progress_problems

    try:
        text = sys.stdin.read() if file == "-" else Path(file).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"no such file: {file}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UserError(f"{file} is not JSON: {exc}") from None
    problems = progress_problems(data)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise UserError(f"{file} is not a pytorch-tutor progress file: {problems[0]}{more}")
    return {k: data[k] for k in _DOCUMENT_KEYS if k in data}


def _import(args: argparse.Namespace, ctx: Any) -> int:
    incoming = load_export(args.file)
    progress = ctx.progress
    out = console()
    n = len(incoming.get("exercises") or {})
    if args.replace:
        mine = len(progress.data["exercises"])
        if not confirm(f"Replace your progress on {mine} exercise(s) with {args.file}'s {n}?", args.yes, "import --replace"):
            out.print("nothing changed")
            return 1
    backup = progress.backup()
    progress.import_data(incoming, replace=args.replace)
    verb = "replaced your progress with" if args.replace else "merged"
    out.print(f"{verb} progress on {n} exercise(s) from {args.file}")
    if backup:
        out.print(Text(f"the previous file was kept as {backup}", style="dim"))
    unknown = sorted(ref for ref in incoming.get("exercises") or {} if ctx.course.find_exercise(ref) is None)
    if unknown:
        out.print(Text(f"kept {len(unknown)} exercise(s) this course does not have: {', '.join(unknown[:5])}"
                       + (", ..." if len(unknown) > 5 else ""), style="dim"))
    return 0


def _reset(args: argparse.Namespace, ctx: Any) -> int:
    from tutor.cli import UserError

    progress = ctx.progress
    target = args.target.strip().rstrip("/") if args.target else None
    if target is not None:
        exercise = ctx.course.find_exercise(target) if "/" in target else None
        if exercise is not None:
            target = exercise.ref
        known = ctx.course.lesson(target) is not None or exercise is not None
        recorded = any(r == target or r.startswith(target + "/") for r in progress.data["exercises"])
        if not known and not recorded:
            raise UserError(f"no lesson or exercise {target!r} (see `pytorch-tutor list`)")
    refs = [r for r in progress.data["exercises"] if target is None or r == target or r.startswith(target + "/")]
    out = console()
    if not refs:
        out.print(f"nothing to reset: no progress recorded{f' on {target}' if target else ''}")
        return 0
    passed = sum(1 for r in refs if progress.state(r) == "passed")
    what = f"on {target}" if target else "on every lesson"
    question = (f"Forget your progress {what} ({len(refs)} exercise(s), {passed} passed)? "
                "Your exercise files are kept.")
    if not confirm(question, args.yes, "reset"):
        out.print("nothing changed")
        return 1
    backup = progress.backup()
    removed = progress.reset(target)
    out.print(f"reset progress on {len(removed)} exercise(s)")
    if backup:
        out.print(Text(f"the previous file was kept as {backup}", style="dim"))
    return 0
