"""The sandbox worker: a long-lived process that serves run and check requests.

``python -m sandbox.worker`` reads one JSON request per line on stdin and answers with
events (JSON lines) on stdout, ending each request with one ``final`` event. It is started
by the tutor with whichever interpreter should run learner code (``--python``).

This is the cold runner: each learner child and each judge is a fresh interpreter
(``python -m sandbox.harness``), so every run pays ``import torch``. The request handling,
supervision and classification are shared with the warm engine, which only swaps the
launcher for forks of a warm zygote.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any, Callable

from sandbox import protocol
from sandbox.events import EVENT_FD_ENV
from sandbox.limits import apply_rlimits, isolation_report
from sandbox.supervise import Emit, Ended, Launcher, classify, supervise

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Environment variables that reach learner code; everything else is scrubbed.
ENV_ALLOW = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TZ", "USER", "LOGNAME",
             "CUDA_VISIBLE_DEVICES", "CUDA_HOME", "LD_LIBRARY_PATH", "PYTORCH_ENABLE_MPS_FALLBACK",
             "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT")


def scrubbed_env(workdir: str, event_fd: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ENV_ALLOW}
    env.update(
        PYTHONPATH=PACKAGE_PARENT,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONHASHSEED="0",
        TMPDIR=workdir,
        MPLBACKEND="Agg",
        # Single-threaded BLAS at start-up; torch.set_num_threads decides for the run.
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        KINETO_LOG_LEVEL="5",
        TORCH_CPP_LOG_LEVEL="ERROR",
    )
    env[EVENT_FD_ENV] = str(event_fd)
    return env


class _PopenHandle:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.pid = proc.pid

    def poll(self) -> int | None:
        return self.proc.poll()

    def kill_group(self) -> None:
        try:
            os.killpg(self.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass


class ColdLauncher:
    """Starts each sandboxed process as a fresh interpreter."""

    mode = "cold"

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable

    def start(self, role: str, job: dict[str, Any], stdout_w: int, stderr_w: int, event_w: int) -> _PopenHandle:
        job_path = os.path.join(job["private_dir"], f"{role}.json")
        with open(job_path, "w", encoding="utf-8") as fh:
            json.dump(job, fh)
        limits = protocol.Limits.from_dict(job.get("limits"))

        def preexec() -> None:
            # A fresh interpreter's data size grows by ~1 GiB importing torch; the data
            # limit is applied by the warm engine, where the zygote's size is known.
            apply_rlimits(limits, data_limit=False)

        proc = subprocess.Popen(
            [self.python, "-m", "sandbox.harness", role, job_path],
            stdin=subprocess.DEVNULL, stdout=stdout_w, stderr=stderr_w, pass_fds=(event_w,),
            cwd=job["workdir"], env=scrubbed_env(job["workdir"], event_w),
            start_new_session=True, preexec_fn=preexec,
        )
        return _PopenHandle(proc)


def judge_limits(limits: protocol.Limits) -> protocol.Limits:
    """The judge runs the reference solution too: give it room, but never unbounded."""
    return protocol.Limits(timeout_s=max(30.0, 3 * limits.timeout_s), memory_mb=max(limits.memory_mb, 4096),
                           output_bytes=protocol.DEFAULT_OUTPUT_CAP)


def handle_request(req: protocol.RunRequest, launcher: Launcher, emit: Emit,
                   cancelled: Callable[[], bool] | None = None,
                   isolation: dict[str, Any] | None = None) -> None:
    """Run one request to its final event."""
    started = time.monotonic()
    run_id = req.run_id or uuid.uuid4().hex[:12]
    private_dir = tempfile.mkdtemp(prefix="pytorch-tutor-")
    own_workdir = not req.workdir
    workdir = req.workdir or os.path.join(private_dir, "work")
    os.makedirs(workdir, exist_ok=True)
    source_path = os.path.join(private_dir, "source.py")
    isolation = isolation if isolation is not None else isolation_report()
    try:
        try:
            shutil.copyfile(req.file, source_path)
        except OSError as exc:
            emit({"type": "final", "status": "error", "outcome": "ok", "error": f"cannot read {req.file}: {exc.strerror}",
                  "duration_ms": 0.0, "isolation": isolation})
            return
        base = {"kind": req.kind, "seed": req.seed, "workdir": workdir, "private_dir": private_dir,
                "limits": req.limits.to_dict(), "device": req.device, "setup": req.setup}
        child_job = dict(base, role="child", file=os.path.abspath(req.file), checks=req.checks,
                         probe_path=os.path.join(private_dir, "probe.pt"))
        emit({"type": "started", "run_id": run_id})
        ended = supervise(launcher, "child", child_job, req.limits, emit, cancelled=cancelled)
        outcome, detail = classify(ended, req.kind)
        checks: list[protocol.CheckResult] = []
        error = ""
        if req.kind == "check" and outcome == "ok":
            judge_job = dict(base, role="judge", checks=req.checks, solution=req.solution,
                             solution_file=f"<reference solution of {req.exercise or 'this exercise'}>",
                             probe_path=child_job["probe_path"], source_path=source_path, stdout=ended.stdout,
                             limits=judge_limits(req.limits).to_dict())
            judged = supervise(launcher, "judge", judge_job, judge_limits(req.limits), None,
                               forward_child_events=False, cancelled=cancelled)
            checks, error = _collect_checks(req.checks, judged)
        for check in checks:
            emit({"type": "check", **check.to_dict()})
        status = protocol.verdict(outcome, checks, req.kind)
        if error and status == "pass":
            status = "error"
        final = {"type": "final", "status": status, "outcome": outcome, "detail": detail,
                 "truncated": ended.truncated, "dropped_bytes": ended.dropped_bytes,
                 "duration_ms": (time.monotonic() - started) * 1000, "child_ms": round(ended.duration_ms, 1),
                 "isolation": isolation}
        if error:
            final["error"] = error
        emit(final)
    finally:
        shutil.rmtree(private_dir, ignore_errors=True)
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _collect_checks(specs: list[dict[str, Any]], judged: Ended) -> tuple[list[protocol.CheckResult], str]:
    results = [protocol.CheckResult(str(e.get("name", "")), str(e.get("status", "error")), str(e.get("message", "")))
               for e in judged.internal if e.get("type") == "check"]
    error = ""
    if len(results) < len(specs):
        if judged.timed_out:
            why = "the checker ran out of time (the reference solution or a check is too slow)"
        elif judged.returncode not in (0, None):
            why = f"the checker process ended abnormally (code {judged.returncode})"
        else:
            why = "the checker stopped early"
        tail = judged.stderr.strip()[-1500:]
        error = why + (f":\n{tail}" if tail else "")
        for spec in specs[len(results):]:
            results.append(protocol.CheckResult(str(spec.get("name", "?")), "error", why))
    return results, error


class _Requests:
    """Reads request lines from stdin; notices cancel lines while a run is in progress."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""
        self.pending: list[dict[str, Any]] = []
        self.eof = False

    def _read(self, timeout: float | None) -> None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return
        data = os.read(self.fd, 65536)
        if not data:
            self.eof = True
            return
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            msg = protocol.decode(line)
            if msg is not None:
                self.pending.append(msg)

    def next(self) -> dict[str, Any] | None:
        while not self.pending and not self.eof:
            self._read(None)
        return self.pending.pop(0) if self.pending else None

    def cancel_requested(self) -> bool:
        if not self.eof:
            self._read(0)
        for i, msg in enumerate(self.pending):
            if msg.get("type") == "cancel":
                del self.pending[i]
                return True
        return False


