"""The output pane: tabs for the program's output, the checks, the visuals, the loss curve.

Learner output is untrusted text. It goes through ``tutor.display.clean_output`` (carriage
returns applied as a terminal would, colour codes dropped, every other control character a
visible ``\\x1b`` placeholder) and is shown as ``rich.text.Text``, which never interprets
markup — so printed escape sequences cannot move the cursor or retitle the terminal, and
``[bold]`` prints as typed. A long output keeps its beginning live and its end (shown when
the run ends); the middle is dropped, and the pane says so once.
"""

from __future__ import annotations

import io
from collections import deque
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import RichLog, Static, TabbedContent, TabPane

from tutor.display import (HEAD_CHARS, TAIL_CHARS, clean_output, collapse_returns, explanations,
                           omitted_line, outcome_line, render_checks, safe_text)
from tutor.marks import outcome_mark

#: Partial lines are held back until their newline arrives, but never beyond this size.
MAX_PENDING_CHARS = 4096
#: Tab name -> pane id; alt+1..4 pick them in this order.
TABS = ("output", "checks", "visuals", "loss")


def renderers() -> tuple[Any, Any] | None:
    """``(render_artifact, render_metrics)`` from ``tutor.render``, or None if unavailable."""
    try:
        from tutor.render import render_artifact, render_metrics  # type: ignore[attr-defined]
    except ImportError:
        return None
    return render_artifact, render_metrics


def finish_line(result: Any, kind: str) -> Text:
    """How a run ended, in one line; a cancelled run says so instead of "timeout"."""
    if result.detail == "cancelled":
        mark, style = outcome_mark("stopped")
        return Text(f"{mark} stopped", style=f"bold {style}")
    line = outcome_line(result, kind)
    if result.duration_ms:
        line.append(f"  ({result.duration_ms / 1000:.2f} s)", style="dim")
    return line


