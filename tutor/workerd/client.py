"""The CLI's side of the worker daemon: :class:`RemoteEngine` and ``worker start|stop|status``.

``RemoteEngine`` is an :class:`tutor.engine.Engine` whose worker lives in the daemon: the
same ``start``/``submit``/``wait_ready``/``cancel``/``close`` and the same session recording
(``Engine.submit`` records; only ``_submit`` differs). Connecting finds the daemon for this
interpreter + device, or starts one in the background (under a lock file, so two commands
started together start one daemon) and waits for its socket.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from sandbox import protocol
from sandbox.protocol import RunRequest, RunResult
from tutor.engine import START_TIMEOUT_S, Engine, EngineError, sandbox_parent
from tutor.workerd import DAEMON_VERSION
from tutor.workerd.channel import Channel
from tutor.workerd.runtime import (SOCKET_GLOB, RuntimeDirError, code_fingerprint, ensure_private_dir, lock_path, log_path,
                                   peer_uid, runtime_dir, socket_path, worker_key)

IDLE_ENV = "PYTORCH_TUTOR_WORKER_IDLE"
#: How long a freshly started daemon may take to bind its socket (it imports no torch).
SPAWN_TIMEOUT_S = 20.0


class DaemonUnavailable(EngineError):
    """The shared worker cannot be used here (unsafe runtime folder, refused, will not
    start): the command runs in a worker of its own instead."""


class DaemonRefused(DaemonUnavailable):
    pass


def tutor_parent() -> str:
    return str(Path(__file__).resolve().parents[2])


def idle_seconds(default: float | None = None) -> float:
    from tutor.workerd.server import DEFAULT_IDLE_S

    raw = os.environ.get(IDLE_ENV)
    try:
        return float(raw) if raw else (default if default is not None else DEFAULT_IDLE_S)
    except ValueError:
        return default if default is not None else DEFAULT_IDLE_S


# --- connecting -------------------------------------------------------------------------------


def _connect(path: Path, timeout: float = 10.0) -> tuple[Channel, dict[str, Any]]:
    """Connect and shake hands; raises OSError when nothing listens there."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
        owner = peer_uid(sock)
        if owner is not None and owner != os.getuid():  # never talk to another user's process
            raise DaemonRefused(f"{path} is served by uid {owner}, not by you")
    except BaseException:
        sock.close()
        raise
    chan = Channel(sock)
    try:
        chan.send({"type": "hello", "daemon": DAEMON_VERSION, "protocol": protocol.PROTOCOL_VERSION,
                   "pid": os.getpid()})
        reply = chan.recv(timeout=timeout)
    except (OSError, TimeoutError):
        chan.close()
        raise ConnectionRefusedError(f"no answer from {path}") from None
    if reply is None:
        chan.close()
        raise ConnectionRefusedError(f"{path} hung up")
    if reply.get("type") == "refused":
        chan.close()
        raise DaemonRefused(str(reply.get("error", "the worker refused the connection")))
    return chan, reply


