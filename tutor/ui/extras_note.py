"""The line an exercise screen shows when the worker's Python lacks a package the exercise needs."""

from __future__ import annotations

from typing import Any


def extras_problem_of(exercise: Any, ctx: Any) -> str | None:
    """What the exercise needs and the worker's Python lacks, with the install command."""
    if not getattr(exercise, "extras", None):
        return None
    from tutor.course.extras import extras_problem

    return extras_problem(exercise, getattr(ctx, "python", None))
