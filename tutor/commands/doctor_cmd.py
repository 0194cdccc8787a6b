"""``pytorch-tutor doctor``: what the tutor sees on this machine, and what it could enable."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.table import Table
from rich.text import Text

from tutor.devices import probe_environment, remember_devices
from tutor.display import console


def register(sub: Any) -> None:
    p = sub.add_parser("doctor", help="versions, devices, sandbox isolation and paths")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Any) -> int:
    info = probe_environment(ctx.python)
    if "error" not in info:  # what `--device auto` means here, cached for later starts
        remember_devices(ctx.paths.data, ctx.python or sys.executable, list(info.get("devices") or ["cpu"]))
    try:
        ctx.engine.start()
        isolation = ctx.engine.isolation
        mode = ctx.engine.hello.get("mode", "?")
    except Exception as exc:  # noqa: BLE001 - doctor reports, it does not crash
        isolation, mode = {"error": str(exc)}, "unavailable"
    paths = {"workspace": str(ctx.paths.workspace), "data": str(ctx.paths.data),
             "progress": str(ctx.paths.progress_file), "lessons": [str(d) for d in _lesson_dirs(ctx)]}
    if args.json:
        json.dump({"format": 1, "environment": info, "sandbox": {"mode": mode, "isolation": isolation},
                   "paths": paths, "lessons_loaded": len(ctx.course.lessons),
                   "lesson_errors": [str(e) for e in ctx.course.errors]}, sys.stdout, indent=2)
        print()
        return 0 if "error" not in info else 1
    out = console()
    env = Table(title="environment (the worker's interpreter)", title_justify="left", show_header=False)
    env.add_column(style="bold")
    env.add_column()
    for key in ("python", "executable", "torch", "torchvision", "devices", "cpu_capability", "threads", "error"):
        if key in info:
            value = info[key]
            env.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    cuda = info.get("cuda") or {}
    env.add_row("cuda", "available: " + ", ".join(cuda.get("names", [])) if cuda.get("available")
                else f"not available (build: {cuda.get('build') or 'cpu-only'})")
    out.print(env)
    iso = Table(title=f"sandbox ({mode} mode, isolation: {isolation.get('level', '?')})", title_justify="left")
    iso.add_column("layer")
    iso.add_column("on")
    iso.add_column("why")
    for name, layer in (isolation.get("layers") or {}).items():
        iso.add_row(name, Text("on", style="green") if layer.get("on") else Text("off", style="yellow"),
                    str(layer.get("why", "")))
    out.print(iso)
    p = Table(title="paths", title_justify="left", show_header=False)
    p.add_column(style="bold")
    p.add_column()
    for key, value in paths.items():
        p.add_row(key, "\n".join(value) if isinstance(value, list) else value)
    out.print(p)
    out.print(f"{len(ctx.course.lessons)} lessons loaded" + (f", {len(ctx.course.errors)} problem(s) — run "
                                                               f"`pytorch-tutor lint`" if ctx.course.errors else ""))
    return 0 if "error" not in info else 1


def _lesson_dirs(ctx: Any) -> list[Any]:
    from tutor.course.loader import builtin_lessons_dir

    return [builtin_lessons_dir(), *ctx.lesson_dirs]
