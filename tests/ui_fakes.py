"""A scripted stand-in for ``tutor.engine.Engine`` and helpers for the TUI tests.

``FakeEngine.submit`` decides what happens from markers in the learner's file, so a test
says what it wants by typing it, exactly as a learner would:

* ``torch.ones(2, 3)`` / ``torch.zeros(3)`` / ``a + b`` — the checks pass;
* ``raise`` — the code raises (a traceback on stderr, outcome ``exception``);
* ``SLOW`` — prints a tick and then runs until cancelled;
* ``METRICS`` — reports a falling loss;
* ``ESCAPES`` — prints terminal escape sequences and Rich markup;
* ``VISUALS`` — sends one artifact of every kind (tests/render_fixtures.py) and a loss curve;
* ``TIMEOUT`` — runs past its time limit; ``TUTOR_ERROR`` — the tutor itself fails;
* anything else — the check fails with a teaching message.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

from sandbox.protocol import RunResult
from tutor.context import Context

FIXTURE_LESSONS = Path(__file__).resolve().parent / "fixtures" / "ui_lessons"
PASSING_MARKERS = ("torch.ones(2, 3)", "torch.zeros(3)", "a + b")
FAIL_MESSAGE = "`ones()`: expected a tensor of shape (2, 3), got NoneType — did you forget a return?"
ESCAPES = "title\x1b]0;pwned\x07 clear\x1b[2J red\x1b[31m [bold]markup[/bold]\n"


class FakeEngine:
    """Same surface as Engine: state, isolation, start_in_background, submit, cancel, close."""

    def __init__(self, state: str = "ready", level: str = "full") -> None:
        self.state = state
        self.level = level
        self.started = False
        self.requests: list[Any] = []
        self.cancelled = threading.Event()
        self.running = threading.Event()

    @property
    def isolation(self) -> dict[str, Any]:
        return {"level": self.level}

    def start_in_background(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled.set()

    def close(self) -> None:
        self.state = "stopped"

    def submit(self, request: Any, on_event: Callable[[dict[str, Any]], None] | None = None) -> RunResult:
        self.requests.append(request)
        self.cancelled.clear()
        self.state = "running"
        self.running.set()
        result = RunResult()

        def emit(event: dict[str, Any]) -> None:
            result.apply(event)
            if on_event is not None:
                on_event(event)

        try:
            for event in self._script(request, Path(request.file).read_text(encoding="utf-8")):
                emit(event)
        finally:
            self.running.clear()
            self.state = "ready"
        return result

    def _script(self, request: Any, text: str) -> Any:
        if "keepdim=True" in text and request.kind == "run":  # the predict fixture's snippet (9.5)
            yield {"type": "stdout", "text": "torch.Size([1, 4])\n"}
            yield {"type": "final", "status": "pass", "outcome": "ok", "duration_ms": 30.0}
            return
        if "SLOW" in text:
            yield {"type": "stdout", "text": "tick\n"}
            deadline = time.monotonic() + 20
            while not self.cancelled.is_set() and time.monotonic() < deadline:
                time.sleep(0.01)
            yield {"type": "final", "status": "fail", "outcome": "timeout", "detail": "cancelled",
                   "duration_ms": 1000.0}
            return
        if "TIMEOUT" in text:
            yield {"type": "stdout", "text": "step 1\n"}
            yield {"type": "final", "status": "fail", "outcome": "timeout", "detail": "", "duration_ms": 10000.0}
            return
        if "TUTOR_ERROR" in text:
            yield {"type": "final", "status": "error", "outcome": "ok",
                   "error": "the worker stopped answering (it was restarted)", "duration_ms": 5.0}
            return
        if "VISUALS" in text:
            from render_fixtures import artifacts, metrics

            shown = artifacts()
            for name in ("tensor_small", "graph", "module", "image_single", "heatmap_confusion", "profile"):
                yield {"type": "artifact", **shown[name]}
            for metric in metrics():
                yield {"type": "metric", **metric}
        if "raise" in text:
            yield {"type": "stderr", "text": "Traceback (most recent call last):\n  File \"x.py\", line 4\n"
                                             "ValueError: boom\n"}
            yield {"type": "final", "status": "fail", "outcome": "exception", "detail": "ValueError: boom",
                   "duration_ms": 120.0}
            return
        if "ESCAPES" in text:
            yield {"type": "stdout", "text": ESCAPES}
        if "METRICS" in text:
            for step in range(5):
                yield {"type": "metric", "name": "loss", "value": 1.0 / (step + 1), "step": step}
        yield {"type": "stdout", "text": "hello from your code\n"}
        if request.kind == "run":
            yield {"type": "final", "status": "pass", "outcome": "ok", "duration_ms": 50.0}
            return
        passed = any(marker in text for marker in PASSING_MARKERS)
        name = (request.checks[0]["name"] if request.checks else "check")
        yield {"type": "check", "name": name, "status": "pass" if passed else "fail",
               "message": "" if passed else FAIL_MESSAGE}
        yield {"type": "final", "status": "pass" if passed else "fail", "outcome": "ok", "duration_ms": 80.0}


def fixture_context(workspace: Path | None = None) -> Context:
    """A context on the fixture lessons only (stable as the real curriculum grows)."""
    return Context(workspace=str(workspace) if workspace else None, lesson_dirs=[str(FIXTURE_LESSONS)],
                   builtin_lessons=False)


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds; fail the test if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.02)


def screen_text(app: Any) -> str:
    """What the terminal shows right now, as plain text (one line per row)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system=None, record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()
