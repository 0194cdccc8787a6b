"""Messages that carry a run's progress from the worker thread to the UI.

The engine calls back on its own thread; ``post_message`` is thread-safe, so the run
worker turns every event into a :class:`RunEvent` and the end of the run into a
:class:`RunFinished`. Handlers then run on the UI thread, where touching widgets is safe.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class RunEvent(Message):
    """One event from the sandbox (stdout, stderr, metric, artifact, check, ...)."""

    def __init__(self, run_id: int, event: dict[str, Any]) -> None:
        super().__init__()
        self.run_id = run_id
        self.event = event


class RunFinished(Message):
    """A run or check is over; ``result`` is the engine's ``RunResult``."""

    def __init__(self, run_id: int, kind: str, ref: str, result: Any) -> None:
        super().__init__()
        self.run_id = run_id
        self.kind = kind
        self.ref = ref
        self.result = result


class ProgressChanged(Message):
    """Progress was recorded (an attempt, a hint, a viewed solution): refresh the marks."""
