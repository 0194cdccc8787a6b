"""The one place a warm worker collects the exit status of its children.

Every child of the zygote (forked spares, PID-namespace inits, exec'd spares) is reaped here,
so no status is lost to a ``waitpid(-1)`` elsewhere. Processes the fork server made
(:mod:`sandbox.runtime.forkserver`) are its children: their statuses come from it, through a
*source* drained here at each reap.
"""

from __future__ import annotations

import os
from typing import Callable


class Reaper:
    def __init__(self) -> None:
        self.tracked: set[int] = set()
        self.status: dict[int, int] = {}
        self.sources: list[Callable[[], None]] = []

    def add_source(self, drain: Callable[[], None]) -> None:
        """``drain`` is called at each reap; it hands relayed statuses to :meth:`record`."""
        self.sources.append(drain)

    def record(self, pid: int, code: int) -> None:
        if pid in self.tracked:
            self.status[pid] = code

    def track(self, pid: int) -> None:
        self.tracked.add(pid)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            if pid == 0:
                break
            if pid in self.tracked:
                self.status[pid] = os.waitstatus_to_exitcode(status)
        for drain in list(self.sources):
            drain()

    def poll(self, pid: int) -> int | None:
        if pid not in self.status:
            self.reap()
        return self.status.get(pid)

    def forget(self, pid: int) -> None:
        self.tracked.discard(pid)
        self.status.pop(pid, None)


REAPER = Reaper()
