"""Exec'd single-use spares: warm interpreters for CUDA, MPS and platforms without a safe fork.

A spare is ``python -m sandbox.runtime.spare --device D --sock FD``: it enters a user namespace
(while it still has one thread, so per-run network namespaces stay possible), imports torch,
creates the device context and sets the per-process memory fraction, says it is ready on its
socket, then waits for exactly one job, runs it like a forked child would
(``sandbox.runtime.child.run_job``) and exits. The pool replaces each spare as soon as it is taken,
so the next run finds one ready (warm-up ~1-3 s happens in the background).

The launcher side (:class:`SpareLauncher`) lives in the worker. Spares are started with
``posix_spawn`` and reaped by the zygote's single reaper, so no ``waitpid`` elsewhere can
steal their exit status.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import time
from typing import Any

from sandbox.protocol import Limits
from sandbox.isolation import kernel, landlock, namespaces, report
from sandbox.isolation.environment import PACKAGE_PARENT, THREAD_ENV
from sandbox.runtime import gpu, warm
from sandbox.runtime.child import run_job
from sandbox.runtime.handles import ForkHandle
from sandbox.runtime.reaper import REAPER
from sandbox.runtime.transport import recv_job, send_job

#: How long a spare may take to become ready (import torch + device context).
READY_TIMEOUT_S = 180.0


def SpareHandle(pid: int) -> ForkHandle:
    """A job in an exec'd spare: the same handle as a forked run, without a PID-namespace init."""
    return ForkHandle(pid, None)


class _Spare:
    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid, self.sock = pid, sock
        self.info: dict[str, Any] | None = None


class SpareLauncher:
    """A pool of exec'd spares for one device (``supervise.Launcher``)."""

    mode = "spare"

    def __init__(self, device: str, spares: int = 1, python: str | None = None, userns: bool = True) -> None:
        self.device = device
        self.target = max(1, spares)
        self.python = python or sys.executable
        self.userns = userns
        self.pool: list[_Spare] = []
        self.running: list[ForkHandle] = []
        self.started = 0
        self.last_info: dict[str, Any] = {}
        self.refill()

    def refill(self) -> None:
        REAPER.reap()
        self.pool = [s for s in self.pool if s.pid not in REAPER.status or self._forget(s)]
        while len(self.pool) < self.target:
            self.pool.append(self._spawn())

    def _forget(self, spare: _Spare) -> bool:
        spare.sock.close()
        REAPER.forget(spare.pid)
        return False

    def _spawn(self) -> _Spare:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        os.set_inheritable(theirs.fileno(), True)
        env = {k: v for k, v in os.environ.items()}
        env.update(THREAD_ENV)
        env["PYTHONPATH"] = PACKAGE_PARENT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        argv = [self.python, "-m", "sandbox.runtime.spare", "--device", self.device, "--sock", str(theirs.fileno()),
                "--parent", str(os.getpid())]
        if not self.userns:
            argv.append("--no-userns")
        null = os.devnull
        try:
            pid = os.posix_spawn(self.python, argv, env, setsid=True,
                                 file_actions=[(os.POSIX_SPAWN_OPEN, 0, null, os.O_RDONLY, 0),
                                               (os.POSIX_SPAWN_OPEN, 1, null, os.O_WRONLY, 0)])
        finally:
            theirs.close()
        REAPER.track(pid)
        self.started += 1
        return _Spare(pid, ours)

    def _wait_ready(self, spare: _Spare) -> bool:
        """Block until ``spare`` says it is warm; False if it died or took too long."""
        if spare.info is not None:
            return True
        deadline = time.monotonic() + READY_TIMEOUT_S
        buf = b""
        while b"\n" not in buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            ready, _, _ = select.select([spare.sock], [], [], min(remaining, 0.5))
            if not ready:
                continue
            chunk = spare.sock.recv(65536)
            if not chunk:
                return False
            buf += chunk
        try:
            spare.info = json.loads(buf.split(b"\n", 1)[0])
        except ValueError:
            return False
        if not spare.info.get("ok", False):
            self.last_info = spare.info
            return False
        self.last_info = spare.info
        return True

    def start(self, role: str, job: dict[str, Any], stdout_w: int, stderr_w: int, event_w: int,
              stdin_r: int | None = None) -> ForkHandle:
        job = dict(job, role=role)
        failures = 0
        while True:
            self.refill()
            spare = self.pool.pop(0)
            ok = self._wait_ready(spare)
            if ok:
                try:
                    send_job(spare.sock, job, [stdout_w, stderr_w, event_w] + ([stdin_r] if stdin_r is not None else []))
                except OSError:
                    ok = False
            if ok:
                break
            SpareHandle(spare.pid).kill_group()
            self._forget(spare)
            failures += 1
            if failures == 2 and self.userns:
                # A device driver may refuse to work inside a user namespace: try once more
                # without it (and without the per-run network namespace it enables).
                self.userns = False
                self.close()
                continue
            if failures >= 2:
                why = self.last_info.get("error") or "it exited during start-up"
                raise RuntimeError(f"no warm {self.device} worker could be started: {why}")
        spare.sock.close()
        handle = SpareHandle(spare.pid)
        self.running.append(handle)
        self.refill()  # the replacement warms up while this run executes
        return handle

    def after_request(self) -> None:
        REAPER.reap()
        still = []
        for handle in self.running:
            handle.kill_group()
            if handle.poll() is not None:
                REAPER.forget(handle.pid)
            else:
                still.append(handle)
        self.running = still
        self.refill()

    def close(self) -> None:
        for spare in self.pool:
            SpareHandle(spare.pid).kill_group()
            spare.sock.close()
        self.pool = []


