"""The sandbox worker: a long-lived process that serves run and check requests.

``python -m sandbox.runtime.worker`` reads one JSON request per line on stdin and answers with
events (JSON lines) on stdout, ending each request with one ``final`` event. It is started
by the tutor with whichever interpreter should run learner code (``--python``).

Modes (``--mode``; docs/sandbox.md):

* ``warm`` (default on Linux): this process becomes the zygote (``sandbox.runtime.zygote``): torch
  imported once, a pre-forked spare per run, a PID namespace per run where the kernel allows.
* ``spare``: every run gets a single-use, exec'd, already-warm interpreter
  (``sandbox.runtime.spare``); the default on macOS, and what CUDA/MPS runs always use.
* ``cold``: each learner child and each judge is a fresh interpreter
  (``python -m sandbox.judging.harness``), so every run pays ``import torch``. Used by ``bench``
  for its cold figure, and as the fallback where fork is unsafe.

The request handling, supervision and classification are shared: modes only swap the
*launcher* (``supervise.Launcher``).
"""

from __future__ import annotations

import os
import select
import shutil
import sys
import tempfile
import time
import uuid
from typing import Any, Callable

from sandbox import protocol
from sandbox.isolation.environment import worker_environ
from sandbox.isolation.report import for_run, isolation_report
from sandbox.judging import verdict
from sandbox.runtime.cleanup import DeferredRemoval, remove_tree
from sandbox.runtime.cold import ColdLauncher
from sandbox.runtime import runenv, runplan
from sandbox.runtime.supervise import Emit, Ended, Launcher, Started, classify, launch, watch

def judge_limits(limits: protocol.Limits) -> protocol.Limits:
    """The judge runs the reference solution too: give it room, but never unbounded."""
    return protocol.Limits(timeout_s=max(30.0, 3 * limits.timeout_s), memory_mb=max(limits.memory_mb, 4096),
                           output_bytes=protocol.DEFAULT_OUTPUT_CAP)


