"""Running code from a screen: ``Engine.submit`` blocks, so it runs in a thread worker and its
events come back as messages (``RunEvent``, ``RunFinished``) on the UI thread.

Both the exercise screen and the lesson page (its runnable examples) run code this way; the
screen keeps ``running`` and the id of its latest run, so late events of an older run are
recognised and dropped.
"""

from __future__ import annotations

from typing import Any

from sandbox.protocol import RunResult
from tutor.ui.messages import RunEvent, RunFinished


class RunsCode:
    """Mixin for a Screen that sends requests to the app's engine, one at a time."""

    running: bool = False
    _run_id: int = 0

    def submit_run(self, kind: str, ref: str, request: Any) -> int:
        """Start ``request`` in a thread; returns its run id."""
        screen: Any = self
        self._run_id += 1
        run_id = self._run_id
        self.running = True
        screen.refresh_bindings()
        screen.app.refresh_status()
        engine = screen.app.engine

        def work() -> None:
            def on_event(event: dict[str, Any]) -> None:
                screen.post_message(RunEvent(run_id, event))

            try:
                result = engine.submit(request, on_event)
            except Exception as exc:  # noqa: BLE001 - report, never crash the UI
                result = RunResult(status="error", error=f"{type(exc).__name__}: {exc}")
            screen.post_message(RunFinished(run_id, kind, ref, result))

        screen.run_worker(work, thread=True, group="run", exit_on_error=False,
                          name=f"{kind} {ref}", description=f"{kind} {ref}")
        return run_id

    def run_done(self, message: RunFinished) -> bool:
        """Note that a run ended; True when it is the latest one this screen started."""
        screen: Any = self
        if message.run_id != self._run_id:
            return False
        self.running = False
        screen.refresh_bindings()
        screen.app.refresh_status()
        return True

    def stop_run(self) -> None:
        if self.running:
            getattr(self, "app").engine.cancel()