def _compatible(hello: dict[str, Any]) -> bool:
    return (hello.get("type") == "hello" and hello.get("daemon") == DAEMON_VERSION
            and hello.get("protocol") == protocol.PROTOCOL_VERSION and hello.get("fingerprint") == code_fingerprint())


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def spawn(python: str, device: str, sock: Path, idle_s: float, data_dir: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a daemon in the background: its own session, output to its log file."""
    base = sock.parent
    key = sock.name[len("worker-"):-len(".sock")]
    env = dict(os.environ)
    paths = [tutor_parent(), sandbox_parent()]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths)) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    log = os.fdopen(os.open(log_path(key, base), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "tutor.workerd.server", "--python", python, "--device", device,
             "--socket", str(sock), "--idle", str(idle_s), *(["--data-dir", str(data_dir)] if data_dir else [])],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True,
            close_fds=True, cwd="/",
        )
    finally:
        log.close()


def connect_or_spawn(python: str, device: str, idle_s: float | None = None,
                     base: Path | None = None, data_dir: Path | None = None) -> tuple[Channel, dict[str, Any]]:
    """A connection to this interpreter + device's daemon, started first if need be. A
    daemon from other code (an upgrade, a changed checkout) is stopped and replaced."""
    try:
        base = ensure_private_dir(base or runtime_dir())
    except RuntimeDirError as exc:
        raise DaemonUnavailable(str(exc)) from None
    key = worker_key(python, device, sandbox_parent())
    sock = socket_path(key, base)
    with _locked(lock_path(key, base)):
        for _ in range(2):
            try:
                chan, hello = _connect(sock)
            except (FileNotFoundError, ConnectionRefusedError):
                break
            if _compatible(hello):
                return chan, hello
            _ask_to_stop(chan)
            _wait_gone(sock, hello.get("pid"))
        proc = spawn(python, device, sock, idle_seconds(idle_s), data_dir)
        deadline = time.monotonic() + SPAWN_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                chan, hello = _connect(sock)
                if _compatible(hello):
                    return chan, hello
                chan.close()
            except (FileNotFoundError, ConnectionRefusedError):
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.02)
    raise DaemonUnavailable(f"the worker daemon did not start (see {log_path(key, base)})")


def _ask_to_stop(chan: Channel) -> None:
    try:
        chan.send({"type": "stop"})
        chan.recv(timeout=5)
    except (OSError, TimeoutError):
        pass
    chan.close()


def _wait_gone(sock: Path, pid: Any, timeout: float = 10.0) -> None:
    """Until the stopping daemon has given up its socket (or its process is gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sock.exists() or not (isinstance(pid, int) and _pid_alive(pid)):
            return
        time.sleep(0.02)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the engine ---------------------------------------------------------------------------------


class RemoteEngine(Engine):
    """An ``Engine`` whose warm worker is the per-user daemon's."""

    def __init__(self, python: str | None = None, device: str = "cpu", runs_dir: Path | None = None,
                 recorder: Any = None, on_wait: Callable[[int], None] | None = None,
                 idle_s: float | None = None, runtime: Path | None = None,
                 on_notice: Callable[[str], None] | None = None, data_dir: Path | None = None) -> None:
        super().__init__(python=python, device=device, runs_dir=runs_dir, recorder=recorder)
        self.data_dir = data_dir
        self.on_wait = on_wait
        self.on_notice = on_notice
        #: The engine of this process's own, once the shared worker proved unusable.
        self.fallback: Engine | None = None
        self.idle_s = idle_s
        self.runtime = runtime
        self.daemon: dict[str, Any] = {}
        self._chan: Channel | None = None

    def connect_if_running(self) -> bool:
        """Connect to this interpreter + device's daemon if one runs; never starts one."""
        with self._start_lock:
            if self._chan is not None:
                return True
            try:
                base = ensure_private_dir(self.runtime or runtime_dir())
                chan, hello = _connect(socket_path(worker_key(self.python, self.device, sandbox_parent()), base))
            except (OSError, EngineError):
                return False
            if not _compatible(hello):
                chan.close()
                return False
            self._chan, self.daemon = chan, hello
            return True

    def start(self) -> None:
        """Connect (starting the daemon if needed) and wait until its worker is warm."""
        with self._start_lock:
            if self.fallback is not None:
                self.fallback.start()
                self.hello = self.fallback.hello
                return
            if self._chan is not None and self.hello:
                return
            self._set_state("warming")
            try:
                if self._chan is None:
                    try:
                        self._chan, self.daemon = connect_or_spawn(self.python, self.device, self.idle_s,
                                                                   self.runtime, self.data_dir)
                    except DaemonUnavailable as exc:
                        self._fall_back(str(exc))
                        self.fallback.start()  # type: ignore[union-attr]
                        self.hello = self.fallback.hello  # type: ignore[union-attr]
                        self._set_state("ready")
                        return
                self._chan.send({"type": "ready"})
                reply = self._recv_skipping(time.monotonic() + START_TIMEOUT_S + 30, "ready")
            except (OSError, TimeoutError, EngineError) as exc:
                self._drop()
                self._set_state("dead")
                if isinstance(exc, EngineError):
                    raise
                raise EngineError(f"lost the worker daemon: {exc}") from None
            if reply is None:
                self._drop()
                self._set_state("dead")
                raise EngineError("the worker daemon hung up")
            if not reply.get("ok"):
                self._set_state("dead")
                raise EngineError(str(reply.get("error") or "the sandbox worker did not start"))
            self.hello = dict(reply.get("worker") or {})
            self._set_state("ready")

    def _fall_back(self, why: str) -> None:
        if self.on_notice is not None:
            self.on_notice(f"the shared worker is unavailable ({why}); running without it")
        self.fallback = Engine(python=self.python, device=self.device, runs_dir=self.runs_dir)

    def _recv_skipping(self, deadline: float, wanted: str) -> dict[str, Any] | None:
        assert self._chan is not None
        while True:
            message = self._chan.recv(timeout=max(0.0, deadline - time.monotonic()))
            if message is None or message.get("type") == wanted:
                return message

    def _drop(self) -> None:
        chan, self._chan = self._chan, None
        self.hello = {}
        if chan is not None:
            chan.close()

    def _kill(self) -> None:
        self._drop()

    def is_alive(self) -> bool:
        return self._chan is not None or (self.fallback is not None and self.fallback.is_alive())

    def close(self) -> None:
        self._drop()
        if self.fallback is not None:
            self.fallback.close()
        self._set_state("stopped")

    def cancel(self) -> None:
        if self.fallback is not None:
            self.fallback.cancel()
            return
        chan = self._chan
        if chan is not None:
            try:
                chan.send({"type": "cancel"})
            except OSError:
                pass

    def wait_ready(self, timeout: float = 30.0) -> bool:
        with self._lock:
            try:
                self.start()
                if self.fallback is not None:
                    return self.fallback.wait_ready(timeout)
                assert self._chan is not None
                self._chan.send({"type": "ping"})
                reply = self._recv_skipping(time.monotonic() + timeout, "pong")
            except (EngineError, OSError, TimeoutError):
                return False
            return bool(reply and reply.get("ok"))

    def _submit(self, request: RunRequest, on_event: Callable[[dict[str, Any]], None] | None = None) -> RunResult:
        with self._lock:
            # The daemon's working directory is not ours: every path it gets is absolute.
            request.file = os.path.abspath(request.file)
            if not request.run_id:
                import uuid

                request.run_id = uuid.uuid4().hex[:12]
            own_workdir = not request.workdir and self.runs_dir is not None
            if own_workdir:
                request.workdir = str(Path(self.runs_dir, request.run_id).resolve())
            try:
                for attempt in range(2):
                    result, sent = self._relay(request, on_event)
                    # A daemon that went away between requests (idle exit, stop, crash) is
                    # started again, once; one that died during the run is an error.
                    if sent or attempt:
                        return result
                return result
            finally:
                if own_workdir:
                    shutil.rmtree(request.workdir, ignore_errors=True)

    def _relay(self, request: RunRequest, on_event: Callable[[dict[str, Any]], None] | None) -> tuple[RunResult, bool]:
        result = RunResult()
        try:
            self.start()
            if self.fallback is not None:
                result = self.fallback._submit(request, on_event)
                self.hello = self.fallback.hello
                return result, True
            assert self._chan is not None
            self._chan.send(request.to_dict())
        except EngineError as exc:
            result.error = str(exc)
            return result, True
        except OSError:
            self._drop()
            result.error = "the worker daemon went away"
            return result, False
        self._set_state("running")
        deadline = time.monotonic() + 4 * request.limits.timeout_s + START_TIMEOUT_S + 60
        got_any = False
        try:
            while True:
                try:
                    event = self._chan.recv(timeout=max(0.0, deadline - time.monotonic()))
                except TimeoutError:
                    event = None
                except OSError:
                    event = None
                if event is None:
                    self._drop()
                    result.status = "error"
                    result.error = result.error or "the worker daemon stopped unexpectedly"
                    return result, got_any
                got_any = True
                kind = event.get("type")
                if kind == "waiting":
                    if self.on_wait is not None:
                        self.on_wait(int(event.get("position") or 1))
                    continue
                if kind == "worker":
                    self.hello = dict(event.get("hello") or {})
                    continue
                result.apply(event)
                if on_event is not None:
                    try:
                        on_event(event)
                    except Exception:  # noqa: BLE001
                        pass
                if kind == "final":
                    return result, True
        finally:
            if self.state == "running":
                self._set_state("ready")


# --- worker start|stop|status ------------------------------------------------------------------


def daemon_sockets(base: Path | None = None) -> list[Path]:
    """This user's daemon sockets (an unsafe runtime folder raises ``RuntimeDirError``)."""
    base = base or runtime_dir()
    if not base.exists():
        return []
    ensure_private_dir(base)
    try:
        return sorted(base.glob(SOCKET_GLOB))
    except OSError:
        return []


def ask(sock: Path, message: dict[str, Any], timeout: float = 10.0) -> dict[str, Any] | None:
    """Send one message to the daemon at ``sock``; its answer, or None if none runs there."""
    try:
        chan, _hello = _connect(sock)
    except (OSError, EngineError):
        return None
    try:
        chan.send(message)
        return chan.recv(timeout=timeout)
    except (OSError, TimeoutError):
        return None
    finally:
        chan.close()


def statuses(base: Path | None = None) -> list[dict[str, Any]]:
    """Every daemon of this user that answers (stale sockets are removed)."""
    found = []
    for sock in daemon_sockets(base):
        status = ask(sock, {"type": "status"})
        if status is None:
            try:
                sock.unlink()
            except OSError:
                pass
            continue
        found.append(status)
    return found


def stop_all(base: Path | None = None) -> list[dict[str, Any]]:
    stopped = []
    for sock in daemon_sockets(base):
        reply = ask(sock, {"type": "stop"})
        if reply is not None:
            _wait_gone(sock, reply.get("pid"))
            stopped.append(reply)
    return stopped
