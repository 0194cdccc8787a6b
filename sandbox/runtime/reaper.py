"""The one place a warm worker collects the exit status of its children.

Every child of the zygote (forked spares, PID-namespace inits, exec'd spares) is reaped here,
so no status is lost to a ``waitpid(-1)`` elsewhere.
"""

from __future__ import annotations

import os


class Reaper:
    def __init__(self) -> None:
        self.tracked: set[int] = set()
        self.status: dict[int, int] = {}

    def track(self, pid: int) -> None:
        self.tracked.add(pid)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            except InterruptedError:
                continue
            if pid == 0:
                return
            if pid in self.tracked:
                self.status[pid] = os.waitstatus_to_exitcode(status)

    def poll(self, pid: int) -> int | None:
        if pid not in self.status:
            self.reap()
        return self.status.get(pid)

    def forget(self, pid: int) -> None:
        self.tracked.discard(pid)
        self.status.pop(pid, None)


REAPER = Reaper()
