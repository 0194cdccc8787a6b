"""The last step of every runner: enter the sandbox in this process and run the job.

Shared by forked children of the zygote, exec'd spares and the cold runner's fresh
interpreters (``python -m sandbox.runtime.child ROLE JOB.json``), so all get the same
confinement (:mod:`sandbox.isolation.confine`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from sandbox.isolation import confine
from sandbox.judging import harness
from sandbox.learner import events


def run_job(job: dict[str, Any], fds: list[int], plan: dict[str, Any], notes: list[str] | None = None) -> None:
    """Enter the sandbox and run ``job`` in this process. Never returns."""
    started = time.perf_counter()
    private = plan.get("mounts")
    confine.install_fds(*fds, keep=private.keep_fds() if private is not None else ())
    warnings, applied = confine.enter(job, plan)
    # First on the event descriptor, before any learner code: what this run actually got.
    events.emit({"type": "confined", "layers": applied, "ms": (time.perf_counter() - started) * 1000})
    for note in notes or []:
        events.emit({"type": "log", "level": "info", "message": note})
    for warning in warnings:
        events.emit({"type": "log", "level": "warning", "message": warning})
    if job.get("role") == "judge":
        harness.run_judge(job)
    else:
        harness.run_learner(job)
    os._exit(0)  # pragma: no cover - both end with os._exit


def main(argv: list[str]) -> None:
    """The cold runner's process: namespaces first (while single-threaded), then torch, then
    the same :func:`run_job` as every other runner."""
    from sandbox import protocol
    from sandbox.isolation import kernel, landlock, namespaces, seccomp

    role, job_path = argv
    with open(job_path, encoding="utf-8") as fh:
        job = dict(json.load(fh), role=role)
    event_fd = int(os.environ.get(events.EVENT_FD_ENV, "3"))
    userns = False
    if kernel.IS_LINUX:
        try:
            namespaces.enter_user_namespace()
            userns = True
        except OSError:
            pass
    root = kernel.IS_LINUX and os.geteuid() == 0
    limits = protocol.Limits.from_dict(job.get("limits"))
    plan: dict[str, Any] = {"netns": userns or root, "netns_needs_userns": False, "mountns": userns or root,
                            "landlock": landlock.landlock_abi(), "data_limit": True, "as_limit": True,
                            "seccomp": seccomp.available(), "read_rules": True}
    plan = confine.prepare(plan, network=limits.network or role != "child", in_pid_namespace=False)
    plan["netns"] = plan["netns"] and role == "child"
    # torch before the limits, so that they are measured above the interpreter's real size
    # (torch only: the cold runner's time is the learner's time limit).
    import torch  # noqa: F401
    run_job(job, [1, 2, event_fd, 0], plan)


if __name__ == "__main__":
    main(sys.argv[1:])
