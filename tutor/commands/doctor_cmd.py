"""``pytorch-tutor doctor``: what the tutor sees on this machine, and what it could enable."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.table import Table
from rich.text import Text

from tutor.devices import probe_environment, remember_devices
from tutor.plain import plain_console as console  # no trailing blanks; no 80-column wrap in a pipe


def register(sub: Any) -> None:
    p = sub.add_parser("doctor", help="versions, devices, sandbox isolation and paths")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--fresh", action="store_true", help="probe the interpreter and the sandbox again (no cache)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Any) -> int:
    from tutor.probecache import ProbeCache

    cache = ProbeCache(ctx.paths.data, ctx.python)
    info, cached = cache.probe(probe_environment, fresh=args.fresh, python_arg=ctx.python)
    if "error" not in info:  # what `--device auto` means here, cached for later starts
        remember_devices(ctx.paths.data, ctx.python or sys.executable, list(info.get("devices") or ["cpu"]))
    sandbox = _sandbox_report(ctx, cache, args.fresh)
    paths = {"workspace": str(ctx.paths.workspace), "data": str(ctx.paths.data),
             "progress": str(ctx.paths.progress_file), "lessons": [str(d) for d in _lesson_dirs(ctx)]}
    if args.json:
        json.dump({"format": 1, "environment": info, "environment_cached": cached, "sandbox": sandbox,
                   "paths": paths, "lessons_loaded": len(ctx.course.lessons),
                   "lesson_errors": [str(e) for e in ctx.course.errors]}, sys.stdout, indent=2)
        print()
        return 0 if "error" not in info else 1
    out = console()
    _heading(out, "environment (the worker's interpreter)" + (", cached: `doctor --fresh` probes again" if cached else ""))
    rows = []
    for key in ("python", "executable", "torch", "torchvision", "devices", "cpu_capability", "threads", "error"):
        if key in info:
            value = info[key]
            rows.append((key, ", ".join(value) if isinstance(value, list) else str(value)))
    cuda = info.get("cuda") or {}
    rows.append(("cuda", "available: " + ", ".join(cuda.get("names", [])) if cuda.get("available")
                 else f"not available (build: {cuda.get('build') or 'cpu-only'})"))
    out.print(_pairs(rows))
    isolation = sandbox.get("isolation") or {}
    heading = f"sandbox: {sandbox.get('mode', '?')} mode, isolation {isolation.get('level', '?')}"
    if sandbox.get("source") == "cached":
        heading += " (cached for this boot)"
    _heading(out, heading)
    if isolation.get("error"):
        out.print(Text(f"  {isolation['error']}", style="red"))
    layers = Table(show_header=False, box=None, pad_edge=False, padding=(0, 1))
    layers.add_column(no_wrap=True)
    layers.add_column(style="bold", no_wrap=True)
    layers.add_column(overflow="fold")
    for name, layer in (isolation.get("layers") or {}).items():
        layers.add_row(Text(" on", style="green") if layer.get("on") else Text(" off", style="yellow"), name,
                       str(layer.get("why", "")))
    out.print(layers)
    _heading(out, "paths")
    out.print(_pairs([(key, "\n".join(value) if isinstance(value, list) else value) for key, value in paths.items()]))
    out.print(f"{len(ctx.course.lessons)} lessons loaded" + (f", {len(ctx.course.errors)} problem(s) — run "
                                                               f"`pytorch-tutor lint`" if ctx.course.errors else ""))
    return 0 if "error" not in info else 1


def _sandbox_report(ctx: Any, cache: Any, fresh: bool) -> dict[str, Any]:
    """Mode and isolation layers: from the running worker when one is warm (a shared one
    answers in milliseconds), else from this boot's cached report, else by starting one."""
    engine = ctx.engine
    warm = getattr(engine, "connect_if_running", None)
    running = bool(warm()) if callable(warm) else False
    if not fresh and not running and ctx.device in ("auto", "cpu"):
        remembered = cache.isolation()
        if remembered is not None:
            return dict(remembered, source="cached")
    try:
        engine.start()
        report = {"mode": engine.hello.get("mode", "?"), "isolation": engine.isolation}
        if report["isolation"] and ctx.device in ("auto", "cpu"):
            cache.remember_isolation(report)
        return dict(report, source="worker")
    except Exception as exc:  # noqa: BLE001 - doctor reports, it does not crash
        return {"mode": "unavailable", "isolation": {"error": str(exc)}, "source": "error"}


def _heading(out: Any, text: str) -> None:
    out.print(Text(text, style="bold"))


def _pairs(rows: list[tuple[str, str]]) -> Table:
    """Two columns without borders: at 80 columns the values get the width, and nothing
    is padded with trailing spaces."""
    table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(f" {key}", value)
    return table


def _lesson_dirs(ctx: Any) -> list[Any]:
    from tutor.course.loader import builtin_lessons_dir

    return [builtin_lessons_dir(), *ctx.lesson_dirs]