def make_emitter(fd: int) -> Emit:
    def emit(event: dict[str, Any]) -> None:
        data = protocol.encode(event)
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except BrokenPipeError:
                return
            view = view[n:]

    return emit


def serve(launcher: Launcher, hello: dict[str, Any], isolation: dict[str, Any]) -> None:
    # The protocol owns the real stdout; anything else printed in this process goes to stderr.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    emit = make_emitter(out_fd)
    emit(hello)
    requests = _Requests(0)
    while True:
        msg = requests.next()
        if msg is None:
            return
        if msg.get("type") == "cancel":
            continue
        if msg.get("type") == "ping":
            emit({"type": "pong"})
            continue
        try:
            req = protocol.RunRequest.from_dict(msg)
        except (ValueError, KeyError, TypeError) as exc:
            emit({"type": "final", "status": "error", "outcome": "ok", "error": f"bad request: {exc}"})
            continue
        try:
            handle_request(req, launcher, emit, cancelled=requests.cancel_requested, isolation=isolation)
        except Exception as exc:  # noqa: BLE001 - one broken request must not take the worker down
            emit({"type": "final", "status": "error", "outcome": "ok", "error": f"worker failure: {exc!r}"})


def main(argv: list[str] | None = None) -> None:
    import platform

    launcher = ColdLauncher()
    isolation = isolation_report({"memory_limit": {"on": False, "why": "cold runner: a fresh interpreter's size is unknown before torch loads; the warm engine enables it"}})
    hello = {"type": "hello", "protocol": protocol.PROTOCOL_VERSION, "pid": os.getpid(), "mode": launcher.mode,
             "python": platform.python_version(), "executable": sys.executable, "isolation": isolation}
    serve(launcher, hello, isolation)


if __name__ == "__main__":
    main(sys.argv[1:])
