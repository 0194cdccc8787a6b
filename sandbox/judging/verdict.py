"""The one place verdicts are decided: of one check, and of a whole run.

* :func:`of_check` — what a check's judging ended with (returned, ``CheckFailed``,
  ``CheckSkipped``, anything else) becomes ``pass`` / ``fail`` / ``skip`` / ``error``;
* :func:`collect` — the judge's check events, completed with an ``error`` for every check the
  judge never reported (it crashed, ran out of time, stopped early), and why;
* :func:`of_run` — how the learner's process ended plus the checks → the run's status.

Rules, in order: a check that could not be judged (``error``) makes the run ``error``; a
learner process that did not end normally makes it ``fail``; ``run`` requests then pass; a
check request passes only if at least one check passed and none failed — a run where
nothing was checked, or where every check was skipped, is never a pass.
"""

from __future__ import annotations

from typing import Any

from sandbox import protocol
from sandbox.judging.compare import CheckFailed, CheckSkipped


def of_check(exc: BaseException | None) -> str:
    """A check's status from how judging it ended (``None``: it returned normally)."""
    if exc is None:
        return "pass"
    if isinstance(exc, CheckFailed):
        return "fail"
    if isinstance(exc, CheckSkipped):
        return "skip"
    return "error"


def collect(specs: list[dict[str, Any]], events: list[dict[str, Any]], timed_out: bool = False,
            returncode: int | None = 0, stderr: str = "") -> tuple[list[protocol.CheckResult], str]:
    """One result per check spec, from the judge's ``check`` events; and the judge's error."""
    results = [protocol.CheckResult(str(e.get("name", "")), str(e.get("status", "error")), str(e.get("message", "")))
               for e in events if e.get("type") == "check"][: len(specs)]
    for r in results:
        if r.status not in protocol.CHECK_STATUSES:
            r.status = "error"
    error = ""
    if len(results) < len(specs):
        if timed_out:
            why = "the checker ran out of time (the reference solution or a check is too slow)"
        elif returncode not in (0, None):
            why = f"the checker process ended abnormally (code {returncode})"
        else:
            why = "the checker stopped early"
        tail = stderr.strip()[-1500:]
        error = why + (f":\n{tail}" if tail else "")
        for spec in specs[len(results):]:
            results.append(protocol.CheckResult(str(spec.get("name", "?")), "error", why))
    return results, error


def of_run(outcome: str, checks: list[protocol.CheckResult], kind: str, error: str = "") -> str:
    """The status of a run (``pass`` / ``fail`` / ``error``)."""
    if any(c.status == "error" for c in checks):
        return "error"
    if outcome != "ok":
        return "fail"
    if kind == "run":
        return "error" if error else "pass"
    if error:
        return "error"
    if any(c.status == "fail" for c in checks):
        return "fail"
    if not any(c.status == "pass" for c in checks):
        return "error"  # nothing was checked (no checks, or all skipped): never a pass
    return "pass"
