"""The worker daemon's protocol and safety, with a stand-in engine (no torch, milliseconds).

The daemon runs in this process on a thread; clients are real sockets. The real daemon with
a real sandbox worker is tested in test_worker_daemon_real.py.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from sandbox.protocol import Limits, RunRequest, RunResult
from tutor.engine import sandbox_parent
from tutor.workerd import client
from tutor.workerd.channel import Channel
from tutor.workerd.runtime import RuntimeDirError, ensure_private_dir, peer_uid, socket_path, worker_key
from tutor.workerd.server import Daemon

NOBODY = 65534


class FakeEngine:
    """Just enough of ``tutor.engine.Engine`` for the daemon: files named ``*block*`` run
    until released (or cancelled)."""

    def __init__(self) -> None:
        self.hello = {"type": "hello", "mode": "fake", "pid": 1}
        self.state = "ready"
        self.release = threading.Event()
        self.cancelled = threading.Event()
        self.running = threading.Event()
        self.closed = False
        self.files: list[str] = []

    def start(self) -> None:
        pass

    def start_in_background(self) -> None:
        pass

    def is_alive(self) -> bool:
        return True

    def wait_ready(self, timeout: float = 30.0) -> bool:
        return True

    def cancel(self) -> None:
        self.cancelled.set()
        self.release.set()

    def close(self) -> None:
        self.closed = True

    def submit(self, request: RunRequest, on_event: Any = None) -> RunResult:
        self.files.append(request.file)
        on_event({"type": "started", "run_id": request.run_id})
        if "block" in request.file:
            self.running.set()
            self.release.wait(10)
        final = {"type": "final", "status": "fail" if self.cancelled.is_set() else "pass", "outcome": "ok",
                 "duration_ms": 1.0}
        on_event(final)
        result = RunResult()
        result.apply(final)
        return result


@pytest.fixture
def runtime(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="ptwd-", dir="/tmp"))
    monkeypatch.setenv("PYTORCH_TUTOR_RUNTIME_DIR", str(base))
    yield base
    import shutil

    shutil.rmtree(base, ignore_errors=True)


def start_daemon(base: Path, engine: FakeEngine | None = None, idle_s: float = 60.0,
                 fingerprint: str | None = None) -> tuple[Daemon, threading.Thread]:
    sock = socket_path(worker_key(sys.executable, "cpu", sandbox_parent()), base)
    daemon = Daemon(sys.executable, "cpu", sock, idle_s=idle_s, engine=engine or FakeEngine())  # type: ignore[arg-type]
    if fingerprint is not None:
        daemon.fingerprint = fingerprint
    daemon.bind()
    thread = threading.Thread(target=daemon.serve_forever, daemon=True)
    thread.start()
    return daemon, thread


@pytest.fixture
def daemon(runtime: Path) -> Iterator[Daemon]:
    d, thread = start_daemon(runtime)
    yield d
    d.stop()
    thread.join(5)


def request(tmp_path: Path, name: str = "ok.py") -> RunRequest:
    path = tmp_path / name
    path.write_text("print('hi')\n")
    return RunRequest(kind="run", file=str(path), limits=Limits(timeout_s=5))


def test_a_request_is_relayed_and_its_events_come_back(daemon: Daemon, tmp_path: Path) -> None:
    engine = client.RemoteEngine(runs_dir=tmp_path / "runs")
    seen: list[str] = []
    try:
        result = engine.submit(request(tmp_path), lambda e: seen.append(e["type"]))
        assert engine.hello.get("mode") == "fake"  # the worker's hello, relayed
    finally:
        engine.close()
    assert result.status == "pass"
    assert seen == ["started", "final"]
    assert daemon.engine.files == [str(tmp_path / "ok.py")]  # type: ignore[attr-defined]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_relative_paths_are_made_absolute_for_the_daemon(daemon: Daemon, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rel.py").write_text("pass\n")
    monkeypatch.chdir(tmp_path)
    engine = client.RemoteEngine()
    try:
        assert engine.submit(RunRequest(kind="run", file="rel.py")).status == "pass"
    finally:
        engine.close()
    assert daemon.engine.files == [str(tmp_path / "rel.py")]  # type: ignore[attr-defined]


def test_a_second_client_waits_with_a_line_saying_so(daemon: Daemon, tmp_path: Path) -> None:
    fake: FakeEngine = daemon.engine  # type: ignore[assignment]
    first, second = client.RemoteEngine(), client.RemoteEngine()
    waits: list[int] = []
    second.on_wait = waits.append
    results: dict[str, RunResult] = {}
    a = threading.Thread(target=lambda: results.__setitem__("a", first.submit(request(tmp_path, "block.py"))))
    a.start()
    assert fake.running.wait(5)
    b = threading.Thread(target=lambda: results.__setitem__("b", second.submit(request(tmp_path))))
    b.start()
    deadline = time.monotonic() + 5
    while not waits and time.monotonic() < deadline:
        time.sleep(0.01)
    assert waits == [1], "the second client is told it waits, while the first still runs"
    assert "b" not in results
    assert daemon.status()["waiting"] == 1
    fake.release.set()
    a.join(5)
    b.join(5)
    first.close()
    second.close()
    assert results["a"].status == "pass" and results["b"].status == "pass"
    assert fake.files[-1].endswith("ok.py")


def test_hanging_up_during_a_run_cancels_it(daemon: Daemon, tmp_path: Path) -> None:
    fake: FakeEngine = daemon.engine  # type: ignore[assignment]
    chan, hello = client._connect(daemon.socket_path)
    assert hello["type"] == "hello" and hello["pid"] == os.getpid()
    chan.send(request(tmp_path, "block.py").to_dict())
    assert fake.running.wait(5)
    chan.close()  # what Ctrl-C in the CLI amounts to
    assert fake.cancelled.wait(5)


def test_a_cancel_line_stops_the_run(daemon: Daemon, tmp_path: Path) -> None:
    fake: FakeEngine = daemon.engine  # type: ignore[assignment]
    engine = client.RemoteEngine()
    out: dict[str, RunResult] = {}
    t = threading.Thread(target=lambda: out.__setitem__("r", engine.submit(request(tmp_path, "block.py"))))
    t.start()
    assert fake.running.wait(5)
    engine.cancel()
    t.join(5)
    engine.close()
    assert fake.cancelled.is_set() and out["r"].status == "fail"


def test_a_daemon_from_other_code_is_stopped_and_replaced(runtime: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    old, old_thread = start_daemon(runtime, fingerprint="from-an-older-version")
    spawned: list[Daemon] = []

    def fake_spawn(python: str, device: str, sock: Path, idle_s: float, data_dir: Any = None) -> Any:
        new, _ = start_daemon(runtime)
        spawned.append(new)

        class Proc:
            def poll(self) -> None:
                return None

        return Proc()

    monkeypatch.setattr(client, "spawn", fake_spawn)
    engine = client.RemoteEngine()
    try:
        assert engine.submit(request(tmp_path)).status == "pass"
    finally:
        engine.close()
    old_thread.join(5)
    assert not old_thread.is_alive(), "the old daemon was asked to stop"
    assert spawned and spawned[0].engine.files  # type: ignore[attr-defined]
    spawned[0].stop()


def test_status_stop_and_statuses(daemon: Daemon) -> None:
    (found,) = client.statuses()
    assert found["pid"] == os.getpid() and found["device"] == "cpu" and found["python"] == sys.executable
    assert found["idle_exit_s"] == 60.0 and found["requests"] == 0
    stopped = client.stop_all()
    assert [s["pid"] for s in stopped] == [os.getpid()]
    deadline = time.monotonic() + 5
    while daemon.socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not daemon.socket_path.exists()
    assert daemon.engine.closed  # type: ignore[attr-defined]


def test_stale_sockets_are_cleaned_up_by_status(runtime: Path) -> None:
    stale = runtime / "worker-0123456789abcdef.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale))
    s.close()  # bound, never listening: what a killed daemon leaves
    assert client.statuses() == []
    assert not stale.exists()


def test_the_daemon_exits_when_idle(runtime: Path) -> None:
    d, thread = start_daemon(runtime, idle_s=0.3)
    chan, _ = client._connect(d.socket_path)
    time.sleep(0.6)
    assert thread.is_alive(), "a connected client keeps the daemon up"
    chan.close()
    thread.join(5)
    assert not thread.is_alive()
    assert not d.socket_path.exists() and d.engine.closed  # type: ignore[attr-defined]


def test_a_replaced_socket_makes_the_old_daemon_exit(runtime: Path) -> None:
    d, thread = start_daemon(runtime)
    d.socket_path.unlink()
    thread.join(5)
    assert not thread.is_alive()


# --- the runtime folder ----------------------------------------------------------------------


def test_the_runtime_folder_is_private(tmp_path: Path) -> None:
    path = tmp_path / "rt"
    ensure_private_dir(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    path.chmod(0o755)
    ensure_private_dir(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o700, "an opened-up folder of ours is closed again"


def test_a_link_or_a_file_is_never_used_as_the_runtime_folder(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(RuntimeDirError, match="not a folder"):
        ensure_private_dir(tmp_path / "link")
    (tmp_path / "file").write_text("")
    with pytest.raises(RuntimeDirError):
        ensure_private_dir(tmp_path / "file")


# --- another user ------------------------------------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as a second uid")


@needs_root
def test_a_runtime_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "theirs"
    path.mkdir(mode=0o700)
    os.chown(path, NOBODY, NOBODY)
    with pytest.raises(RuntimeDirError, match="belongs to uid"):
        ensure_private_dir(path)


def as_other_user(action: Any) -> str:
    """Run ``action()`` in a forked child that became uid/gid 65534; its return value (a
    short string) comes back through a pipe. The child touches only sockets and os calls."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no prints, no imports, exit with os._exit
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            answer = action()
        except BaseException as exc:  # noqa: BLE001
            answer = f"{type(exc).__name__}: {exc}"
        os.write(write, answer.encode()[:4000])
        os._exit(0)
    os.close(write)
    chunks = []
    while True:
        data = os.read(read, 4096)
        if not data:
            break
        chunks.append(data)
    os.close(read)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


