"""The sandbox client: the tutor's one door to code execution.

``Engine`` starts the worker (``python -m sandbox.runtime.worker``) under the chosen interpreter,
sends it requests and folds the event stream into a :class:`RunResult`. Everything that
runs learner code — ``check``, ``run``, ``lint``, the TUI — goes through here, so swapping
the worker's internals (cold runner, warm zygote) touches nothing on this side.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from sandbox import protocol
from sandbox.protocol import Limits, RunRequest, RunResult
from tutor.worker_path import log_tail, open_log, sandbox_parent, worker_environment

__all__ = ["Engine", "EngineError", "limits_for", "sandbox_parent"]

EventCallback = Callable[[dict[str, Any]], None]

#: How long the worker may take to say hello (a cold interpreter; a warm one imports torch).
START_TIMEOUT_S = 120.0
#: Seconds a closing worker gets to exit by itself before it is killed.
EXIT_GRACE_S = 3.0


class EngineError(RuntimeError):
    pass


class Engine:
    """One sandbox worker process and the requests sent to it, one at a time."""

    def __init__(self, python: str | None = None, device: str = "cpu", runs_dir: Path | None = None,
                 on_state: Callable[[str], None] | None = None, worker_args: list[str] | None = None,
                 recorder: Any = None, data_dir: Path | None = None, code_dir: Path | None = None) -> None:
        self.python = python or sys.executable
        #: Where the worker's private copy of the sandbox and its log live (default: the
        #: user data directory, ``tutor.paths``).
        self.data_dir = data_dir
        #: Where the private copy goes instead, when given (``tutor.worker_path``).
        self.code_dir = code_dir
        self.device = device
        self.runs_dir = runs_dir
        self.on_state = on_state
        self.worker_args = list(worker_args or [])
        # Spares for a GPU device warm up with the worker (the zygote itself never touches one).
        if device.startswith(("cuda", "mps")) and "--device" not in self.worker_args:
            self.worker_args += ["--device", device]
        #: A ``tutor.record.SessionRecorder`` (or None): every submit is recorded through it.
        self.recorder = recorder
        self.hello: dict[str, Any] = {}
        self.state = "stopped"
        self._proc: subprocess.Popen[bytes] | None = None
        self._buf = b""
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()

    # --- lifecycle --------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        self.state = state
        if self.on_state:
            try:
                self.on_state(state)
            except Exception:  # noqa: BLE001 - a UI callback must not break execution
                pass

    def start(self) -> None:
        """Start the worker and wait for its hello (idempotent)."""
        with self._start_lock:
            if self._proc is not None and self._proc.poll() is None and self.hello:
                return
            self._spawn()

    def start_in_background(self) -> None:
        threading.Thread(target=self._start_quietly, name="sandbox-warmup", daemon=True).start()

    def _start_quietly(self) -> None:
        try:
            self.start()
        except EngineError:
            pass

    def _spawn(self) -> None:
        self._kill()
        env = worker_environment(os.environ, self.data_dir, self.code_dir)
        # The worker's stderr goes to a log in the data directory: when it fails to start,
        # the log's tail says why.
        log_fd, log_file = open_log(self.data_dir)
        log_start = os.lseek(log_fd, 0, os.SEEK_END) if log_fd is not None else 0
        self._set_state("warming")
        try:
            self._proc = subprocess.Popen(
                [self.python, "-m", "sandbox.runtime.worker", *self.worker_args],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log_fd if log_fd is not None else subprocess.DEVNULL,
                env=env, start_new_session=True,
            )
        except OSError as exc:
            self._set_state("dead")
            raise EngineError(f"cannot start the sandbox worker with {self.python}: {exc.strerror}") from None
        finally:
            if log_fd is not None:
                os.close(log_fd)
        self._buf = b""
        hello = self._read_event(time.monotonic() + START_TIMEOUT_S)
        if hello is None or hello.get("type") != "hello":
            self._kill()
            self._set_state("dead")
            tail = log_tail(log_file, log_start)
            why = f":\n{tail}\n(full log: {log_file})" if tail else f"; it wrote nothing to {log_file}"
            raise EngineError(f"the sandbox worker ({self.python}) did not start{why}")
        if hello.get("protocol") != protocol.PROTOCOL_VERSION:
            self._kill()
            self._set_state("dead")
            raise EngineError(f"the sandbox worker speaks protocol {hello.get('protocol')}, "
                              f"this tutor speaks {protocol.PROTOCOL_VERSION}")
        self.hello = hello
        self._set_state("ready")

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        self.hello = {}
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
        except OSError:
            pass
        try:
            # Long enough for the worker to remove its last runs' folders (a few, queued while
            # checks came back to back: sandbox/runtime/cleanup.py) before it is killed.
            proc.wait(timeout=EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()

    def is_alive(self) -> bool:
        """Whether the worker process is running (it may still be warming up)."""
        proc = self._proc
        return proc is not None and proc.poll() is None

    def close(self) -> None:
        self._kill()
        self._set_state("stopped")

    @property
    def isolation(self) -> dict[str, Any]:
        return dict(self.hello.get("isolation") or {})

    # --- requests ---------------------------------------------------------------------------

    def _read_event(self, deadline: float) -> dict[str, Any] | None:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return None
        fd = proc.stdout.fileno()
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line, self._buf = self._buf[:nl], self._buf[nl + 1:]
                event = protocol.decode(line)
                if event is not None:
                    return event
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
            if not ready:
                continue
            data = os.read(fd, 1 << 16)
            if not data:
                return None
            self._buf += data

    def submit(self, request: RunRequest, on_event: EventCallback | None = None) -> RunResult:
        """Run ``request`` to its end; ``on_event`` sees every event as it arrives.

        With a recorder, the request, its events and its result are recorded whatever
        happens (a recording failure never fails the run: see ``tutor/record.py``).
        """
        if self.recorder is None:
            return self._submit(request, on_event)
        recording = self.recorder.begin(request)

        def tap(event: dict[str, Any]) -> None:
            recording.add(event)
            if on_event is not None:
                on_event(event)

        result = RunResult(error="the run was interrupted")
        try:
            result = self._submit(request, tap)
        finally:
            recording.finish(result, self.hello)
        return result

    def _submit(self, request: RunRequest, on_event: EventCallback | None = None) -> RunResult:
        with self._lock:
            result = RunResult()
            try:
                self.start()
            except EngineError as exc:
                result.error = str(exc)
                result.status = "error"
                return result
            if not request.run_id:
                request.run_id = uuid.uuid4().hex[:12]
            if not request.workdir and self.runs_dir is not None:
                workdir = self.runs_dir / request.run_id
                request.workdir = str(workdir)
            self._set_state("running")
            proc = self._proc
            assert proc is not None and proc.stdin is not None
            try:
                proc.stdin.write(protocol.encode(request.to_dict()))
                proc.stdin.flush()
            except OSError:
                self._kill()
                self._set_state("dead")
                result.error = "the sandbox worker stopped unexpectedly"
                return result
            # The worker enforces the real limits; this is only a guard against a stuck worker.
            deadline = time.monotonic() + 4 * request.limits.timeout_s + 120
            answered = False
            try:
                while True:
                    event = self._read_event(deadline)
                    if event is None:
                        self._kill()
                        self._set_state("dead")
                        result.status = "error"
                        result.error = result.error or "the sandbox worker stopped unexpectedly"
                        # A dead zygote is restarted at once, so the next run finds it warm.
                        self.start_in_background()
                        return result
                    if event.get("run_id") != request.run_id:
                        # Not this request's: a late event of an earlier one, or anything
                        # else that is not part of this answer. Only our own final ends it.
                        continue
                    result.apply(event)
                    if on_event is not None:
                        try:
                            on_event(event)
                        except Exception:  # noqa: BLE001
                            pass
                    if event.get("type") == "final":
                        answered = True
                        return result
            finally:
                # A worker that answered removes the run directory it created itself, when it
                # is idle (sandbox/runtime/cleanup.py DeferredRemoval): removing it here would
                # put tens of milliseconds of disk work between this check and the next.
                if request.workdir and self.runs_dir is not None and not answered:
                    _remove_tree(Path(request.workdir))
                if self.state == "running":
                    self._set_state("ready")

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Start the worker if needed, then wait until it has finished its housekeeping
        after the last run (spares replaced): a ping answered with a pong."""
        with self._lock:
            try:
                self.start()
            except EngineError:
                return False
            proc = self._proc
            if proc is None or proc.stdin is None:
                return False
            try:
                proc.stdin.write(protocol.encode({"type": "ping"}))
                proc.stdin.flush()
            except OSError:
                return False
            deadline = time.monotonic() + timeout
            while True:
                event = self._read_event(deadline)
                if event is None:
                    return False
                if event.get("type") == "pong":
                    return True

    def cancel(self) -> None:
        """Ask the worker to stop the run in progress (safe from any thread)."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            return
        try:
            proc.stdin.write(protocol.encode({"type": "cancel"}))
            proc.stdin.flush()
        except (OSError, ValueError):
            pass


def _remove_tree(path: Path) -> None:
    """Best effort: the worker removes the run directories it creates (deep trees included);
    this only catches what is left, and must never fail a run (``RecursionError`` on a deep
    tree is not an ``OSError``)."""
    import shutil

    try:
        shutil.rmtree(path, ignore_errors=True)
    except RecursionError:
        pass


def limits_for(time_budget: float, overrides: dict[str, Any] | None = None, timeout: float | None = None) -> Limits:
    data = dict(overrides or {})
    data["timeout_s"] = float(timeout if timeout is not None else time_budget)
    return Limits.from_dict(data)
