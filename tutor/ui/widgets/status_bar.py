"""The one-line status bar: device, sandbox state and isolation, watch mode, progress."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

#: How each engine state reads in the status bar, and its style.
ENGINE_STATES = {
    "stopped": ("sandbox stopped", "dim"),
    "warming": ("sandbox warming…", "yellow"),
    "ready": ("sandbox ready", "green"),
    "running": ("running…", "bold cyan"),
    "dead": ("sandbox down", "bold red"),
}


def status_text(device: str, engine_state: str, isolation: str, passed: int, total: int,
                watch: bool, where: str = "") -> Text:
    """The status line as rich Text (pure: the snapshot and unit tests feed it directly)."""
    label, style = ENGINE_STATES.get(engine_state, (f"sandbox {engine_state}", ""))
    parts: list[tuple[str, str]] = [(f" {device} ", "bold"), ("│ ", "dim"), (label, style)]
    if isolation:
        parts += [("  isolation ", "dim"), (isolation, "")]
    parts += [(" │ ", "dim"), (f"{passed}/{total} passed", "")]
    if watch:
        parts += [(" │ ", "dim"), ("watching", "bold magenta")]
    if where:
        parts += [(" │ ", "dim"), (where, "")]
    return Text.assemble(*parts, no_wrap=True, overflow="ellipsis")


class StatusBar(Static):
    """Redrawn by the app's status timer (``TutorApp.refresh_status``)."""

    DEFAULT_CSS = """
    StatusBar { height: 1; width: 1fr; background: $panel; }
    """

    def on_mount(self) -> None:
        self.update(self.app.status_text())  # type: ignore[attr-defined]
