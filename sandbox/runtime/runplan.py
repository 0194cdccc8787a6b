"""Per-request set-up and clean-up that make a run behave like plain Python (issue 20).

The worker calls :func:`before` for each process it launches (in the parent: folders are
made and the script's folder mirrored before the child confines itself) and :func:`after`
once the learner's process has ended; both return *notes*, one-line messages the client
shows beside the run's output (``log`` events with level ``note``).
"""

from __future__ import annotations

import os
from typing import Any

from sandbox.runtime import rundir, runenv


def before(role: str, req: Any, job: dict[str, Any], private_dir: str) -> list[str]:
    """Fill ``job["runtime"]`` (cache folders, TMPDIR, extra variables, mirrored names)."""
    workdir = job["workdir"]
    # The judge's TMPDIR is not the learner's: nothing planted there may reach the judge.
    tmpdir = os.path.join(private_dir, "tmp" if role == "child" else "judge-tmp")
    os.makedirs(tmpdir, exist_ok=True)
    extra = dict(getattr(req, "env", None) or {}) if role == "child" else {}
    notes = []
    bad = runenv.bad_env_names(extra)
    if bad:
        notes.append(f"ignored --env {', '.join(repr(n) for n in bad[:4])}: a name is letters, digits and _")
        extra = {k: v for k, v in extra.items() if k not in bad}
    runtime = runenv.plan_run(role, workdir, private_dir, tmpdir, extra)
    if role == "child":
        if req.kind == "run":
            runtime["linked"] = rundir.mirror(os.path.dirname(os.path.abspath(req.file)), workdir,
                                              runenv.workspace_of(workdir))
        dropped = runenv.dropped_note(extra)
        if dropped:
            notes.append(dropped)
    job["runtime"] = runtime
    # The confinement's own keys: made visible in the private mount view, readable, writable.
    job["writable"] = list(job.get("writable") or ()) + runtime["writable"]
    return notes


def after(req: Any, job: dict[str, Any]) -> list[str]:
    """List what a ``run`` wrote and keep it per exercise; the note that says where."""
    if req.kind != "run":
        return []
    workdir = job["workdir"]
    workspace = runenv.workspace_of(workdir)
    dest = rundir.outputs_dir(workspace, req.file, getattr(req, "exercise", "")) if workspace else None
    files, where = rundir.collect(workdir, (job.get("runtime") or {}).get("linked", []), dest)
    line = rundir.note(files, where, workspace)
    return [line] if line else []
