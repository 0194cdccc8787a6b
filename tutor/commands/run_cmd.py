"""``pytorch-tutor run FILE``: run any Python file in the sandbox and show what it produced."""

from __future__ import annotations

import argparse
import random
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
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Any) -> int:
    from tutor.cli import UserError

    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"no such file: {args.file}")
    if args.timeout <= 0:
        raise UserError("--timeout must be a positive number of seconds")
    request = RunRequest(kind="run", file=str(path.resolve()), limits=limits_for(args.timeout, {"output_bytes": CLI_OUTPUT_CAP}),
                         seed=args.seed if args.seed is not None else random.randrange(1, 2**31),
                         device=ctx.resolved_device)
    from tutor.commands.check_cmd import print_outcome
    from tutor.failfast import syntax_error

    result = syntax_error(path, ctx.python) or ctx.engine.submit(request)
    print_outcome(result, "run", args.json)
    return {"pass": 0, "fail": 1}.get(result.status, 2)