class SparePools:
    """One :class:`SpareLauncher` per device, created on first use."""

    def __init__(self, spares: int = 2) -> None:
        self.spares = spares
        self.pools: dict[str, SpareLauncher] = {}

    def launcher(self, device: str) -> SpareLauncher:
        device = normalise_device(device)
        if device not in self.pools:
            # CPU spares serve child and judge alike; a device pool serves children only.
            self.pools[device] = SpareLauncher(device, spares=self.spares if device == "cpu" else 1)
        return self.pools[device]

    def after_request(self) -> None:
        for pool in self.pools.values():
            pool.after_request()

    def layers(self, device: str) -> dict[str, dict[str, Any]]:
        return report.spare_layers(landlock.landlock_abi(), kernel.IS_LINUX)


def normalise_device(device: str) -> str:
    device = (device or "cpu").strip()
    if device == "cuda":
        return "cuda:0"
    return device


# --- the spare process ---------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sandbox.runtime.spare")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sock", type=int, required=True)
    parser.add_argument("--parent", type=int, default=0)
    parser.add_argument("--no-userns", action="store_true")
    args = parser.parse_args(argv)
    sock = socket.socket(fileno=args.sock)
    kernel.set_parent_death_signal(signal.SIGKILL)
    if args.parent and os.getppid() != args.parent:
        os._exit(1)
    # A user namespace now, while single-threaded (CUDA starts threads): it is what lets
    # each run get its own network namespace later.
    userns = False
    if kernel.IS_LINUX and not args.no_userns:
        try:
            namespaces.enter_user_namespace()
            userns = True
        except OSError:
            pass
    info: dict[str, Any] = {"ok": True, "pid": os.getpid(), "userns": userns}
    try:
        warmed = warm.warm_up()
        info["import_ms"] = warmed["import_ms"]
        if args.device != "cpu":
            info["gpu"] = gpu.prepare(args.device, Limits().gpu_memory_fraction)
    except Exception as exc:  # noqa: BLE001 - reported to the launcher, which says it plainly
        info = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
    try:
        sock.sendall((json.dumps(info) + "\n").encode())
    except OSError:
        os._exit(0)
    if not info["ok"]:
        os._exit(1)
    received = recv_job(sock)
    if received is None:
        os._exit(0)
    job, fds = received
    sock.close()
    plan = {"netns": userns, "netns_needs_userns": False, "landlock": landlock.landlock_abi(),
            # RLIMIT_DATA counts a CUDA context's reservations: off on GPUs until measured on one.
            "data_limit": args.device == "cpu"}
    notes = []
    if args.device != "cpu":
        fraction = Limits.from_dict(job.get("limits")).gpu_memory_fraction
        applied = gpu.set_memory_fraction(args.device, fraction)
        notes.append(f"device {info.get('gpu', {}).get('device', args.device)} ({info.get('gpu', {}).get('name', '?')}), "
                     f"memory fraction {applied}, spare pid {os.getpid()}")
    run_job(job, fds, plan, notes=notes)


if __name__ == "__main__":
    main(sys.argv[1:])
