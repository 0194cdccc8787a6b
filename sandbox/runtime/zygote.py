"""The warm zygote: torch imported once, a pre-forked child per run.

The worker process becomes the zygote (``python -m sandbox.worker``, warm mode, the
default). Start-up order matters (docs/sandbox.md, "The zygote"):

1. Before torch is imported, :func:`bootstrap_pid_namespace` tries to put the zygote in a
   user namespace and make it the init of a PID namespace (the worker process stays
   outside as a tiny parent that only waits). This is what lets every run get a PID
   namespace of its own without privileges.
2. :func:`warm_up` imports torch and the submodules lessons commonly need with every
   thread pool pinned to one thread, calls ``torch.set_num_threads(1)`` before any op, and
   checks the process really has one thread: forking a process with a live OpenMP pool
   deadlocks (pytorch#17199). The zygote never touches ``torch.cuda`` or
   ``torch.backends.mps``: even ``is_available()`` poisons every later fork.
3. :class:`ForkLauncher` keeps *spares*: children forked ahead of time, each already in
   its own session (and PID namespace, whose init is a tiny separate interpreter), waiting
   on a socket for one job. A run hands a spare its job and pipes. The spares are forked by
   a *fork server* (:mod:`sandbox.runtime.forkserver`, a copy of the zygote made at start),
   so ``fork()`` (10 ms for a process this size on a quiet machine, 40-90 ms on a loaded
   one) never stalls the zygote: replacements are asked for once a request's final event
   is out, and the zygote reads the next request while they are made.

Every child is reaped here, by one reaper (:data:`REAPER`), so no status is lost to a
``waitpid(-1)`` elsewhere.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from typing import Any

from sandbox.isolation import kernel, namespaces
from sandbox.runtime import forkserver
from sandbox.runtime.child import run_job
from sandbox.runtime.handles import ForkHandle
from sandbox.runtime.reaper import REAPER
from sandbox.runtime.transport import recv_job, send_job

#: The init of each run's PID namespace: reaps orphans and sleeps. Killing it (from the
#: zygote, outside the namespace) kills every process of the run.
_INIT_CODE = (
    "import os,signal\n"
    "for s in (signal.SIGINT,signal.SIGTERM,signal.SIGHUP,signal.SIGPIPE):\n"
    "    signal.signal(s,signal.SIG_DFL)\n"
    "while True:\n"
    "    try:\n"
    "        os.wait()\n"
    "    except ChildProcessError:\n"
    "        signal.pause()\n"
    "    except InterruptedError:\n"
    "        pass\n"
)
#: The same init as a POSIX shell script, used where /bin/sh and sleep exist: starting a
#: Python costs ~14 ms of CPU and every spare needs an init (two per check), which a check
#: sent right after another had to share the cores with; the shell starts in ~1 ms. The
#: shell's ``wait`` reaps any child, so orphans re-parented to it are reaped as they end.
_INIT_SCRIPT = "while :; do {sleep} 86400 & wait; done"
#: Signals the init must not inherit as ignored (a shell cannot reset those itself).
_INIT_DEFAULT_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE)


def init_command() -> list[str]:
    """The argv of a PID namespace's init: the shell script, else Python."""
    import shutil

    shell, sleep = shutil.which("sh", path="/bin:/usr/bin"), shutil.which("sleep", path="/bin:/usr/bin")
    if shell and sleep and " " not in sleep:
        return [shell, "-c", _INIT_SCRIPT.format(sleep=sleep)]
    return [sys.executable, "-I", "-S", "-c", _INIT_CODE]


# --- start-up ------------------------------------------------------------------------------


class PidNamespace:
    """What :func:`bootstrap_pid_namespace` achieved."""

    def __init__(self, on: bool, why: str, ns_fd: int | None = None) -> None:
        self.on, self.why, self.ns_fd = on, why, ns_fd