def handle_request(req: protocol.RunRequest, launcher: Launcher, emit: Emit,
                   cancelled: Callable[[], bool] | None = None,
                   isolation: dict[str, Any] | None = None,
                   trash: DeferredRemoval | None = None) -> None:
    """Run one request to its final event. Its directories are removed before this returns,
    or, given ``trash``, queued there (the worker empties it when idle)."""
    started = time.monotonic()
    run_id = req.run_id
    # Short: the run's TMPDIR lives here, and multiprocessing's socket paths under it must
    # fit in 107 bytes (sandbox/runtime/runenv.py).
    private_dir = tempfile.mkdtemp(prefix="pytorch-tutor-", dir=runenv.short_tmp_base())
    workdir = req.workdir or os.path.join(private_dir, "work")
    # A directory this request creates is this request's to delete (the engine's per-run
    # directories included); one that already existed belongs to the caller.
    own_workdir = not os.path.isdir(workdir)
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
        # The learner's side may write only to its working directory and to out_dir (where
        # the probe data goes); the judge's inputs (source copy, job) live outside both.
        out_dir = os.path.join(private_dir, "out")
        os.makedirs(out_dir, exist_ok=True)
        base = {"kind": req.kind, "seed": req.seed, "workdir": workdir, "private_dir": private_dir,
                "limits": req.limits.to_dict(), "device": req.device, "setup": req.setup,
                "assets": req.assets}
        child_job = dict(base, role="child", file=os.path.abspath(req.file), checks=req.checks,
                         probe_path=os.path.join(out_dir, "probe.pt"), out_dir=out_dir)
        notes = runplan.before("child", req, child_job, private_dir)
        emit({"type": "started", "run_id": run_id})
        for note in notes:
            emit({"type": "log", "level": "note", "message": note})
        judge: Started | None = None
        if req.kind == "check":
            # Started now, so that its set-up and the reference solution run while the
            # learner's code does; it waits for a "go" before reading the learner's data.
            judge_job = dict(base, role="judge", checks=req.checks, solution=req.solution,
                             solution_file=f"<reference solution of {req.exercise or 'this exercise'}>",
                             probe_path=child_job["probe_path"], source_path=source_path,
                             source=_read_text(source_path), limits=judge_limits(req.limits).to_dict(),
                             device="cpu", learner_device=req.device)
            runplan.before("judge", req, judge_job, private_dir)
        prepared = time.monotonic()
        child = launch(launcher, "child", child_job)
        if req.kind == "check":
            try:
                judge = launch(launcher, "judge", judge_job, wait_for_go=True)
            except BaseException:
                child.abort()
                raise
        launched = time.monotonic()
        try:
            ended = watch(child, req.limits, emit, cancelled=cancelled)
        except BaseException:
            if judge is not None:
                judge.abort()
            raise
        for event in ended.internal:
            if event.get("type") == "log":
                level = str(event.get("level", "info"))
                level = "info" if level == "note" else level  # notes are the worker's own (#20): never forged
                emit({"type": "log", "level": level, "message": str(event.get("message", ""))[:2000]})
        outcome, detail = classify(ended, req.kind)
        for note in runplan.after(req, child_job):
            emit({"type": "log", "level": "note", "message": note})
        checks: list[protocol.CheckResult] = []
        error = ""
        judge_ms = 0.0
        if judge is not None:
            if outcome == "ok":
                judge.go({"type": "go", "go": True, "stdout": ended.stdout})
                judged = watch(judge, judge_limits(req.limits), None, forward_child_events=False, cancelled=cancelled)
                judge_ms = judged.duration_ms
                checks, error = verdict.collect(req.checks, judged.internal, judged.timed_out,
                                                judged.returncode, judged.stderr)
            else:
                judge.abort()
        for check in checks:
            emit({"type": "check", **check.to_dict()})
        status = verdict.of_run(outcome, checks, req.kind, error)  # the one place a verdict is decided
        final = {"type": "final", "status": status, "outcome": outcome, "detail": detail,
                 "truncated": ended.truncated, "dropped_bytes": ended.dropped_bytes,
                 "duration_ms": (time.monotonic() - started) * 1000, "child_ms": round(ended.duration_ms, 1),
                 "judge_ms": round(judge_ms, 1),
                 "isolation": for_run(isolation, _confinement(ended))}
        confined = ended.find("confined") or {}
        # Where the time went (bench reports it): set-up here, handing the job to spares,
        # entering the sandbox in the child, the child's whole run, judging.
        final["timing"] = {"prepare_ms": round((prepared - started) * 1000, 2),
                           "launch_ms": round((launched - prepared) * 1000, 2),
                           "confine_ms": round(float(confined.get("ms", 0.0) or 0.0), 2),
                           "child_ms": round(ended.duration_ms, 2), "judge_ms": round(judge_ms, 2)}
        if ended.dropped_events:
            final["dropped_events"] = dict(ended.dropped_events)
        if error:
            final["error"] = error
        emit(final)
    finally:
        # After the final event: nothing here may fail the request any more (see Replies).
        try:
            after = getattr(launcher, "after_request", None)
            if after is not None:
                after()
        finally:
            remove = trash.add if trash is not None else remove_tree
            if own_workdir and not workdir.startswith(private_dir + os.sep):
                remove(workdir)
            remove(private_dir)


def _confinement(ended: Ended) -> dict[str, Any] | None:
    """The learner process's own account of its confinement: its *first* "confined" event,
    sent before learner code ran (a later one could be forged by that code)."""
    event = ended.find("confined")
    layers = event.get("layers") if event else None
    return layers if isinstance(layers, dict) else None


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


class _Requests:
    """Reads request lines from stdin; notices cancel lines while a run is in progress."""

    #: How long a finished request's chores wait for the next request: a client that sends
    #: checks back to back (a watch loop, a script) answers within milliseconds; a learner
    #: pressing a key again takes longer than this.
    CHORE_GRACE_S = 0.1

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

    def next(self, idle: Callable[[], None] | None = None,
             chore: Callable[[], bool] | None = None) -> dict[str, Any] | None:
        """The next message; while none is waiting, do ``chore`` (one small piece of work
        per call, False once there is none left) between looks for a message, then call
        ``idle`` now and then."""
        if chore is not None and not self.pending and not self.eof:
            self._read(self.CHORE_GRACE_S)  # a request sent right after the last answer goes first
            while not self.pending and not self.eof and chore():
                self._read(0)
        while not self.pending and not self.eof:
            self._read(None if idle is None else 0.5)
            if idle is not None and not self.pending and not self.eof:
                try:
                    idle()
                except Exception:  # noqa: BLE001 - housekeeping must never stop the worker
                    pass
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


