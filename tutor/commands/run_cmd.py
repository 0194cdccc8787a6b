"""``pytorch-tutor run FILE``: run any Python file in the sandbox and show what it produced."""

from __future__ import annotations

import argparse
import random
import shutil
import textwrap
from pathlib import Path
from typing import Any

from sandbox.protocol import RunRequest
from tutor.commands.check_cmd import CLI_OUTPUT_CAP
from tutor.engine import limits_for

DEFAULT_TIMEOUT_S = 30.0


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="run a Python file in the sandbox and show its output and visuals")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable result (docs/json.md)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                   help=f"wall-clock limit in seconds (default {DEFAULT_TIMEOUT_S:g})")
    p.add_argument("--seed", type=int, help="seed for torch, numpy and random (default: a fresh one)")
    p.add_argument("--file-size-mb", type=int, metavar="N", help="largest file the run may write, in MB (default 64)")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="set an environment variable for the run (repeatable)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Any) -> int:
    from tutor.cli import UserError

    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"no such file: {args.file}")
    if args.timeout <= 0:
        raise UserError("--timeout must be a positive number of seconds")
    if args.file_size_mb is not None and args.file_size_mb <= 0:
        raise UserError("--file-size-mb must be a positive number of megabytes")
    env = {}
    for item in args.env:
        name, eq, value = item.partition("=")
        if not eq or not name.isidentifier():
            raise UserError(f"--env takes NAME=VALUE, got {item!r}")
        env[name] = value
    overrides: dict[str, Any] = {"output_bytes": CLI_OUTPUT_CAP}
    if args.file_size_mb:
        overrides["file_size_mb"] = args.file_size_mb
    request = RunRequest(kind="run", file=str(path.resolve()), limits=limits_for(args.timeout, overrides), env=env,
                         seed=args.seed if args.seed is not None else random.randrange(1, 2**31),
                         device=ctx.resolved_device)
    from tutor.commands.check_cmd import print_outcome
    from tutor.failfast import syntax_error

    result = syntax_error(path, ctx.python) or ctx.engine.submit(request)
    print_outcome(result, "run", args.json)
    if not args.json:
        width = max(40, shutil.get_terminal_size((80, 24)).columns)
        for note in getattr(result, "notes", None) or []:  # what the sandbox did differently from plain Python
            print(textwrap.fill(f"note: {note}", width=width, subsequent_indent="      ", break_on_hyphens=False))
    return {"pass": 0, "fail": 1}.get(result.status, 2)
