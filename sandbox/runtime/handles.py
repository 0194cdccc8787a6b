"""Handles on running sandboxed processes (``supervise.Handle``): poll and kill the whole run."""

from __future__ import annotations

import os
import signal
import subprocess

from sandbox.runtime.reaper import REAPER


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class ForkHandle:
    """One job in a forked or exec'd spare; ``init_pid`` is its PID namespace's init, if any."""

    def __init__(self, pid: int, init_pid: int | None) -> None:
        self.pid = pid
        self.init_pid = init_pid
        self._code: int | None = None

    def poll(self) -> int | None:
        if self._code is None:
            self._code = REAPER.poll(self.pid)
        return self._code

    def kill_group(self) -> None:
        if self.init_pid is not None:
            kill(self.init_pid)          # the PID namespace goes with it
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self._code is None:
            kill(self.pid)


class PopenHandle:
    """One process of the cold runner (a fresh interpreter)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.pid = proc.pid

    def poll(self) -> int | None:
        return self.proc.poll()

    def kill_group(self) -> None:
        try:
            os.killpg(self.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
