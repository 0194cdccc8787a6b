"""The last step of every runner: enter the sandbox in this process and run the job.

Shared by forked children of the zygote and exec'd spares, so both get the same confinement.
"""

from __future__ import annotations

import os
from typing import Any

from sandbox.isolation import confine
from sandbox.judging import harness
from sandbox.learner import events


def run_job(job: dict[str, Any], fds: list[int], plan: dict[str, Any], notes: list[str] | None = None) -> None:
    """Enter the sandbox and run ``job`` in this process. Never returns."""
    confine.install_fds(*fds)
    warnings = confine.enter(job, plan)
    for note in notes or []:
        events.emit({"type": "log", "level": "info", "message": note})
    for warning in warnings:
        events.emit({"type": "log", "level": "warning", "message": warning})
    if job.get("role") == "judge":
        harness.run_judge(job)
    else:
        harness.run_learner(job)
    os._exit(0)  # pragma: no cover - both end with os._exit
