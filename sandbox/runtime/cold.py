"""The cold runner: each sandboxed process is a fresh interpreter (``python -m sandbox.runtime.child``).

Every run pays ``import torch``. ``bench`` uses it for its cold figure, and the worker falls back
to it where forking is unsafe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from sandbox.isolation.environment import PACKAGE_PARENT
from sandbox.runtime import runenv
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
        # The confinement itself is applied in the new process (sandbox.runtime.child), the
        # same way as in the warm runners.
        proc = subprocess.Popen(
            [self.python, "-m", "sandbox.runtime.child", role, job_path],
            stdin=stdin_r if stdin_r is not None else subprocess.DEVNULL, stdout=stdout_w, stderr=stderr_w,
            pass_fds=(event_w,), cwd=job["workdir"], env=runenv.child_env(job, event_w, PACKAGE_PARENT),
            start_new_session=True,
        )
        return PopenHandle(proc)