@needs_root
def test_another_user_cannot_even_reach_the_socket(daemon: Daemon) -> None:
    def connect() -> str:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(daemon.socket_path))
        return "connected"

    assert as_other_user(connect).startswith("PermissionError"), "the 0700 folder keeps other users out"
    assert daemon.refused == 0


@needs_root
def test_the_daemon_refuses_another_users_connection_even_through_an_open_socket(daemon: Daemon) -> None:
    # Someone opened the folder and the socket up by hand: the peer-credential check still
    # refuses, before reading a byte of the request.
    daemon.socket_path.parent.chmod(0o755)
    daemon.socket_path.chmod(0o777)

    def talk() -> str:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(str(daemon.socket_path))
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode()

    reply = as_other_user(talk)
    assert '"refused"' in reply and "hello" not in reply, reply
    assert daemon.refused == 1
    assert daemon.requests_served == 0


@needs_root
def test_the_client_never_talks_to_a_socket_of_another_user(tmp_path: Path) -> None:
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="ptwo-", dir="/tmp"))
    shared.chmod(0o777)
    sock = shared / "worker-x.sock"
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(str(sock))
            os.chmod(str(sock), 0o777)
            s.listen(1)
            os.write(ready_w, b"1")
            conn, _ = s.accept()
            conn.sendall(b'{"type":"hello","daemon":1,"protocol":1}\n')
            time.sleep(5)
        finally:
            os._exit(0)
    os.close(ready_w)
    try:
        assert os.read(ready_r, 1) == b"1"
        with pytest.raises(client.DaemonRefused, match="uid 65534"):
            client._connect(sock)
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.connect(str(sock))
        assert peer_uid(probe) == NOBODY
        probe.close()
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(ready_r)
        import shutil

        shutil.rmtree(shared, ignore_errors=True)


