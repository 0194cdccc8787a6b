"""``predict`` exercises: what the snippet really did, and which choice says so.

The right answer is never written in the lesson: the snippet runs in the sandbox (as a
script, like ``run``), and the choice that matches what it produced is the right one. ``lint``
proves exactly one choice matches on every seed; ``answer`` runs it again and compares.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

NO_ERROR = "no error"


def snippet_request(exercise: Any, file: Path, seed: int, device: str) -> Any:
    """The run request for the snippet of ``exercise`` written to ``file``."""
    from sandbox.protocol import RunRequest
    from tutor.engine import limits_for

    return RunRequest(kind="run", file=str(file), seed=seed, device=device,
                      limits=limits_for(exercise.time_budget, exercise.limits), exercise=exercise.ref,
                      format_version=exercise.format_version, assets=dict(exercise.assets))


def observed(exercise: Any, result: Any) -> str | None:
    """What the choices are compared with; None when the run says nothing usable
    (a timeout, a crash, an exception the question did not ask about)."""
    if exercise.observe == "raises":
        if result.outcome == "exception":
            return (result.detail or "").split(":", 1)[0].strip() or None
        return NO_ERROR if result.outcome == "ok" else None
    if result.outcome != "ok":
        return None
    text = result.stdout.strip()
    if exercise.observe == "stdout":
        return text
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def matching_choices(exercise: Any, seen: str | None) -> list[int]:
    """1-based numbers of the choices equal to ``seen`` (whitespace and case aside)."""
    if seen is None:
        return []
    want = _normal(seen)
    return [n for n, choice in enumerate(exercise.choices, 1) if _normal(choice) == want]


def parse_choice(exercise: Any, text: str) -> int | None:
    """A choice by number (``2``) or by its exact text; None when it is neither."""
    text = text.strip()
    if text.isdigit() and 1 <= int(text) <= len(exercise.choices):
        return int(text)
    for n, choice in enumerate(exercise.choices, 1):
        if _normal(choice) == _normal(text):
            return n
    return None


def describe_run(result: Any) -> str:
    """What happened, in one line, for a message about a run with no usable observation."""
    if result.outcome == "exception":
        return f"the snippet raised {result.detail}"
    if result.outcome != "ok":
        return f"the snippet ended with {result.outcome}" + (f" ({result.detail})" if result.detail else "")
    return "the snippet printed " + (repr(result.stdout.strip()[-200:]) if result.stdout.strip() else "nothing")