class Reply:
    """The events of one request: each carries the request's id, and at most one is final.

    Whatever goes wrong after the final event (cleanup, replacing spares) must never send a
    second one: the client would take it as the answer to its *next* request.
    """

    def __init__(self, emit: Emit, run_id: str) -> None:
        self._emit = emit
        self.run_id = run_id
        self.final_sent = False

    def __call__(self, event: dict[str, Any]) -> None:
        if self.final_sent:
            return
        event["run_id"] = self.run_id
        if event.get("type") == "final":
            self.final_sent = True
        self._emit(event)


def serve(launcher: Launcher, hello: dict[str, Any], isolation: dict[str, Any]) -> None:
    # The protocol owns the real stdout; anything else printed in this process goes to stderr.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    emit = make_emitter(out_fd)
    emit(hello)
    requests = _Requests(0)
    # The last runs' directories are removed between requests, one at a time, only while no
    # request waits: never between a check and the one pressed right after it.
    trash = DeferredRemoval()
    idle = getattr(launcher, "idle", None)
    while True:
        msg = requests.next(idle, chore=trash.remove_one)
        if msg is None:
            trash.empty()  # bounded (DeferredRemoval.limit); the engine waits for this exit
            return
        if msg.get("type") == "cancel":
            continue
        if msg.get("type") == "ping":
            trash.empty()  # "ready" also means the last runs' directories are gone
            settle = getattr(launcher, "settle", None)
            if settle is not None:
                try:
                    settle()  # "ready" means the spares are waiting
                except Exception:  # noqa: BLE001 - housekeeping must never stop the worker
                    pass
            emit({"type": "pong"})
            continue
        reply = Reply(emit, str(msg.get("run_id") or "") or uuid.uuid4().hex[:12])
        try:
            req = protocol.RunRequest.from_dict(msg)
        except (ValueError, KeyError, TypeError) as exc:
            reply({"type": "final", "status": "error", "outcome": "ok", "error": f"bad request: {exc}"})
            continue
        req.run_id = reply.run_id
        try:
            handle_request(req, launcher, reply, cancelled=requests.cancel_requested, isolation=isolation,
                           trash=trash)
        except Exception as exc:  # noqa: BLE001 - one broken request must not take the worker down
            reply({"type": "final", "status": "error", "outcome": "ok", "error": f"worker failure: {exc!r}"})
        if not reply.final_sent:  # a request always ends with exactly one final event
            reply({"type": "final", "status": "error", "outcome": "ok", "error": "the worker ended the run without a verdict"})


class Router:
    """Sends each process to the right launcher: CPU work (and every judge) to the CPU
    launcher, learner children for CUDA/MPS to a pool of exec'd single-use spares."""

    def __init__(self, cpu: Launcher, pools: Any = None) -> None:
        self.cpu = cpu
        self.pools = pools
        self.device_pools = pools.launcher if pools is not None else None
        self.mode = getattr(cpu, "mode", "?")

    def start(self, role: str, job: dict[str, Any], stdout_w: int, stderr_w: int, event_w: int,
              stdin_r: int | None = None) -> Any:
        device = str(job.get("device") or "cpu")
        if role == "child" and device != "cpu" and self.device_pools is not None:
            return self.device_pools(device).start(role, job, stdout_w, stderr_w, event_w, stdin_r)
        return self.cpu.start(role, job, stdout_w, stderr_w, event_w, stdin_r)

    def settle(self) -> None:
        settle = getattr(self.cpu, "settle", None)
        if settle is not None:
            settle()

    def idle(self) -> None:
        idle = getattr(self.cpu, "idle", None)
        if idle is not None:
            idle()

    def after_request(self) -> None:
        after = getattr(self.cpu, "after_request", None)
        if after is not None:
            after()
        if self.pools is not None and self.pools.pools.get("cpu") is not self.cpu:
            self.pools.after_request()


