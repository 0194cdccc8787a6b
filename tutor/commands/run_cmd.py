"""``pytorch-tutor run FILE``: run any Python file in the sandbox and show what it produced."""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

from sandbox.protocol import RunRequest
from tutor.display import print_result
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
    limits = limits_for(args.timeout, {"file_size_mb": args.file_size_mb} if args.file_size_mb else None)
    request = RunRequest(kind="run", file=str(path.resolve()), limits=limits, env=env,
                         seed=args.seed if args.seed is not None else random.randrange(1, 2**31),
                         device=ctx.resolved_device)
    result = ctx.engine.submit(request)
    if args.json:
        json.dump(result.to_json("run"), sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print_result(result, "run")
        width = max(40, shutil.get_terminal_size((80, 24)).columns)
        for note in result.notes:  # what the sandbox did differently from plain Python, and where outputs went
            print(textwrap.fill(f"note: {note}", width=width, subsequent_indent="      ", break_on_hyphens=False))
    return {"pass": 0, "fail": 1}.get(result.status, 2)
