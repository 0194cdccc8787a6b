"""A second warm process that forks the zygote's spares, so that the zygote never does.

Forking a process the size of the zygote (torch imported: ~700 MB mapped) copies its page
tables: 10 ms on a quiet machine, 40-90 ms on a loaded one, during which the forking process
does nothing else. Done by the zygote after each request, that cost lands on the *next*
request whenever requests come back to back. So the zygote forks one *fork server* at start
(a copy of itself, warm, single-threaded, holding no request yet) and asks it for spares;
the zygote goes straight back to reading requests.

* zygote -> server: one byte per spare wanted (a ``SOCK_SEQPACKET`` pair: one message each).
* server -> zygote: ``{"spare": pid, "init": init_pid}`` with the spare's end of its job
  socket attached, once per spare; ``{"exit": pid, "code": code}`` when a process it forked
  (a spare or a PID-namespace init) has ended. The spares are the server's children, so it
  reaps them and relays their exit statuses; the zygote's reaper
  (:mod:`sandbox.runtime.reaper`) takes them from here as if it had reaped them itself.

A bonus: spares come from a process that never saw a request, so no earlier request's data
(jobs, reference solutions) sits in a spare's memory. If the server dies, the zygote forks
its spares itself again (:class:`sandbox.runtime.zygote.ForkLauncher`).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
from typing import Any, Callable

from sandbox.isolation import kernel
from sandbox.runtime.reaper import REAPER

#: Messages are small: a pid pair, or a pid and its exit code.
MAX_MESSAGE = 512


class ForkServerClient:
    """The zygote's end: asks for spares, collects them and the exit statuses relayed."""

    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid = pid
        self.sock = sock
        self.sock.setblocking(False)
        self.outstanding = 0   # spares asked for and not yet received
        self.alive = True
        self.ready: list[tuple[int, int | None, socket.socket]] = []

    def ask(self, count: int) -> None:
        """Ask for ``count`` more spares (never blocks for long: one byte each)."""
        for _ in range(max(0, count)):
            try:
                self.sock.send(b"n")
            except (BlockingIOError, InterruptedError):
                return  # the server is behind; asked again at the next refill
            except OSError:
                self.alive = False
                return
            self.outstanding += 1

    def drain(self) -> None:
        """Take every message waiting (non-blocking)."""
        while self.alive:
            try:
                data, fds, _, _ = socket.recv_fds(self.sock, MAX_MESSAGE, 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.alive = False
                return
            if not data:
                self.alive = False  # the server is gone: the zygote forks its spares itself
                return
            self._take(data, fds)

    def _take(self, data: bytes, fds: list[int]) -> None:
        try:
            msg = json.loads(data)
        except ValueError:
            msg = {}
        if "spare" in msg and len(fds) == 1:
            pid, init = int(msg["spare"]), msg.get("init")
            REAPER.track(pid)
            if init is not None:
                REAPER.track(int(init))
            self.ready.append((pid, int(init) if init is not None else None, socket.socket(fileno=fds[0])))
            self.outstanding = max(0, self.outstanding - 1)
            return
        for fd in fds:
            os.close(fd)
        if "exit" in msg:
            REAPER.record(int(msg["exit"]), int(msg.get("code", -9)))
        elif "failed" in msg:
            self.outstanding = max(0, self.outstanding - 1)

    def wait_for_spare(self, timeout: float) -> bool:
        """Block until a spare has arrived (True) or ``timeout`` passed / the server died."""
        if not self.ready and self.alive and self.outstanding == 0:
            self.ask(1)
        while not self.ready and self.alive:
            try:
                readable, _, _ = select.select([self.sock], [], [], timeout)
            except InterruptedError:
                continue
            if not readable:
                return False
            self.drain()
        return bool(self.ready)

    def close(self) -> None:
        self.alive = False
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def start(fork_spare: Callable[[], tuple[int, int | None, socket.socket]], keep_fds: set[int]) -> ForkServerClient | None:
    """Fork the server from this (warm) process; None when that fails.

    ``fork_spare`` runs in the server: it forks one spare and returns (pid, init pid, the
    zygote's end of the spare's job socket). ``keep_fds`` stay open in the server (the PID
    namespace descriptor); everything else is closed there, the worker's stdin/stdout first.
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        return None
    if pid == 0:
        try:
            ours.close()
            _serve(theirs, fork_spare, keep_fds)
        finally:
            os._exit(0)
    theirs.close()
    REAPER.track(pid)
    return ForkServerClient(pid, ours)


def _serve(sock: socket.socket, fork_spare: Callable[[], tuple[int, int | None, socket.socket]],
           keep_fds: set[int]) -> None:
    """The server's loop: fork a spare per byte received, relay exit statuses. Never returns."""
    kernel.set_parent_death_signal(signal.SIGKILL)
    from sandbox.isolation import confine

    # Not the worker's protocol pipes: the engine must see the worker's EOF when it ends.
    confine.close_fds_except({sock.fileno(), 2, *keep_fds})
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the select below
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    mine: set[int] = set()
    while True:
        try:
            readable, _, _ = select.select([sock, wake_r], [], [], 1.0)
        except InterruptedError:
            readable = []
        if wake_r in readable:
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        _relay_exits(sock, mine)
        if sock in readable:
            try:
                wanted = sock.recv(64)
            except InterruptedError:
                continue
            if not wanted:
                os._exit(0)  # the zygote is gone
            for _ in wanted:
                try:
                    pid, init_pid, spare_sock = fork_spare()
                except OSError as exc:
                    _send(sock, {"failed": str(exc)})
                    continue
                mine.update(p for p in (pid, init_pid) if p is not None)
                try:
                    socket.send_fds(sock, [json.dumps({"spare": pid, "init": init_pid}).encode()], [spare_sock.fileno()])
                except OSError:
                    os._exit(0)
                finally:
                    spare_sock.close()


def _relay_exits(sock: socket.socket, mine: set[int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        except InterruptedError:
            continue
        if pid == 0:
            return
        if pid in mine:
            mine.discard(pid)
            _send(sock, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _send(sock: socket.socket, msg: dict[str, Any]) -> None:
    try:
        sock.send(json.dumps(msg).encode())
    except OSError:
        os._exit(0)