def bootstrap_pid_namespace() -> PidNamespace:
    """Become init of a fresh PID namespace (inside a fresh user namespace), if allowed.

    Must run before torch is imported (``unshare(CLONE_NEWUSER)`` needs a single thread).
    On success this function returns in a *forked child*, PID 1 of the new namespace; the
    original process waits for it and exits with its status, never returning.
    """
    if not kernel.IS_LINUX:
        return PidNamespace(False, "PID namespaces exist only on Linux")
    try:
        namespaces.enter_user_namespace()
    except OSError as exc:
        user_err = str(exc)
        # Real root may create PID namespaces without a user namespace.
        try:
            namespaces.unshare(namespaces.CLONE_NEWPID)
        except OSError:
            return PidNamespace(False, f"user namespaces are not available ({user_err})")
    else:
        try:
            namespaces.unshare(namespaces.CLONE_NEWPID)
        except OSError as exc:
            return PidNamespace(False, f"cannot create a PID namespace: {exc}")
    # The parent is invisible from inside the new namespace (getppid() is 0), so its
    # liveness is checked through a pipe it holds open: EOF means it is gone.
    alive_r, alive_w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(alive_r)
        # The outer worker: wait for the zygote; ignore the signals a terminal sends to the
        # foreground group (the zygote, init of its namespace, would not die of them).
        for sig in (signal.SIGINT, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_IGN)
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        code = os.waitstatus_to_exitcode(status)
        os._exit(code if code >= 0 else 128 - code)
    os.close(alive_w)
    kernel.set_parent_death_signal(signal.SIGKILL)
    import select

    if select.select([alive_r], [], [], 0)[0]:
        os._exit(1)
    os.close(alive_r)
    # As init of the namespace, signals without a handler are ignored; SIGINT from a
    # terminal must not kill the zygote mid-run anyway (the engine stops it by closing stdin).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ns_fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    return PidNamespace(True, "each run gets its own PID namespace; its init is killed at the end", ns_fd)


# --- the launcher ------------------------------------------------------------------------------


class _Spare:
    def __init__(self, pid: int, init_pid: int | None, sock: socket.socket) -> None:
        self.pid, self.init_pid, self.sock = pid, init_pid, sock