def parse_args(argv: list[str]) -> Any:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sandbox.runtime.worker")
    parser.add_argument("--mode", choices=("warm", "spare", "cold"), default=None,
                        help="warm (fork a zygote; default on Linux), spare (exec'd single-use spares; "
                             "default elsewhere), cold (a fresh interpreter per process)")
    parser.add_argument("--device", default="cpu", help="warm spares for this device too (cuda, cuda:N, mps)")
    parser.add_argument("--spares", type=int, default=4,
                        help="spares kept ready per device (default 4: two checks' worth, so a check pressed "
                             "right after another finds its two ready while the last two are replaced)")
    parser.add_argument("--fork-servers", type=int, default=2,
                        help="warm mode: processes that fork the spares in parallel (default 2; 0: the zygote forks them)")
    return parser.parse_args(argv)


def default_mode() -> str:
    import platform

    return "warm" if platform.system() == "Linux" and hasattr(os, "fork") else "spare"


def clean_start(argv: list[str]) -> None:
    """Re-exec this worker with an environment built from the allow-list, if it has anything
    else: a forked learner process can read the environment its process was *exec'd* with
    (``/proc/self/environ``), whatever ``os.environ`` says later. No-op when already clean."""
    wanted = worker_environ(os.environ)
    wanted.update(runenv.passing(os.environ))  # torch's debug variables reach runs (#20)
    if dict(os.environ) != wanted:
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, "-m", "sandbox.runtime.worker", *argv,
                                   *runenv.dropped_arg(os.environ)], wanted)


def main(argv: list[str] | None = None) -> None:
    import platform

    from sandbox.isolation.capabilities import probe_plan
    from sandbox.isolation.report import expected

    argv = list(argv or [])
    clean_start(argv)
    argv = runenv.take_dropped_arg(argv)  # names of the user's variables clean_start left out
    runenv.capture_user_environ()
    args = parse_args(argv)
    mode = args.mode or default_mode()
    extra: dict[str, Any] = {}
    warm_info: dict[str, Any] = {}
    pools: Any = None
    pid_namespace: tuple[bool, str] | None = None
    plan: dict[str, Any] = {}
    if mode == "warm":
        from sandbox.runtime import warm, zygote

        pidns = zygote.bootstrap_pid_namespace()  # before torch: needs a single thread
        warm_info = warm.warm_up()
        if warm_info["threads"] != 1:
            # A thread pool exists: forking now could deadlock the children (pytorch#17199).
            mode = "cold"
            extra["fork_safety"] = {"on": False, "why": f"the zygote has {warm_info['threads']} threads after "
                                    "importing torch; forking it is unsafe, so each run is a fresh interpreter"}
        else:
            from sandbox.runtime import hugepages

            warm_info["huge_pages"] = hugepages.collapse()  # before the fork servers: they share it
            plan = probe_plan()
            pid_namespace = (pidns.on, pidns.why)
            cpu: Launcher = zygote.ForkLauncher(pidns, plan, spares=max(1, args.spares),
                                                fork_servers=max(0, args.fork_servers))
    if not plan:
        plan = probe_plan()
    if mode == "spare":
        from sandbox.runtime import spare

        pools = spare.SparePools(spares=max(1, args.spares))
        cpu = pools.launcher("cpu")
    if mode == "cold":
        cpu = ColdLauncher()
    if pools is None and mode != "cold":
        from sandbox.runtime import spare

        pools = spare.SparePools(spares=max(1, args.spares))
    if pools is not None and args.device != "cpu":
        pools.launcher(args.device)  # start warming the device's spares now
    router = Router(cpu, pools)
    router.mode = mode
    isolation = expected(plan, mode, pid_namespace, extra)
    hello = {"type": "hello", "protocol": protocol.PROTOCOL_VERSION, "pid": os.getpid(), "mode": mode,
             "python": platform.python_version(), "executable": sys.executable, "isolation": isolation,
             "warm": warm_info}
    serve(router, hello, isolation)


if __name__ == "__main__":
    main(sys.argv[1:])
