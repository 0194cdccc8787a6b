"""Printing results in a terminal with rich (headless commands; the TUI has its own views).

Learner output is printed as text: ``rich.text.Text`` never interprets markup, and control
characters (escape sequences that could move the cursor or retitle the terminal) are
replaced before anything reaches the screen. Output is shown as a terminal would show it:
a carriage return starts the line again (progress bars), colour and bold codes (torch
prints some) are dropped rather than shown escaped, and a long output keeps its beginning
and its end (the last lines are usually the ones that matter).
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from sandbox.protocol import RunResult
from tutor.marks import outcome_mark

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")
#: Select Graphic Rendition (colour, bold, underline): harmless, so dropped instead of shown.
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_INLINE = re.compile(r"`([^`\n]+)`|\*\*([^*\n]+)\*\*")

#: A long output keeps this many characters from its beginning and as many from its end.
HEAD_CHARS = 24 * 1024
TAIL_CHARS = 24 * 1024

NO_KEYBOARD = ("The sandbox has no keyboard input, so input() cannot read anything (EOFError). "
               "Put the value in your code instead, e.g. n = 5.")

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


def collapse_returns(text: str) -> str:
    """Each line as a terminal leaves it after carriage returns: the text after the last
    ``\\r`` wins (a progress bar shows its final state, not every frame)."""
    if "\r" not in text:
        return text
    lines = text.replace("\r\n", "\n").split("\n")
    out = []
    for line in lines:
        if "\r" in line:
            parts = [p for p in line.split("\r") if p]
            line = parts[-1] if parts else ""
        out.append(line)
    return "\n".join(out)


def clean_output(text: str) -> str:
    """Learner stdout/stderr, ready to show: carriage returns applied, colour codes dropped,
    every other control character made visible."""
    return safe_text(_SGR.sub("", collapse_returns(text)))


def head_and_tail(text: str, head: int = HEAD_CHARS, tail: int = TAIL_CHARS) -> tuple[str, int]:
    """``text`` with its middle dropped when it is longer than ``head + tail`` characters,
    cut at line boundaries where one is near; returns the text and how many characters
    were dropped (0 when nothing was)."""
    if len(text) <= head + tail:
        return text, 0
    start, end = text[:head], text[-tail:]
    cut = start.rfind("\n")
    if cut > head // 2:
        start = start[:cut + 1]
    cut = end.find("\n")
    if 0 <= cut < tail // 2:
        end = end[cut + 1:]
    dropped = len(text) - len(start) - len(end)
    return start + omitted_line(dropped) + end, dropped


def omitted_line(dropped_chars: int) -> str:
    return f"\n… {dropped_chars:,} characters of output left out here (the beginning and the end are kept) …\n"


def inline_markdown(text: str, style: str = "") -> Text:
    """A message with its inline Markdown drawn (`code`, **bold**), never interpreted as
    Rich markup; control characters made visible."""
    text = safe_text(text)
    out = Text(style=style)
    pos = 0
    for match in _INLINE.finditer(text):
        out.append(text[pos:match.start()])
        if match.group(1) is not None:
            out.append(match.group(1), style="bold cyan")
        else:
            out.append(match.group(2), style="bold")
        pos = match.end()
    out.append(text[pos:])
    return out


def explanations(result: RunResult) -> list[str]:
    """Plain-language notes for outcomes whose raw form confuses (input() with no keyboard)."""
    said = f"{result.stderr or ''}\n{result.detail or ''}"
    notes = []
    if "EOFError" in said and ("input(" in said or "EOF when reading a line" in said):
        notes.append(NO_KEYBOARD)
    return notes


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def outcome_line(result: RunResult, kind: str = "check") -> Text:
    """How a run or check ended, in one line. A plain run that finished "ran to the end":
    only checks pass."""
    fail_mark, fail_style = outcome_mark("fail")
    if result.status == "error" and result.error:
        what = "check" if kind == "check" else "run"
        return Text(f"{outcome_mark('error')[0]} the tutor could not {what} this: {safe_text(result.error)}",
                    style=f"bold {outcome_mark('error')[1]}")
    if result.outcome == "ok":
        pass_mark, pass_style = outcome_mark("pass")
        if kind == "run":
            return Text(f"{pass_mark} ran to the end", style=f"bold {pass_style}")
        if result.status == "pass":
            return Text(f"{pass_mark} passed", style=f"bold {pass_style}")
        return Text(f"{fail_mark} not yet", style=f"bold {fail_style}")
    base = OUTCOME_EXPLANATIONS.get(result.outcome, result.outcome)
    detail = result.detail
    if result.outcome == "exit":
        return Text(f"{fail_mark} {base} {detail}.", style=f"bold {fail_style}")
    end = "" if base.endswith(("?", ".", "!")) else "."
    return Text(f"{fail_mark} {base}" + (f": {detail}" if detail else end), style=f"bold {fail_style}")


def render_checks(result: RunResult) -> Group:
    rows: list[Any] = []
    for check in result.checks:
        mark, style = outcome_mark(check.status)
        line = Text.assemble((f" {mark} ", f"bold {style}"), (safe_text(check.name), "bold"))
        if check.message:
            line.append("  ")
            line.append_text(inline_markdown(check.message, style="" if check.status == "pass" else style))
        rows.append(line)
    return Group(*rows)


def output_panels(result: RunResult) -> list[Panel]:
    """The program's stdout and stderr as panels, shown as a terminal would show them."""
    panels = []
    for text, title, style in ((result.stdout, "stdout", "dim"), (result.stderr, "stderr", "red")):
        shown, _ = head_and_tail(clean_output(text or ""))
        if shown.strip():
            panels.append(Panel(Text(shown.rstrip("\n")), title=title, title_align="left",
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
    for note in explanations(result):
        out.print(Text(note, style="yellow"))
    out.print(outcome_line(result, kind), Text(f"  ({result.duration_ms / 1000:.2f} s)", style="dim"))


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