class ForkLauncher:
    """Runs each job in a spare forked from this (warm) process (``supervise.Launcher``)."""

    mode = "warm"

    #: Seconds a run waits for the fork server's next spare before forking one itself.
    SERVER_WAIT_S = 30.0

    def __init__(self, pidns: PidNamespace, plan: dict[str, Any], spares: int = 2,
                 fork_servers: int = 1) -> None:
        self.pidns = pidns
        self.plan = plan
        self.target = spares
        self.spares: list[_Spare] = []
        self.zygote_pid = os.getpid()
        from sandbox.isolation import confine

        confine.interpreter_paths()  # once here: every fork inherits the answer
        self.init_argv = init_command()
        self._inits: list[int] = []
        self.running: list[ForkHandle] = []
        # Several servers fork in parallel (a check needs two spares: the learner's and the judge's).
        self.servers: list[forkserver.ForkServerClient] = []
        keep = {self.pidns.ns_fd} if self.pidns.ns_fd is not None else set()
        for _ in range(max(0, fork_servers)):
            server = forkserver.start(self._fork_for_server, keep)
            if server is not None:
                self.servers.append(server)
        if self.servers:
            REAPER.add_source(self._drain_servers)
        self.refill()

    def _fork_for_server(self) -> tuple[int, int | None, socket.socket]:
        """In the fork server: fork one spare; its job socket's other end goes to the zygote."""
        self.zygote_pid = os.getpid()  # the spares' parent (their liveness check)
        spare = self._fork_spare()
        return spare.pid, spare.init_pid, spare.sock

    def _drain_servers(self) -> None:
        for server in self.servers:
            server.drain()
            while server.ready:
                pid, init_pid, sock = server.ready.pop(0)
                self.spares.append(_Spare(pid, init_pid, sock))
        self.servers = [server for server in self.servers if server.alive]
        if not self.servers and self._drain_servers in REAPER.sources:
            REAPER.sources.remove(self._drain_servers)

    def _wait_for_servers(self, timeout: float) -> bool:
        """Block until some server has sent a spare (True), or ``timeout`` / no server left."""
        import select
        import time

        end = time.monotonic() + timeout
        self._drain_servers()
        while not self.spares and self.servers:
            if not any(server.outstanding for server in self.servers):
                self.servers[0].ask(1)
            left = end - time.monotonic()
            if left <= 0:
                return False
            try:
                select.select([server.sock for server in self.servers], [], [], left)
            except InterruptedError:
                pass
            self._drain_servers()
        return bool(self.spares)

    # Spares ------------------------------------------------------------------------------

    def refill(self) -> None:
        """Have spares forked until ``target`` are waiting (also drops dead ones): asked of
        the fork server (returns at once), or, without one, forked here."""
        self._drop_dead()
        if self.servers:
            wanted = self.target - len(self.spares) - sum(server.outstanding for server in self.servers)
            for _ in range(max(0, wanted)):
                min(self.servers, key=lambda server: server.outstanding).ask(1)
            return
        while len(self.spares) < self.target:
            self.spares.append(self._fork_spare())

    def _next_spare(self) -> _Spare:
        """A waiting spare: one that is ready, else the fork server's next, else a fork here."""
        if not self.spares and self.servers:
            self._wait_for_servers(self.SERVER_WAIT_S)
        return self.spares.pop(0) if self.spares else self._fork_spare()

    def _drop_dead(self) -> None:
        REAPER.reap()
        alive = []
        for spare in self.spares:
            if spare.pid in REAPER.status:
                self._discard(spare)
            else:
                alive.append(spare)
        self.spares = alive

    def _discard(self, spare: _Spare) -> None:
        spare.sock.close()
        ForkHandle(spare.pid, spare.init_pid).kill_group()
        REAPER.forget(spare.pid)

    def close(self) -> None:
        for server in self.servers:
            server.close()
        if self._drain_servers in REAPER.sources:
            REAPER.sources.remove(self._drain_servers)
        self.servers = []
        for spare in self.spares:
            self._discard(spare)
        self.spares = []

    def _new_pid_namespace(self) -> int | None:
        """Point our next fork at a fresh PID namespace and start its init; its pid (outside)."""
        if not self.pidns.on:
            return None
        try:
            namespaces.unshare(namespaces.CLONE_NEWPID)
        except OSError:
            return None
        null = os.devnull
        init_pid = os.posix_spawn(self.init_argv[0], self.init_argv, {}, setsigdef=_INIT_DEFAULT_SIGNALS,
                                  file_actions=[(os.POSIX_SPAWN_OPEN, fd, null, os.O_RDWR, 0) for fd in (0, 1, 2)])
        return init_pid

    def _home_pid_namespace(self) -> None:
        """Point our next fork back at our own PID namespace (judges, probes, exec'd spares)."""
        if self.pidns.ns_fd is not None:
            namespaces.setns(self.pidns.ns_fd, namespaces.CLONE_NEWPID)

    def _fork_spare(self, network: bool = False) -> _Spare:
        """A new spare; unless ``network``, already inside its private network namespace
        (creating one costs several milliseconds: better before the job than during it)."""
        init_pid = self._new_pid_namespace()
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the spare
            try:
                # What the fork server set up to wake on SIGCHLD is not the spare's.
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                parent_sock.close()
                _spare_main(child_sock, self.zygote_pid, init_pid is not None, self.plan, network)
            finally:
                os._exit(70)
        if init_pid is not None:
            self._home_pid_namespace()
        child_sock.close()
        REAPER.track(pid)
        if init_pid is not None:
            REAPER.track(init_pid)
            self._inits.append(init_pid)
        return _Spare(pid, init_pid, parent_sock)

    # Launcher protocol ----------------------------------------------------------------------

    def start(self, role: str, job: dict[str, Any], stdout_w: int, stderr_w: int, event_w: int,
              stdin_r: int | None = None) -> ForkHandle:
        self._drop_dead()
        job = dict(job, role=role)
        wants_network = role == "child" and bool((job.get("limits") or {}).get("network"))
        while True:
            if wants_network and self.plan.get("netns"):
                spare = self._fork_spare(network=True)  # rare: an exercise that needs the network
            else:
                spare = self._next_spare()
            try:
                send_job(spare.sock, job, [stdout_w, stderr_w, event_w] + ([stdin_r] if stdin_r is not None else []))
            except OSError:
                self._discard(spare)  # it died while waiting: take the next one
                continue
            break
        spare.sock.close()
        handle = ForkHandle(spare.pid, spare.init_pid)
        self.running.append(handle)
        # No refill here: spares are replaced after the request (its final event is out).
        return handle

    def after_request(self) -> None:
        """After a request (its final event is out): kill its processes, reap what has
        exited, and fork the replacement spares."""
        for handle in self.running:
            handle.kill_group()
        self.reap_finished()
        self.refill()

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until ``target`` spares are waiting (a ping is answered once they are: the
        tutor's "ready" means the next run starts on a spare)."""
        import select
        import time

        end = time.monotonic() + timeout
        self.refill()
        while self.servers and len(self.spares) < self.target and time.monotonic() < end:
            try:
                select.select([server.sock for server in self.servers], [], [], max(0.0, end - time.monotonic()))
            except InterruptedError:
                pass
            self.refill()  # drains the servers (through the reaper) and asks again if one failed

    def reap_finished(self) -> None:
        REAPER.reap()
        still = []
        for handle in self.running:
            pids = [p for p in (handle.pid, handle.init_pid) if p is not None]
            if all(p in REAPER.status for p in pids):
                for p in pids:
                    REAPER.forget(p)
            else:
                still.append(handle)
        self.running = still

    def idle(self) -> None:
        """Called while no request is waiting: reap the last run's processes."""
        self.reap_finished()
        self.refill()


def _spare_main(sock: socket.socket, zygote_pid: int, in_pid_ns: bool, plan: dict[str, Any],
                network: bool = False) -> None:
    """A pre-forked spare: wait for one job, enter the sandbox, run it, exit. Never returns."""
    os.setsid()
    kernel.set_parent_death_signal(signal.SIGKILL)
    # PDEATHSIG is racy: if the zygote died before prctl, we were already reparented.
    expected_ppid = 0 if in_pid_ns else zygote_pid
    if os.getppid() != expected_ppid:
        os._exit(1)
    from sandbox.isolation import confine

    confine.close_fds_except({sock.fileno(), 2})
    # The namespaces now, before the job: they cost milliseconds the run should not wait for.
    plan = confine.prepare(plan, network=network, in_pid_namespace=in_pid_ns)
    _touch_shared_pages()
    received = recv_job(sock)
    if received is None:
        os._exit(0)
    job, fds = received
    sock.close()
    if len(fds) not in (3, 4):
        os._exit(71)
    run_job(job, fds, plan)


def _touch_shared_pages() -> None:
    """Take, while waiting for a job, the copy-on-write faults a check would take later.

    A forked spare shares every page with the zygote until it writes one, and in CPython
    merely looking at an object writes its reference count. Checking the tamper evidence
    looks at a few thousand objects (torch's functions, ``Tensor``'s methods, the harness)
    spread over as many pages: about 4 ms of page copies inside every check's learner
    process. Done here, before the job arrives, they cost the check nothing.
    """
    try:
        from sandbox.judging import integrity

        integrity.baseline().replaced()
    except Exception:  # noqa: BLE001 - an optimisation only: the job's own check still runs
        pass
