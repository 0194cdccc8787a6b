"""Watching one sandboxed process from outside: pipes, caps, timeout, classification.

Standard library only. A *launcher* starts the process (a fresh interpreter in the cold
runner, a fork of the warm zygote in the engine) with three pipes: stdout, stderr and the
event descriptor. This module reads all three without blocking, streams capped output as
events, enforces the wall-clock timeout, kills the whole process group at the end, and
says how the process ended.
"""

from __future__ import annotations

import codecs
import os
import selectors
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from sandbox import protocol

Emit = Callable[[dict[str, Any]], None]

CHUNK = 8192
PIPE_SIZE = 1 << 20
#: Once the main process is gone, how long to keep draining pipes held open by its children.
DRAIN_AFTER_EXIT_S = 0.5


class Handle(Protocol):
    pid: int

    def poll(self) -> int | None: ...          # None while running; else a returncode (-N: signal N)
    def kill_group(self) -> None: ...          # SIGKILL everything the run started


class Launcher(Protocol):
    # ``stdin_r``: when given, the process's stdin (the judge's "go" pipe); else /dev/null.
    def start(self, role: str, job: dict[str, Any], stdout_w: int, stderr_w: int, event_w: int,
              stdin_r: int | None = None) -> Handle: ...


@dataclass
class Ended:
    """How a sandboxed process ended, and what it said on its event descriptor."""

    returncode: int | None = None
    timed_out: bool = False
    internal: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    dropped_bytes: int = 0
    duration_ms: float = 0.0
    #: True when the process said "done" and closed its pipes, and was not waited for.
    assumed_exit: bool = False

    def find(self, kind: str) -> dict[str, Any] | None:
        for event in self.internal:
            if event.get("type") == kind:
                return event
        return None


class _Stream:
    def __init__(self, name: str, cap: int, emit: Emit | None) -> None:
        self.name = name
        self.cap = cap
        self.kept = 0
        self.dropped = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text: list[str] = []
        self.emit = emit
        self.flagged = False

    def feed(self, data: bytes) -> None:
        room = self.cap - self.kept
        if room <= 0:
            self.dropped += len(data)
            self._flag()
            return
        keep = data[:room]
        self.kept += len(keep)
        self.dropped += len(data) - len(keep)
        text = self.decoder.decode(keep)
        if text:
            self.text.append(text)
            if self.emit:
                self.emit({"type": self.name, "text": text, "truncated": False})
        if self.dropped:
            self._flag()

    def _flag(self) -> None:
        if not self.flagged:
            self.flagged = True
            if self.emit:
                self.emit({"type": self.name, "text": f"\n[output truncated after {self.cap // 1024} KiB]\n",
                           "truncated": True})


class Started:
    """A process started by :func:`launch`, not yet watched (the judge is started early and
    waits for a "go" on its stdin while the learner's code runs)."""

    def __init__(self, role: str, handle: Handle, out_r: int, err_r: int, ev_r: int, go_w: int | None) -> None:
        self.role, self.handle = role, handle
        self.out_r, self.err_r, self.ev_r, self.go_w = out_r, err_r, ev_r, go_w
        self.started = time.monotonic()

    def go(self, message: dict[str, Any], timeout: float = 5.0) -> bool:
        """Send the go message (one JSON line) on the process's stdin; False if it is gone."""
        if self.go_w is None:
            return True
        data = memoryview(protocol.encode(message))
        os.set_blocking(self.go_w, False)
        deadline = time.monotonic() + timeout
        try:
            while data:
                try:
                    n = os.write(self.go_w, data)
                    data = data[n:]
                except BlockingIOError:
                    if time.monotonic() > deadline or self.handle.poll() is not None:
                        return False
                    selectors.DefaultSelector().select(0.01)
            return True
        except OSError:
            return False
        finally:
            os.close(self.go_w)
            self.go_w = None

    def abort(self) -> None:
        """Kill it unwatched (the learner's run failed, so there is nothing to judge)."""
        self.handle.kill_group()
        for fd in (self.out_r, self.err_r, self.ev_r, self.go_w):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.go_w = None


