"""Printing results in a terminal with rich (headless commands; the TUI has its own views).

Learner output is printed as text: ``rich.text.Text`` never interprets markup, and control
characters (escape sequences that could move the cursor or retitle the terminal) are
replaced before anything reaches the screen.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from sandbox.protocol import RunResult

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")

OUTCOME_EXPLANATIONS = {
    "timeout": "Your code ran past its time limit — an infinite loop, or much more work than needed?",
    "memory": "Your code ran out of memory — a tensor far bigger than intended, or a list that keeps growing?",
    "signal": "Your code's process was killed by a signal",
    "exit": "Your program ended with",
    "exception": "Your code raised an exception",
}


def safe_text(text: str) -> str:
    """Replace control characters (ESC, CSI, BEL, ...) with visible placeholders."""
    text = text.replace("\r\n", "\n")
    return _CONTROL.sub(lambda m: "\\x%02x" % ord(m.group()), text)


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def outcome_line(result: RunResult) -> Text:
    if result.status == "error" and result.error:
        return Text(f"✗ the tutor could not check this: {result.error}", style="bold red")
    if result.outcome == "ok":
        if result.status == "pass":
            return Text("✓ passed", style="bold green")
        return Text("✗ not yet", style="bold yellow")
    base = OUTCOME_EXPLANATIONS.get(result.outcome, result.outcome)
    detail = result.detail
    if result.outcome == "exit":
        return Text(f"✗ {base} {detail}.", style="bold red")
    return Text(f"✗ {base}" + (f": {detail}" if detail else "."), style="bold red")


def render_checks(result: RunResult) -> Group:
    rows: list[Any] = []
    marks = {"pass": ("✓", "green"), "fail": ("✗", "red"), "error": ("!", "magenta"), "skip": ("-", "dim")}
    for check in result.checks:
        mark, style = marks.get(check.status, ("?", ""))
        line = Text.assemble((f" {mark} ", f"bold {style}"), (check.name, "bold"))
        if check.message and (check.status != "pass" or check.message):
            line.append("  ")
            line.append(safe_text(check.message), style="" if check.status == "pass" else style)
        rows.append(line)
    return Group(*rows)


def output_panels(result: RunResult) -> list[Panel]:
    """The program's stdout and stderr as panels (escape sequences made visible)."""
    panels = []
    for text, title, style in ((result.stdout, "output", "dim"), (result.stderr, "errors", "red")):
        if text.strip():
            panels.append(Panel(Text(safe_text(text.rstrip("\n"))), title=title, title_align="left",
                                border_style=style))
    return panels


def print_result(result: RunResult, kind: str = "check", out: Console | None = None) -> None:
    out = out or console()
    for panel in output_panels(result):
        out.print(panel)
    if result.truncated:
        out.print(Text(f"(output truncated: {result.dropped_bytes:,} bytes dropped)", style="dim"))
    if result.artifacts:
        _print_artifacts(result, out)
    if result.metrics:
        _print_metrics(result, out)
    if kind == "check" and result.checks:
        out.print(render_checks(result))
    out.print(outcome_line(result), Text(f"  ({result.duration_ms / 1000:.2f} s)", style="dim"))


def _print_metrics(result: RunResult, out: Console) -> None:
    """The run's ``show.metric`` series as one chart (the TUI draws the same one live)."""
    try:
        from tutor.render import render_metrics
    except ImportError:
        return
    out.print(render_metrics(result.metrics, width=min(out.width, 100), height=16))


def _print_artifacts(result: RunResult, out: Console) -> None:
    """Draw the run's artifacts with the renderers, when they are installed."""
    try:
        from tutor.render import render_artifact
    except ImportError:
        out.print(Text(f"({len(result.artifacts)} visual(s) produced; renderers unavailable)", style="dim"))
        return
    for artifact in result.artifacts:
        out.print(render_artifact(artifact, width=out.width))