class OutputLog(RichLog):
    """stdout and stderr, streamed; stderr lines in red. Lines are assembled per stream.

    The first ``HEAD_CHARS + TAIL_CHARS`` characters are shown as they come; after that the
    lines are held in a window of the last ``TAIL_CHARS`` characters, written when the run
    ends, with one line saying how much was left out in between.
    """

    def __init__(self, **kwargs: Any) -> None:
        # min_width: a RichLog renders at 78 columns at least by default, which cuts the
        # right end (a traceback's line number) off in a narrow pane. Lines are wrapped at
        # the width the log has, and wrapped again when it changes (see on_resize), so a
        # line written while the tab was hidden is not left wrapped at a sliver.
        super().__init__(wrap=True, markup=False, highlight=False, auto_scroll=True, min_width=20, **kwargs)
        self._entries: list[Text] = []
        self._wrapped_at = 0
        self.reset_counts()

    def write(self, content: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if isinstance(content, Text) and not self._shown():
            # On a hidden tab the width is not the one the line will be read at: keep the
            # line and draw everything when the tab is shown.
            self._entries.append(content)
            self._stale = True
            return self
        if isinstance(content, Text) and self._size_known:
            # (before the size is known RichLog defers the write and makes it again later)
            self._entries.append(content)
        return super().write(content, *args, **kwargs)

    def _shown(self) -> bool:
        return all(getattr(node, "display", True) for node in self.ancestors_with_self)

    def on_show(self) -> None:
        if getattr(self, "_stale", False):
            self._rewrap()

    def on_resize(self, event: Any) -> None:
        super().on_resize(event)
        width = event.size.width
        if width and (width != self._wrapped_at or getattr(self, "_stale", False)) and self._entries:
            self._wrapped_at = width
            self._rewrap()
        elif width:
            self._wrapped_at = width

    def _rewrap(self) -> None:
        self._stale = False
        entries, self._entries = self._entries, []
        super().clear()
        for entry in entries:
            self.write(entry)

    def clear(self) -> Any:  # type: ignore[override]
        self._entries = []
        return super().clear()

    def reset_counts(self) -> None:
        self._pending = {"stdout": "", "stderr": ""}
        self._shown_chars = 0
        self._tail: deque[tuple[str, str]] = deque()
        self._tail_chars = 0
        self.dropped_chars = 0
        self._announced = False

    def reset(self) -> None:
        self.clear()
        self.reset_counts()

    def feed(self, stream: str, text: str) -> None:
        pending = self._pending.get(stream, "") + text.replace("\r\n", "\n")
        *lines, rest = pending.split("\n")
        for line in lines:
            self._add_line(stream, line)
        rest = collapse_returns(rest)  # a progress bar's frames: keep only the latest
        if len(rest) > MAX_PENDING_CHARS:
            self._add_line(stream, rest)
            rest = ""
        self._pending[stream] = rest

    def live_line(self) -> str:
        """The line being written right now (a progress bar), as it stands."""
        for stream in ("stderr", "stdout"):
            if self._pending.get(stream):
                return clean_output(self._pending[stream])
        return ""

    def flush(self) -> None:
        for stream, rest in self._pending.items():
            if rest:
                self._add_line(stream, rest)
        self._pending = {"stdout": "", "stderr": ""}
        if self.dropped_chars:
            self.write(Text(omitted_line(self.dropped_chars).strip("\n"), style="yellow"))
        for stream, line in self._tail:
            self._write_line(stream, line)
        self._tail.clear()
        self._tail_chars = 0

    def note(self, text: Text) -> None:
        """A line from the tutor itself (not the learner's program)."""
        self.write(text)

    def _add_line(self, stream: str, line: str) -> None:
        line = clean_output(line)
        if self._shown_chars < HEAD_CHARS + TAIL_CHARS:
            self._shown_chars += len(line) + 1
            self._write_line(stream, line)
            return
        if not self._announced:
            self._announced = True
            self.write(Text(f"… a long output: the rest is held back, and its last {TAIL_CHARS // 1024} KiB "
                            "are shown when the run ends …", style="yellow"))
        self._tail.append((stream, line))
        self._tail_chars += len(line) + 1
        while self._tail_chars > TAIL_CHARS and len(self._tail) > 1:
            _, old = self._tail.popleft()
            self._tail_chars -= len(old) + 1
            self.dropped_chars += len(old) + 1

    def _write_line(self, stream: str, line: str) -> None:
        self.write(Text(line, style="red" if stream == "stderr" else ""))


class ChecksView(Static):
    """Each check, passed or failed, with its teaching message, and the verdict."""

    #: The last result as plain text (for tests and screen readers' copy/paste).
    plain: str = ""

    def show_waiting(self) -> None:
        self.plain = "checking…"
        self.update(Text(self.plain, style="dim"))

    def show_result(self, result: Any, footer: Text | None = None) -> None:
        # The verdict first: at 80x24 the pane shows a few lines, and long teaching messages
        # must not push "not yet" / "passed" out of sight.
        verdict = finish_line(result, "check")
        if result.checks:
            failed = sum(c.status != "pass" for c in result.checks)
            if failed:
                verdict.append(f"  {failed} of {len(result.checks)} checks failed", style="dim")
        parts: list[RenderableType] = [verdict]
        if footer is not None:
            parts.append(Text(footer.plain.strip(), style=footer.style))
        if result.checks:
            parts.append(render_checks(result))
        elif result.status != "error":
            parts.append(Text("No check ran: your file stopped before the checks could start.", style="yellow"))
        parts.extend(Text(note, style="yellow") for note in explanations(result))
        if result.outcome == "exception" and result.stderr.strip():
            parts.append(Text("The traceback is on the output tab (alt+1).", style="dim"))
        self.plain = plain_text(Group(*parts))
        self.update(Group(*parts))


def plain_text(renderable: RenderableType, width: int = 200) -> str:
    """A renderable as plain text, lines unwrapped up to ``width``."""
    console = Console(width=width, file=io.StringIO(), color_system=None, record=True)
    console.print(renderable)
    return console.export_text()


class VisualsView(VerticalScroll):
    """The renders of the run's artifacts (tensors, graphs, images, ...).

    It sits in a tab that Textual may mount after the screen asks it to show a result (on a
    slow or busy machine, an exercise's last result is restored before its tab is mounted):
    until then what it is asked to show is kept and drawn on mount — mounting children into
    an unmounted widget raises MountError, which ended the app. Once the app is closing
    (``is_attached`` is then False), there is nothing to draw into."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: list[dict[str, Any]] | None = []  # None once mounted

    def on_mount(self) -> None:
        pending, self._pending = self._pending, None
        self.reset()
        for artifact in pending or []:
            self.add(artifact)

    def reset(self) -> None:
        if self._pending is not None:
            self._pending.clear()
            return
        if not self.is_attached:  # the app is closing (a learner quitting as the lesson opens)
            return
        self.remove_children()
        self.mount(Static(Text("Visuals your code produces with show() appear here.", style="dim"),
                          classes="placeholder"))

    def add(self, artifact: dict[str, Any]) -> None:
        if self._pending is not None:
            self._pending.append(artifact)
            return
        if not self.is_attached:
            return
        for placeholder in self.query(".placeholder"):
            placeholder.remove()
        self.mount(Static(self.draw(artifact), classes="visual"))

    # Not ``_render``: that name is Textual's own Widget._render(), and overriding it crashed
    # the app as soon as the tab was shown.
    def draw(self, artifact: dict[str, Any]) -> RenderableType:
        width = max(20, (self.size.width or 80) - 2)
        found = renderers()
        if found is not None:
            try:
                return found[0](artifact, width)
            except Exception as exc:  # noqa: BLE001 - a bad artifact must not break the app
                return Text(f"(could not draw {artifact.get('kind', 'artifact')}: {exc})", style="red")
        title = safe_text(str(artifact.get("title") or ""))
        return Text(f"[{safe_text(str(artifact.get('kind', 'artifact')))}] {title}  (renderers unavailable)",
                    style="dim")


class LossCurve(Static):
    """A live curve of the metrics a run reports; redrawn at most every 0.2 s."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics: list[dict[str, Any]] = []
        self._dirty = False

    def on_mount(self) -> None:
        self.set_interval(0.2, self._redraw_if_dirty)
        if not self.metrics:
            self.reset()

    def reset(self) -> None:
        self.metrics = []
        self.update(Text("Metrics your code reports while it runs are plotted here.", style="dim"))

    def add(self, metric: dict[str, Any]) -> None:
        self.metrics.append(metric)
        self._dirty = True

    def on_resize(self) -> None:
        self.redraw()

    def _redraw_if_dirty(self) -> None:
        if self._dirty:
            self._dirty = False
            self.redraw()

    def redraw(self) -> None:
        if not self.metrics:
            return
        width = max(20, self.size.width or 60)
        height = max(5, self.size.height or 10)
        found = renderers()
        if found is not None:
            try:
                self.update(found[1](self.metrics, width, height))
                return
            except Exception as exc:  # noqa: BLE001
                self.update(Text(f"(could not draw the curve: {exc})", style="red"))
                return
        self.update(metrics_table(self.metrics))


def metrics_table(metrics: list[dict[str, Any]]) -> Text:
    """The plain fallback: per metric, its last value, its lowest, and how many points."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for m in metrics:
        by_name.setdefault(safe_text(str(m.get("name", "?"))), []).append(m)
    text = Text()
    for name, points in by_name.items():
        values = [p.get("value") for p in points if isinstance(p.get("value"), (int, float))]
        last = points[-1]
        text.append(f"{name}", style="bold")
        text.append(f"  step {last.get('step', len(points) - 1)}: {last.get('value')}")
        if values:
            text.append(f"   lowest {min(values):.4g}   {len(points)} points")
        text.append("\n")
    return text


class OutputPane(Vertical):
    """The tabbed output area below the editor (alt+1..4 pick a tab from anywhere)."""

    def compose(self) -> ComposeResult:
        with TabbedContent(id="output-tabs"):
            with TabPane("Output", id="tab-output"):
                yield OutputLog(id="output-log")
                yield Static(id="live-line")
            with TabPane("Checks", id="tab-checks"):
                with VerticalScroll(id="checks-scroll"):
                    yield ChecksView(Text("Check your code with ctrl+t.", style="dim"), id="checks-view")
            with TabPane("Visuals", id="tab-visuals"):
                yield VisualsView(id="visuals-view")
            with TabPane("Loss", id="tab-loss"):
                yield LossCurve(id="loss-curve")

    #: True once every tab and view inside is mounted (the screen waits for it before use).
    ready = False

    def on_mount(self) -> None:
        self.call_after_refresh(self._check_ready)

    def _check_ready(self) -> None:
        needed = ("#output-log", "#live-line", "#checks-view", "#visuals-view", "#loss-curve", "ContentTabs")
        tabbed = self.query(TabbedContent)
        if not all(self.query(selector) for selector in needed) or not tabbed or not tabbed.first().is_mounted:
            self.call_after_refresh(self._check_ready)
            return
        self.query_one(VisualsView).reset()
        self.query_one("#live-line", Static).display = False
        self.ready = True
        # The screen calls clear() (or replays the exercise's last result) once this is laid
        # out: a RichLog wraps text at the width it has when the text is written.

    @property
    def log_view(self) -> OutputLog:
        return self.query_one(OutputLog)

    def show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"
        self._tab_shown(tab)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._tab_shown(self.active_tab)

    def _tab_shown(self, tab: str) -> None:
        # Drawings need rows: with the visuals or the curve in front, the pane takes more
        # of the screen (the screen's CSS decides how much, by its width).
        self.set_class(tab in ("visuals", "loss"), "drawing")

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active.removeprefix("tab-")

    def clear(self) -> None:
        """Back to the empty views (another exercise is shown, with no result yet)."""
        self.log_view.reset()
        self.log_view.note(Text("Your program's output appears here.", style="dim"))
        self._set_live("")
        self.query_one(VisualsView).reset()
        self.query_one(LossCurve).reset()
        self.query_one(ChecksView).plain = ""
        self.query_one(ChecksView).update(Text("Check your code with ctrl+t.", style="dim"))
        self.show_tab("output")

    def begin(self, kind: str, ref: str) -> None:
        """A run starts: clear the views and say what is running."""
        self._saw_metric = False
        self.log_view.reset()
        self.log_view.note(Text(f"{'checking' if kind == 'check' else 'running'} {ref}…  (esc stops it)",
                                style="dim"))
        self._set_live("")
        self.query_one(VisualsView).reset()
        self.query_one(LossCurve).reset()
        if kind == "check":
            self.query_one(ChecksView).show_waiting()
        if self.active_tab != "output":
            self.show_tab("output")

    def _set_live(self, line: str) -> None:
        live = self.query_one("#live-line", Static)
        live.display = bool(line)
        live.update(Text(line, no_wrap=True, overflow="ellipsis"))

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind in ("stdout", "stderr"):
            self.log_view.feed(kind, str(event.get("text", "")))
            self._set_live(self.log_view.live_line())
        elif kind == "metric":
            self.query_one(LossCurve).add(event)
            if not getattr(self, "_saw_metric", False):
                self._saw_metric = True
                if self.active_tab == "output":
                    self.show_tab("loss")
        elif kind == "artifact":
            self.query_one(VisualsView).add(event)

    def finish(self, kind: str, result: Any, footer: Text | None = None) -> None:
        """The run is over: flush output, draw the verdict, pick the tab that matters."""
        log = self.log_view
        log.flush()
        self._set_live("")
        if result.truncated:
            log.note(Text(f"(the sandbox dropped {result.dropped_bytes:,} bytes of output past its cap)",
                          style="yellow"))
        if result.error and result.status == "error":
            log.note(Text(safe_text(result.error), style="bold red"))
        for note in explanations(result):
            log.note(Text(note, style="yellow"))
        log.note(finish_line(result, kind))
        self.query_one(LossCurve).redraw()
        if kind == "check":
            self.query_one(ChecksView).show_result(result, footer)
            self.show_tab("checks")
