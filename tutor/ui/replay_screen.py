"""A read-only viewer for recorded runs: ``run_replay(replay) -> int``.

Self-contained (it does not need the main app): a list of the attempts on the left, and the
selected attempt on the right — when and where it ran, the code, the output, the check
results and the visuals, drawn by ``tutor.render``. Nothing here runs code, imports torch or
starts a worker; the recording is only read. Keys: ↑/↓ or n/p to step, space/b to
scroll the attempt, q to quit.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tutor.display import outcome_line, output_panels, render_checks, safe_text
from tutor.marks import outcome_mark


def attempt_renderable(attempt: Any, width: int = 80) -> Group:
    """One attempt as Rich renderables (also what the viewer's tests look at)."""
    rec = attempt.record
    result = attempt.result()
    kind = str(rec.get("kind", "check"))
    parts: list[Any] = [Text(safe_text(attempt.label), style="bold"),
                        Text(safe_text(attempt.facts()), style="dim"),
                        outcome_line(result, kind)]
    if kind == "check" and result.checks:
        parts.append(Panel(render_checks(result), title="checks", title_align="left", border_style="dim"))
    parts.extend(output_panels(result))
    if result.truncated or rec.get("events_dropped"):
        parts.append(Text("(some output was not kept)", style="dim"))
    if result.artifacts:
        parts.append(_visuals(result.artifacts, width))
    if rec.get("code"):
        parts.append(Panel(Syntax(safe_text(rec["code"].rstrip("\n")), "python", line_numbers=True,
                                  theme="ansi_dark", word_wrap=True),
                           title="code" + (" (cut short)" if rec.get("code_truncated") else ""),
                           title_align="left", border_style="dim"))
    return Group(*parts)


def _visuals(artifacts: list[dict[str, Any]], width: int) -> Any:
    try:
        from tutor.render import render_artifact
    except ImportError:
        return Text(f"({len(artifacts)} visual(s) recorded; renderers unavailable)", style="dim")
    return Group(*(render_artifact(a, width=max(20, width - 4)) for a in artifacts))


class ReplayApp(App[int]):
    """Step through a :class:`tutor.record.Replay`. Read-only: there is nothing to run here."""

    TITLE = "pytorch-tutor replay"
    CSS = """
    #attempts { width: 30; border-right: solid $primary-darken-2; }
    #detail { padding: 0 1; }
    #banner { height: 1; background: $boost; padding: 0 1; }
    """
    BINDINGS = [
        Binding("q,escape", "quit", "quit"),
        Binding("n,right", "step(1)", "next"),
        Binding("p,left", "step(-1)", "previous"),
        Binding("space", "scroll_detail(1)", "scroll"),
        Binding("b", "scroll_detail(-1)", "back", show=False),
    ]

    def __init__(self, replay: Any) -> None:
        super().__init__()
        self.replay = replay

    def compose(self) -> ComposeResult:
        notes = f" · {len(self.replay.notes)} note(s)" if self.replay.notes else ""
        yield Static(Text(f"replay (read-only) · {safe_text(self.replay.title)}{notes}"), id="banner")
        options = []
        for n, attempt in enumerate(self.replay.attempts, start=1):
            status = str(attempt.record.get("status"))
            if attempt.record.get("kind") == "run" and status == "pass":
                status = "pass"  # a run that ran to the end: the same mark, never the word "passed"
            mark, style = outcome_mark(status)
            options.append(Option(Text.assemble((f"{mark} ", style), f"{n}. {safe_text(attempt.label)}"),
                                  id=f"attempt-{n - 1}"))
        with Horizontal():
            yield OptionList(*options, id="attempts")
            with VerticalScroll(id="detail"):
                yield Static(id="attempt")
        yield Footer()

    def on_mount(self) -> None:
        attempts = self.query_one("#attempts", OptionList)
        attempts.highlighted = 0
        attempts.focus()
        self.show(0)

    @property
    def current(self) -> int:
        highlighted = self.query_one("#attempts", OptionList).highlighted
        return highlighted if highlighted is not None else 0

    def show(self, index: int) -> None:
        attempt = self.replay.attempts[index]
        width = max(20, self.query_one("#detail").size.width - 2 or self.size.width - 34)
        body: list[Any] = [attempt_renderable(attempt, width)]
        if index == 0 and self.replay.notes:
            body.insert(0, Text("\n".join(f"note: {safe_text(n)}" for n in self.replay.notes), style="yellow"))
        self.query_one("#attempt", Static).update(Group(*body))
        self.query_one("#detail", VerticalScroll).scroll_home(animate=False)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index is not None:
            self.show(event.option_index)

    def action_step(self, delta: int) -> None:
        attempts = self.query_one("#attempts", OptionList)
        target = min(max(self.current + delta, 0), len(self.replay.attempts) - 1)
        attempts.highlighted = target

    def action_scroll_detail(self, direction: int) -> None:
        detail = self.query_one("#detail", VerticalScroll)
        if direction > 0:
            detail.scroll_page_down(animate=False)
        else:
            detail.scroll_page_up(animate=False)

    def action_quit(self) -> None:  # type: ignore[override]
        self.exit(0)


def run_replay(replay: Any) -> int:
    """Open the viewer on ``replay`` (a :class:`tutor.record.Replay`); returns the exit code."""
    return int(ReplayApp(replay).run() or 0)
