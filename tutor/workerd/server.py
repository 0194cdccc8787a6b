"""The worker daemon: one warm sandbox engine, served to its own user over a Unix socket.

``python -m tutor.workerd.server --python P --device D`` (the CLI starts it; see
``client.spawn``). It binds the socket at once and warms the engine in the background, so a
client can connect while torch is still importing in the sandbox worker. This process
imports only the tutor's engine and the stdlib protocol, never torch.

Per connection (a thread each): the peer's uid is checked first (``SO_PEERCRED``: another
user's connection is refused with one line and closed); then a hello in each direction
(versions and code fingerprint); then any number of messages:

* ``request`` (a sandbox ``RunRequest``): relayed to the engine; its events come back as
  they happen, ending with one ``final``. Requests run one at a time: a second client is
  told ``waiting`` (with its place in line) and served after. While a run is in progress a
  ``cancel`` line, or the client hanging up, stops it.
* ``ready``: start the sandbox worker if needed, answer with its hello.
* ``ping``: wait until the worker has done its housekeeping after the last run, ``pong``.
* ``status``: what runs here; ``stop``: answer, then shut down.

The daemon exits after ``--idle`` seconds without a client (default 15 min), on ``stop``
or SIGTERM. A sandbox worker that dies is restarted by the engine (at once after a crash
during a run; the idle loop notices one that died between runs).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sandbox import protocol
from tutor.engine import Engine, EngineError
from tutor.workerd import DAEMON_VERSION
from tutor.workerd.channel import Channel
from tutor.workerd.runtime import code_fingerprint, peer_uid

DEFAULT_IDLE_S = 15 * 60.0
HELLO_TIMEOUT_S = 10.0


class Daemon:
    def __init__(self, python: str, device: str, socket_path: Path, idle_s: float = DEFAULT_IDLE_S,
                 engine: Engine | None = None) -> None:
        self.python = python
        self.device = device
        self.socket_path = socket_path
        self.idle_s = idle_s
        self.engine = engine or Engine(python=python, device=device)
        self.fingerprint = code_fingerprint()
        self.started_at = time.time()
        self.uid = os.getuid()
        self._run_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._waiting = 0
        self._clients = 0
        self._last_active = time.monotonic()
        self._running_since: float | None = None
        self.requests_served = 0
        self.refused = 0
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._inode: int | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def bind(self) -> None:
        """Listen on ``socket_path``: bound under a temporary name, then renamed into place,
        so a stale socket left by a crashed daemon is replaced atomically."""
        tmp = self.socket_path.with_name(f".{self.socket_path.name}.{os.getpid()}")
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            listener.bind(str(tmp))
        finally:
            os.umask(old_umask)
        os.chmod(tmp, 0o600)
        listener.listen(16)
        os.rename(tmp, self.socket_path)
        self._inode = os.stat(self.socket_path).st_ino
        self._listener = listener

    def serve_forever(self) -> None:
        assert self._listener is not None
        self.engine.start_in_background()
        self._listener.settimeout(1.0)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                self._housekeeping()
                continue
            except OSError:
                if self._stop.is_set():
                    break
                raise
            if self._stop.is_set():
                conn.close()
                break
            threading.Thread(target=self._serve_client, args=(conn,), daemon=True).start()
        self._shutdown()

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None and self._socket_is_ours():
            try:  # wakes the accept() in serve_forever at once
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as poke:
                    poke.settimeout(0.5)
                    poke.connect(str(self.socket_path))
            except OSError:
                pass

    def _housekeeping(self) -> None:
        with self._state_lock:
            idle = self._clients == 0 and time.monotonic() - self._last_active > self.idle_s
        if idle:
            self.log(f"idle for {self.idle_s:.0f} s: exiting")
            self.stop()
            return
        if self._socket_is_ours() is False:
            self.log("the socket was removed or replaced: exiting")
            self.stop()
            return
        if not self._run_lock.locked() and not self.engine.is_alive() and self.engine.state != "warming":
            self.log("the sandbox worker is gone: restarting it")
            self.engine.start_in_background()

    def _socket_is_ours(self) -> bool | None:
        try:
            return os.stat(self.socket_path).st_ino == self._inode
        except FileNotFoundError:
            return False
        except OSError:
            return None

    def _shutdown(self) -> None:
        if self._socket_is_ours():
            try:
                self.socket_path.unlink()
            except OSError:
                pass
        if self._listener is not None:
            self._listener.close()
        self.engine.close()

    @staticmethod
    def log(message: str) -> None:
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{os.getpid()}] {message}", file=sys.stderr, flush=True)

    # --- one client ---------------------------------------------------------------------------

    def _serve_client(self, conn: socket.socket) -> None:
        with self._state_lock:
            self._clients += 1
        chan = Channel(conn)
        try:
            uid = peer_uid(conn)
            if uid != self.uid:
                self.refused += 1
                self.log(f"refused a connection from uid {uid}")
                try:
                    chan.send({"type": "refused", "error": "this pytorch-tutor worker serves only its own user"})
                except OSError:
                    pass
                return
            try:
                hello = chan.recv(timeout=HELLO_TIMEOUT_S)
            except TimeoutError:
                return
            if hello is None or hello.get("type") != "hello":
                return
            chan.send(self._hello())
            if hello.get("daemon") != DAEMON_VERSION or hello.get("protocol") != protocol.PROTOCOL_VERSION:
                return  # the client sees the versions in our hello and says what to do
            while not self._stop.is_set():
                message = chan.recv()
                if message is None:
                    return
                self._dispatch(chan, message)
        except (OSError, TimeoutError):
            pass
        finally:
            chan.close()
            with self._state_lock:
                self._clients -= 1
                self._last_active = time.monotonic()

    def _dispatch(self, chan: Channel, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "request":
            self._run(chan, message)
        elif kind == "ready":
            chan.send(self._ready())
        elif kind == "ping":
            ok = self.engine.wait_ready()
            chan.send({"type": "pong", "ok": ok})
        elif kind == "status":
            chan.send(self.status())
        elif kind == "stop":
            chan.send({"type": "stopping", "pid": os.getpid()})
            self.log("stop requested")
            self.stop()
        # "cancel" with nothing running, and unknown types, are ignored (protocol rule).

    def _hello(self) -> dict[str, Any]:
        return {"type": "hello", "daemon": DAEMON_VERSION, "protocol": protocol.PROTOCOL_VERSION,
                "pid": os.getpid(), "python": self.python, "device": self.device,
                "fingerprint": self.fingerprint}

    def _ready(self) -> dict[str, Any]:
        try:
            self.engine.start()
        except EngineError as exc:
            return {"type": "ready", "ok": False, "error": str(exc)}
        return {"type": "ready", "ok": True, "worker": self.engine.hello}

    def status(self) -> dict[str, Any]:
        with self._state_lock:
            idle_for = 0.0 if self._clients else time.monotonic() - self._last_active
            running_for = None if self._running_since is None else time.monotonic() - self._running_since
            return {"type": "status", "pid": os.getpid(), "python": self.python, "device": self.device,
                    "socket": str(self.socket_path), "state": self.engine.state,
                    "mode": self.engine.hello.get("mode"), "worker_pid": self.engine.hello.get("pid"),
                    "worker_python": self.engine.hello.get("python"),
                    "uptime_s": round(time.time() - self.started_at, 1), "idle_s": round(idle_for, 1),
                    "idle_exit_s": self.idle_s, "clients": self._clients, "waiting": self._waiting,
                    "running_for_s": None if running_for is None else round(running_for, 2),
                    "requests": self.requests_served, "refused": self.refused,
                    "torch_imported": "torch" in sys.modules, "fingerprint": self.fingerprint}

    def _run(self, chan: Channel, message: dict[str, Any]) -> None:
        try:
            request = protocol.RunRequest.from_dict(message)
        except (ValueError, KeyError, TypeError) as exc:
            chan.send({"type": "final", "status": "error", "outcome": "ok", "error": f"bad request: {exc}"})
            return
        if not self._run_lock.acquire(blocking=False):
            with self._state_lock:
                self._waiting += 1
                position = self._waiting
            try:
                chan.send({"type": "waiting", "position": position})
            except OSError:
                pass
            self._run_lock.acquire()
            with self._state_lock:
                self._waiting -= 1
        try:
            with self._state_lock:
                self._running_since = time.monotonic()
            self._run_locked(chan, request)
        finally:
            with self._state_lock:
                self._running_since = None
                self._last_active = time.monotonic()
                self.requests_served += 1
            self._run_lock.release()

    def _run_locked(self, chan: Channel, request: protocol.RunRequest) -> None:
        ready = self._ready()
        if not ready["ok"]:
            chan.send({"type": "final", "status": "error", "outcome": "ok", "error": ready["error"]})
            return
        chan.send({"type": "worker", "hello": ready["worker"]})
        finished = threading.Event()
        sent_final = False

        def relay(event: dict[str, Any]) -> None:
            nonlocal sent_final
            if event.get("type") == "final":
                sent_final = True
            chan.send(event)  # an error here (client gone) is swallowed by the engine

        # While the run is in progress, this thread owns reading the client: a cancel line
        # or a hang-up stops the run (Ctrl-C in the CLI closes the connection).
        watcher = threading.Thread(target=self._watch_client, args=(chan, finished), daemon=True)
        watcher.start()
        try:
            result = self.engine.submit(request, relay)
        finally:
            finished.set()
            watcher.join()
        if not sent_final:  # the engine gave up (worker died or would not start)
            try:
                chan.send({"type": "final", "status": result.status, "outcome": result.outcome,
                           "detail": result.detail, "error": result.error, "duration_ms": result.duration_ms})
            except OSError:
                pass

    def _watch_client(self, chan: Channel, finished: threading.Event) -> None:
        while not finished.is_set():
            try:
                message = chan.recv(timeout=0.1)
            except TimeoutError:
                continue
            except OSError:
                message = None
            if message is None or message.get("type") == "cancel":
                self.engine.cancel()
                if message is None:
                    return
                continue
            # Anything else is the client's *next* message: it sends one as soon as it has read
            # this run's final event, which can be before the engine has returned here. It is
            # handed back to the connection loop, never dropped (a dropped request left the
            # client waiting forever: issue 13's "check after a pass hangs").
            chan.push_back(message)
            return


def _engine(python: str, device: str, data_dir: str | None, code_dir: Path) -> Engine:
    """The daemon's engine. Its worker log goes to the data dir of the client that started it;
    the worker's code is copied beside the daemon's socket (``code_dir``), never into that data
    dir: the daemon serves every later client too, and must not depend on a folder that its
    first client may remove (a reset, a test's temporary home)."""
    return Engine(python=python, device=device, data_dir=Path(data_dir) if data_dir else None, code_dir=code_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor.workerd.server")
    parser.add_argument("--python", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--idle", type=float, default=DEFAULT_IDLE_S, help="seconds without a client before exiting")
    parser.add_argument("--data-dir", help="the user data dir of the client that started it (engine logs)")
    args = parser.parse_args(argv)
    daemon = Daemon(args.python, args.device, Path(args.socket), idle_s=args.idle,
                    engine=_engine(args.python, args.device, args.data_dir, Path(args.socket).parent / "code"))
    signal.signal(signal.SIGTERM, lambda *_: daemon.stop())
    signal.signal(signal.SIGINT, lambda *_: daemon.stop())
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    daemon.bind()
    daemon.log(f"serving {args.python} ({args.device}) on {args.socket}")
    daemon.serve_forever()
    daemon.log("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
