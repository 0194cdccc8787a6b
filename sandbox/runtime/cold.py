"""The cold runner: each sandboxed process is a fresh interpreter (``python -m sandbox.judging.harness``).

Every run pays ``import torch``. ``bench`` uses it for its cold figure, and the worker falls back
to it where forking is unsafe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from sandbox import protocol
from sandbox.isolation.environment import scrubbed_env
from sandbox.isolation.limits import apply_rlimits
from sandbox.runtime.handles import PopenHandle


class ColdLauncher:
    """Starts each sandboxed process as a fresh interpreter."""

    mode = "cold"

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable

    def start(self, role: str, job: dict[str, Any], stdout_w: int, stderr_w: int, event_w: int,
              stdin_r: int | None = None) -> PopenHandle:
        job_path = os.path.join(job["private_dir"], f"{role}.json")
        with open(job_path, "w", encoding="utf-8") as fh:
            json.dump(job, fh)
        limits = protocol.Limits.from_dict(job.get("limits"))

        def preexec() -> None:
            # A fresh interpreter's data size grows by ~1 GiB importing torch; the data
            # limit is applied by the warm engine, where the zygote's size is known.
            apply_rlimits(limits, data_limit=False)

        proc = subprocess.Popen(
            [self.python, "-m", "sandbox.judging.harness", role, job_path],
            stdin=stdin_r if stdin_r is not None else subprocess.DEVNULL, stdout=stdout_w, stderr=stderr_w, pass_fds=(event_w,),
            cwd=job["workdir"], env=scrubbed_env(job["workdir"], event_w),
            start_new_session=True, preexec_fn=preexec,
        )
        return PopenHandle(proc)