def test_channel_survives_split_lines() -> None:
    a, b = socket.socketpair()
    chan = Channel(b)
    a.sendall(b'{"type":"x","n":')
    with pytest.raises(TimeoutError):
        chan.recv(timeout=0.05)
    a.sendall(b'1}\nnot json\n{"type":"y"}\n')
    assert chan.recv(timeout=1) == {"type": "x", "n": 1}
    assert chan.recv(timeout=1) == {"type": "y"}
    a.close()
    assert chan.recv(timeout=1) is None
    chan.close()


def test_an_unusable_runtime_folder_falls_back_to_a_worker_of_its_own(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("PYTORCH_TUTOR_RUNTIME_DIR", str(blocker))

    class OwnEngine(FakeEngine):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__()
            self.kwargs = kwargs

        def _submit(self, request: RunRequest, on_event: Any = None) -> RunResult:
            return self.submit(request, on_event or (lambda e: None))

    monkeypatch.setattr(client, "Engine", OwnEngine)
    notices: list[str] = []
    engine = client.RemoteEngine(on_notice=notices.append)
    try:
        assert engine.submit(request(tmp_path)).status == "pass"
        assert engine.submit(request(tmp_path)).status == "pass"
    finally:
        engine.close()
    assert len(notices) == 1 and "not a folder" in notices[0] and "running without it" in notices[0]
    assert isinstance(engine.fallback, OwnEngine) and len(engine.fallback.files) == 2


def test_each_interpreter_and_device_has_its_own_worker() -> None:
    here = sandbox_parent()
    keys = {worker_key(sys.executable, "cpu", here), worker_key(sys.executable, "cuda", here),
            worker_key("/usr/bin/python3", "cpu", here), worker_key(sys.executable, "cpu", "/elsewhere")}
    assert len(keys) == 4
    assert worker_key(sys.executable, "cpu", here) == worker_key(sys.executable, "cpu", here)


class LingeringEngine(FakeEngine):
    """Sends its final event, then takes a while to return (as the real engine does while it
    cleans up): the client's next request arrives while the run is still being watched."""

    def submit(self, request: RunRequest, on_event: Any = None) -> RunResult:
        result = super().submit(request, on_event)
        time.sleep(0.5)
        return result


def test_a_request_sent_right_after_a_final_event_is_not_lost(runtime: Path, tmp_path: Path) -> None:
    # Issue 13: in one `watch` process, the check after a pass never answered: the daemon's
    # reader for cancel lines swallowed the next request sent on the same connection.
    daemon, thread = start_daemon(runtime, LingeringEngine())
    engine = client.RemoteEngine()
    results: list[str] = []

    def two_in_a_row() -> None:
        results.append(engine.submit(request(tmp_path, "first.py")).status)
        results.append(engine.submit(request(tmp_path, "second.py")).status)

    try:
        runner = threading.Thread(target=two_in_a_row, daemon=True)
        runner.start()
        runner.join(15)
        assert results == ["pass", "pass"], "the second request on the connection got no answer"
        assert [Path(f).name for f in daemon.engine.files] == ["first.py", "second.py"]  # type: ignore[attr-defined]
    finally:
        engine.close()
        daemon.stop()
        thread.join(5)
