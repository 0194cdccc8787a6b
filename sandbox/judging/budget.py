"""Per-check time budgets (``budget: 5`` on a check, seconds).

A check that runs out of its budget stops there and says so; the next check still runs.
The alarm interrupts Python code between bytecodes (a long torch op finishes first); the
run's wall-clock limit, enforced from outside, remains the backstop.
"""

from __future__ import annotations

import signal
import time
from contextlib import contextmanager
from typing import Any, Iterator


class OutOfBudget(BaseException):
    """Raised into the running code when a check's budget is spent. A ``BaseException``,
    so that the learner's ``except Exception:`` does not swallow it."""


def seconds(spec: dict[str, Any]) -> float | None:
    raw = spec.get("budget")
    try:
        value = float(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None
    return value if value and value > 0 else None


@contextmanager
def limit(budget_s: float | None) -> Iterator[None]:
    """Raise :class:`OutOfBudget` inside the block once ``budget_s`` seconds have passed."""
    if not budget_s or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise OutOfBudget(budget_s)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, budget_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def describe(budget_s: float) -> str:
    return f"{budget_s:g} s"


class Clock:
    """How long a check has been running (for messages)."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start
