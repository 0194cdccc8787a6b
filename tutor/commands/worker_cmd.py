"""``pytorch-tutor worker start|stop|status``: the shared warm worker the commands reuse.

``start`` starts (or finds) the worker for ``--python``/``--device`` and waits until it is
warm; ``stop`` stops this user's workers (only the matching one with ``--python`` or an
explicit ``--device``); ``status`` says what runs, on which interpreter and device. See
tutor/workerd for how it works.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from rich.table import Table

from tutor.plain import plain_console as console  # no trailing blanks; no 80-column wrap in a pipe


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="start, stop or inspect the shared warm worker that commands reuse")
    p.add_argument("action", choices=("start", "stop", "status"))
    p.add_argument("--idle", type=float, metavar="MIN",
                   help="start: exit after this many minutes without a client (default 15)")
    p.add_argument("--json", action="store_true", help="status: machine-readable output")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Any) -> int:
    from tutor.cli import UserError
    from tutor.workerd.runtime import RuntimeDirError

    try:
        if args.action == "start":
            return _start(args, ctx)
        if args.action == "stop":
            return _stop(args, ctx)
        return _status(args)
    except RuntimeDirError as exc:
        raise UserError(str(exc)) from None


def _start(args: argparse.Namespace, ctx: Any) -> int:
    from tutor.cli import UserError, _refuse_unusable_device
    from tutor.engine import EngineError
    from tutor.workerd.client import RemoteEngine

    if args.idle is not None and args.idle <= 0:
        raise UserError("--idle must be a positive number of minutes")
    _refuse_unusable_device(ctx)
    started = time.monotonic()
    engine = RemoteEngine(python=ctx.python, device=ctx.resolved_device, data_dir=ctx.paths.data,
                          idle_s=None if args.idle is None else args.idle * 60)
    try:
        engine.start()
    except EngineError as exc:
        raise UserError(str(exc)) from None
    finally:
        engine.close()
    daemon = engine.daemon
    console().print(f"worker ready: pid {daemon.get('pid')}, {daemon.get('python')} ({daemon.get('device')}), "
                    f"{time.monotonic() - started:.2f} s")
    return 0


def _stop(args: argparse.Namespace, ctx: Any) -> int:
    from tutor.workerd import client
    from tutor.workerd.runtime import socket_path, worker_key
    from tutor.engine import sandbox_parent

    if ctx.python or ctx.device != "auto":
        sock = socket_path(worker_key(ctx.python or sys.executable, ctx.resolved_device, sandbox_parent()))
        reply = client.ask(sock, {"type": "stop"})
        if reply is not None:
            client._wait_gone(sock, reply.get("pid"))
        stopped = [reply] if reply else []
    else:
        stopped = client.stop_all()
    out = console()
    if not stopped:
        out.print("no worker was running")
    for reply in stopped:
        out.print(f"stopped worker pid {reply.get('pid')}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from tutor.workerd import client
    from tutor.workerd.runtime import runtime_dir

    found = client.statuses()
    if args.json:
        json.dump({"format": 1, "runtime_dir": str(runtime_dir()),
                   "workers": [{k: v for k, v in s.items() if k != "type"} for s in found]}, sys.stdout, indent=2)
        print()
        return 0
    out = console()
    if not found:
        out.print(f"no worker running (sockets live in {runtime_dir()}); the next check starts one")
        return 0
    for status in found:
        table = Table(title=f"worker pid {status.get('pid')}", title_justify="left", show_header=False,
                      box=None, pad_edge=False)
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        busy = status.get("running_for_s")
        rows = [
            ("interpreter", f"{status.get('python')} (Python {status.get('worker_python') or '?'})"),
            ("device", str(status.get("device"))),
            ("state", f"{status.get('state')}, {status.get('mode') or '?'} sandbox"
                      + (f", running a request for {busy:.1f} s" if busy is not None else "")),
            ("served", f"{status.get('requests')} request(s); {status.get('waiting')} waiting"),
            ("up", f"{_duration(status.get('uptime_s'))}; idle {_duration(status.get('idle_s'))}, "
                   f"exits after {_duration(status.get('idle_exit_s'))} idle"),
            ("socket", str(status.get("socket"))),
        ]
        for key, value in rows:
            table.add_row(key, value)
        out.print(table)
    return 0


def _duration(seconds: Any) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return "?"
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"
