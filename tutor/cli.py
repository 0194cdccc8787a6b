"""``pytorch-tutor``: the command line.

With no command it opens the TUI. Every command lives in its own module under
``tutor/commands`` and is listed in ``COMMANDS``; each module provides ``register(sub)``
(adds its parser) and ``run(args, ctx) -> int``. Bad input anywhere ends in one clear line
on stderr and a non-zero exit, never a traceback (``UserError``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from tutor import __version__

#: (command name, module under tutor.commands). Order is the order in --help.
COMMANDS = [
    ("list", "list_cmd"),
    ("show", "show_cmd"),
    ("check", "check_cmd"),
    ("watch", "watch_cmd"),
    ("answer", "answer_cmd"),
    ("run", "run_cmd"),
    ("lint", "lint_cmd"),
    ("doctor", "doctor_cmd"),
    ("schema", "schema_cmd"),
    ("bench", "bench_cmd"),
    ("replay", "replay_cmd"),
    ("progress", "progress_cmd"),
    ("worker", "worker_cmd"),
]

#: Commands that run learner code: a device that cannot work is refused before they start.
RUNS_CODE = {"check", "watch", "run", "answer"}


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


#: Common options that take a value (to find the command name in argv without parsing).
_VALUE_OPTIONS = ("--workspace", "--lessons", "--python", "--device")


def command_in(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` (the first word that is not an option or its value)."""
    names = {name for name, _ in COMMANDS}
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word == "--":
            return None
        if word.startswith("-"):
            skip = word in _VALUE_OPTIONS
            continue
        return word if word in names else None
    return None


def opens_tui(argv: Sequence[str]) -> bool:
    """True when ``argv`` is only common options (no word, no help): the TUI opens, and no
    command's module need be imported for the parser (a tenth of a second of the TUI's start)."""
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word in ("-h", "--help", "--version") or not word.startswith("-") or word == "--":
            return False
        skip = word in _VALUE_OPTIONS
    return True


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, just that command's (its module alone is imported: a
    `check` need not import what `lint` or `show` use — tenths of a second from a shell);
    with ``only=""``, no command's (the TUI's start: see ``opens_tui``)."""
    parser = argparse.ArgumentParser(
        prog="pytorch-tutor",
        description="A guided PyTorch course in the terminal. With no command, opens the tutor.",
    )
    parser.add_argument("--version", action="version", version=f"pytorch-tutor {__version__}")
    add_common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS:
        if only is not None and name != only:
            continue
        importlib.import_module(f"tutor.commands.{module}").register(sub)
    # The common options work after the command name too (`check 1.3/x --workspace W`).
    for subparser in sub.choices.values():
        add_common(subparser, suppress=True)
    return parser


def add_common(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """Options every command shares. On subparsers their defaults are suppressed, so a
    value given before the command name is not overwritten by the subparser's default."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("common options")
    group.add_argument("--workspace", metavar="DIR", default=default(None),
                       help="folder for your exercise files (default: $PYTORCH_TUTOR_WORKSPACE or ~/pytorch-tutor)")
    group.add_argument("--lessons", metavar="DIR", action="append", default=default([]),
                       help="an extra folder of lessons (repeatable)")
    group.add_argument("--python", metavar="PATH", default=default(None),
                       help="the interpreter that runs your code (e.g. a conda env with CUDA torch)")
    group.add_argument("--device", default=default(os.environ.get("PYTORCH_TUTOR_DEVICE", "auto")),
                       help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    group.add_argument("--no-worker", action="store_true", default=default(_env_flag("PYTORCH_TUTOR_NO_WORKER")),
                       help="run in a worker of this command's own instead of the shared warm one "
                            "(`pytorch-tutor worker`); also $PYTORCH_TUTOR_NO_WORKER=1")


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "no", "false")


def main(argv: Sequence[str] | None = None) -> int:
    from tutor.context import Context

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only="" if opens_tui(argv) else command_in(argv))
    args = parser.parse_args(argv)
    from tutor.devices import valid_device

    if not valid_device(args.device):
        parser.error(f"--device must be auto, cpu, cuda, cuda:N or mps, not {args.device!r}")
    # The TUI keeps a worker of its own; every command shares the user's warm one.
    ctx = Context(workspace=args.workspace, lesson_dirs=list(args.lessons), python=args.python, device=args.device,
                  use_worker=args.command is not None and not args.no_worker)
    try:
        if args.command is None:
            return _open_tui(ctx)
        if args.command in RUNS_CODE:
            _refuse_unusable_device(ctx)
        return int(args.handler(args, ctx) or 0)
    except UserError as exc:
        print(f"pytorch-tutor: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pytorch-tutor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        ctx.close()


def _refuse_unusable_device(ctx: object) -> None:
    from tutor.failfast import device_problem

    problem = device_problem(ctx.device, ctx.python, ctx.paths.data)  # type: ignore[attr-defined]
    if problem:
        raise UserError(problem)


def _open_tui(ctx: object) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("the full-screen tutor needs a terminal; without one, use `pytorch-tutor list`, "
                        "`show`, `check` and `run` (see --help)")
    from tutor.ui.app import run_app  # imported only here: the commands never pay for textual

    return int(run_app(ctx) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