def _grow_pipe(fd: int) -> None:
    """1 MiB pipes: a flood of output is drained in far fewer reads (best effort)."""
    try:
        import fcntl

        fcntl.fcntl(fd, 1031, PIPE_SIZE)  # F_SETPIPE_SZ
    except (OSError, ImportError):
        pass


def launch(launcher: Launcher, role: str, job: dict[str, Any], wait_for_go: bool = False) -> Started:
    """Start one process with fresh pipes; with ``wait_for_go`` its stdin is a pipe that
    :meth:`Started.go` writes to (otherwise /dev/null)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    ev_r, ev_w = os.pipe()
    go_r, go_w = os.pipe() if wait_for_go else (None, None)
    for fd in (out_r, err_r):
        _grow_pipe(fd)
    try:
        if go_r is not None:
            handle = launcher.start(role, dict(job, wait_for_go=True), out_w, err_w, ev_w, stdin_r=go_r)
        else:
            handle = launcher.start(role, job, out_w, err_w, ev_w)
    except BaseException:
        for fd in (out_r, err_r, ev_r, go_w):
            if fd is not None:
                os.close(fd)
        raise
    finally:
        for fd in (out_w, err_w, ev_w, go_r):
            if fd is not None:
                os.close(fd)
    return Started(role, handle, out_r, err_r, ev_r, go_w)


def supervise(launcher: Launcher, role: str, job: dict[str, Any], limits: protocol.Limits,
              emit: Emit | None, forward_child_events: bool = True,
              cancelled: Callable[[], bool] | None = None) -> Ended:
    """Run one process to its end and report how it ended.

    ``emit`` receives the stdout/stderr chunks and the learner's metric/artifact events as
    they arrive; internal events (exception, probe, done, check, log) are collected in
    ``Ended.internal`` for the caller to interpret.
    """
    return watch(launch(launcher, role, job), limits, emit, forward_child_events, cancelled)


def watch(run: Started, limits: protocol.Limits, emit: Emit | None, forward_child_events: bool = True,
          cancelled: Callable[[], bool] | None = None) -> Ended:
    """Watch a started process to its end (see :func:`supervise`)."""
    role, handle = run.role, run.handle
    out_r, err_r, ev_r = run.out_r, run.err_r, run.ev_r
    started = time.monotonic()
    ended = Ended()
    streams = {out_r: _Stream("stdout", limits.output_bytes, emit if role == "child" else None),
               err_r: _Stream("stderr", limits.output_bytes, emit if role == "child" else None)}
    ev_buf = bytearray()
    ev_skip = False
    sel = selectors.DefaultSelector()
    for fd in (out_r, err_r, ev_r):
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    open_fds = {out_r, err_r, ev_r}
    deadline = started + limits.timeout_s
    exit_seen_at: float | None = None

    def done_and_closed() -> bool:
        # The harness says "done", then closes its three descriptors and calls _exit(0). The
        # exit itself (unmapping a torch-sized address space) takes tens of milliseconds;
        # once all pipes are closed after "done" the run is over, and waiting for the
        # kernel's teardown would only add latency. A forged "done" gains nothing: the
        # verdict comes from the judge, and everything left running is killed below.
        return ended.find("done") is not None and not open_fds

    def handle_event_line(line: bytes) -> None:
        event = protocol.decode(line)
        if event is None:
            return
        kind = event.get("type")
        if kind in protocol.CHILD_EVENT_TYPES:
            if forward_child_events and emit:
                emit(event)
        else:
            ended.internal.append(event)

    try:
        while open_fds:
            now = time.monotonic()
            if ended.returncode is None:
                ended.returncode = handle.poll()
                if ended.returncode is not None:
                    exit_seen_at = now
                    # Anything the child left behind (escaped grandchildren holding the
                    # pipes) goes now; what is already in the pipes is still read.
                    handle.kill_group()
            if exit_seen_at is not None and now - exit_seen_at > DRAIN_AFTER_EXIT_S:
                break
            if ended.returncode is None and now >= deadline:
                ended.timed_out = True
                handle.kill_group()
                deadline = float("inf")
            if ended.returncode is None and cancelled is not None and cancelled():
                ended.timed_out = True
                ended.internal.append({"type": "cancelled"})
                handle.kill_group()
            wait = 0.05 if ended.returncode is None else 0.02
            for key, _ in sel.select(timeout=wait):
                fd = key.fd
                try:
                    data = os.read(fd, PIPE_SIZE)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(fd)
                    open_fds.discard(fd)
                    continue
                if fd == ev_r:
                    ev_buf.extend(data)
                    while True:
                        nl = ev_buf.find(b"\n")
                        if nl < 0:
                            if len(ev_buf) > protocol.MAX_CHILD_EVENT_BYTES:
                                ev_buf.clear()
                                ev_skip = True
                            break
                        line = bytes(ev_buf[:nl])
                        del ev_buf[: nl + 1]
                        if ev_skip:
                            ev_skip = False
                            continue
                        handle_event_line(line)
                else:
                    streams[fd].feed(data)
        if ended.returncode is None and done_and_closed():
            ended.returncode = handle.poll()
            if ended.returncode is None:
                ended.returncode = 0
                ended.assumed_exit = True
        if ended.returncode is None:
            # Pipes closed before the process was seen to exit: wait for it, bounded.
            end_by = time.monotonic() + max(0.0, deadline - time.monotonic()) if deadline != float("inf") else time.monotonic() + 2
            while ended.returncode is None:
                ended.returncode = handle.poll()
                if ended.returncode is not None:
                    break
                if time.monotonic() >= end_by:
                    ended.timed_out = True
                    handle.kill_group()
                    end_by = time.monotonic() + 5
                    while ended.returncode is None and time.monotonic() < end_by:
                        ended.returncode = handle.poll()
                        time.sleep(0.01)
                    break
                time.sleep(0.01)
    finally:
        handle.kill_group()
        sel.close()
        for fd in (out_r, err_r, ev_r):
            try:
                os.close(fd)
            except OSError:
                pass
    ended.duration_ms = (time.monotonic() - started) * 1000
    ended.stdout = "".join(streams[out_r].text)
    ended.stderr = "".join(streams[err_r].text)
    ended.dropped_bytes = streams[out_r].dropped + streams[err_r].dropped
    ended.truncated = ended.dropped_bytes > 0
    return ended


MEMORY_MARKERS = ("MemoryError", "OutOfMemoryError", "can't allocate memory", "CUDA out of memory",
                  "DefaultCPUAllocator: not enough memory")


def classify(ended: Ended, kind: str) -> tuple[str, str]:
    """``(outcome, detail)`` for a learner child, per the protocol's ``OUTCOMES``."""
    if ended.find("cancelled"):
        return "timeout", "cancelled"
    if ended.timed_out:
        return "timeout", "wall-clock limit reached"
    rc = ended.returncode
    exc = ended.find("exception")
    if exc is not None:
        summary = str(exc.get("summary", ""))
        if any(marker in summary for marker in MEMORY_MARKERS):
            return "memory", summary
        return "exception", summary
    if rc is not None and rc < 0:
        sig = -rc
        if sig == signal.SIGXCPU:
            return "timeout", "CPU-time limit reached (SIGXCPU)"
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        if sig == signal.SIGKILL:
            return "signal", f"{name} (killed from outside — often the kernel's out-of-memory killer)"
        return "signal", name
    if rc not in (0, None):
        if rc == 128 + signal.SIGXCPU:
            return "timeout", "CPU-time limit reached"
        return "exit", f"exit code {rc}"
    if ended.find("done") is None and kind == "check":
        return "exit", "the program ended early (exit code 0) before the tutor could finish its work"
    return "ok", ""
