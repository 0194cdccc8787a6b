"""What runs inside a sandboxed process: the learner child and the judge.

Both are plain functions taking a job dict, so that the cold runner (a fresh interpreter per
process, ``python -m sandbox.judging.harness child JOB``) and the warm engine (a fork of the zygote)
share one code path. Both end with ``os._exit`` — a normal interpreter teardown with torch
loaded costs hundreds of milliseconds and runs learner ``atexit`` hooks.

Internal events (``exception``, ``probe``, ``done``) go on the event descriptor alongside
the learner's own; the supervisor consumes them and never forwards them to the client.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import traceback
import types
from typing import Any

from sandbox.learner import events
from sandbox.runtime import plainpy

SANDBOX_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the whole sandbox package


def run_threads() -> int:
    """How many intra-op threads a run gets: the cores, at most 4 (the zygote used 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def seed_everything(seed: int, device: str = "cpu") -> None:
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:  # pragma: no cover
        pass
    import torch

    if device == "cpu":
        # torch.manual_seed would also queue a lazy CUDA seeding, capturing a Python stack
        # (~10 ms); on CPU the default generator is the one that matters.
        torch.default_generator.manual_seed(seed)
    else:
        torch.manual_seed(seed)


def _learner_traceback(exc: BaseException, file: str) -> str:
    """The traceback a learner needs: their frames and the library's, not the tutor's."""
    frames = traceback.extract_tb(exc.__traceback__)
    kept = [f for f in frames if not os.path.abspath(f.filename).startswith(SANDBOX_DIR + os.sep)]
    lines = ["Traceback (most recent call last):\n"] + traceback.format_list(kept)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass


def _finish() -> None:
    """Say "done", close every descriptor the supervisor reads, and exit 0.

    Closing first lets the supervisor finish without waiting for the kernel to tear down
    this process's address space (see ``supervise.supervise``). Never returns.
    """
    _flush()
    events.emit({"type": "done"})
    for fd in (1, 2, events.event_fd()):
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
    os._exit(0)


def _end_like_python(job: dict[str, Any], started: float) -> None:
    """For ``run``: join threads and run atexit hooks as Python's exit does (sandbox/plainpy.py)."""
    if job.get("kind") != "run":
        return
    stuck = plainpy.shutdown(plainpy.deadline_for(job.get("limits") or {}, started))
    if stuck:
        sys.stderr.write(plainpy.stuck_note(stuck, float((job.get("limits") or {}).get("timeout_s") or 10)))
    _flush()


def run_learner(job: dict[str, Any]) -> None:
    """Run the learner's file as ``__main__``; for a check, probe it. Never returns."""
    started = time.monotonic()
    plainpy.restore_signals()  # the zygote ignores SIGINT; a script must not
    file = job["file"]
    try:
        with open(file, encoding="utf-8") as fh:
            source = fh.read()
    except OSError as exc:
        events.emit({"type": "exception", "summary": f"cannot read {file}: {exc.strerror}"})
        os._exit(1)

    import torch

    from sandbox.runtime import runenv

    runenv.sync_torch_with_env()
    torch.set_num_threads(run_threads())
    seed_everything(int(job.get("seed", 0)), str(job.get("device") or "cpu"))
    module = types.ModuleType("__main__")
    module.__file__ = file
    module.__builtins__ = __builtins__
    sys.modules["__main__"] = module
    sys.argv = [file]
    # As ``python file.py`` would: the file's folder first, never the tutor's own cwd.
    sys.path[:] = plainpy.script_sys_path(file, sys.path)
    exit_code = 0
    try:
        code = compile(source, file, "exec")
        exec(code, module.__dict__)
    except SystemExit as exc:
        # sys.exit() / sys.exit(0) is a normal end; anything else is an exit with a code.
        if exc.code not in (None, 0):
            exit_code = exc.code if isinstance(exc.code, int) else 1
            if not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
    except BaseException as exc:  # noqa: BLE001 - every learner failure is reported, not raised
        text = _learner_traceback(exc, file)
        why = plainpy.explain(exc, job)  # a limit of the sandbox's, said in one line
        if why:
            text += f"[sandbox] {why}\n"
        try:
            sys.stderr.write(text)
        except (OSError, ValueError):
            pass
        _flush()
        summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:]
        events.emit({"type": "exception", "summary": plainpy.summary_with(summary, why), "exc_type": type(exc).__name__})
        _end_like_python(job, started)
        os._exit(1)
    _flush()
    _end_like_python(job, started)
    if exit_code:
        os._exit(exit_code)

    if job.get("kind") == "check":
        from sandbox.judging import checks, codec

        setup = job.get("setup")
        data = checks.probe_all(job.get("checks", []), module.__dict__, int(job.get("seed", 0)),
                                (setup["code"], setup["file"], setup["line"]) if setup else None)
        _flush()
        codec.save(data, job["probe_path"])
        events.emit({"type": "probe", "path": job["probe_path"]})
    _finish()


def _read_go() -> dict[str, Any] | None:
    """One JSON line on stdin from the supervisor: ``{"go": true, "stdout": ...}``."""
    buf = bytearray()
    while not buf.endswith(b"\n"):
        try:
            chunk = os.read(0, 1 << 16)
        except OSError:
            return None
        if not chunk:
            break
        buf.extend(chunk)
    try:
        message = json.loads(bytes(buf))
    except ValueError:
        return None
    return message if isinstance(message, dict) and message.get("go") is True else None


def run_judge(job: dict[str, Any]) -> None:
    """Judge the probe data against the reference solution; emit one ``check`` event each."""
    from sandbox.judging import checks, codec
    from sandbox.judging.compare import CheckFailed

    specs: list[dict[str, Any]] = job.get("checks", [])

    def emit_all(status: str, message: str) -> None:
        for spec in specs:
            events.emit({"type": "check", "name": spec.get("name", "?"), "status": status, "message": message})

    setup = job.get("setup")
    try:
        setup_ns = checks.run_setup(setup["code"], setup["file"], setup["line"]) if setup else checks.author_globals()
    except Exception:  # noqa: BLE001
        emit_all("error", "the exercise's setup code failed (a lesson bug):\n" + traceback.format_exc(limit=-3))
        os._exit(0)

    reference_ns: dict[str, Any] = {}
    needs_reference = any(s.get("kind") in ("function", "variable", "custom") for s in specs)
    if needs_reference:
        seed_everything(int(job.get("seed", 0)))
        ref_file = job.get("solution_file") or "<reference>"
        module = types.ModuleType("__reference__")
        module.__file__ = ref_file
        reference_ns = module.__dict__
        try:
            exec(compile(job.get("solution", ""), ref_file, "exec"), reference_ns)
        except Exception:  # noqa: BLE001
            emit_all("error", "the reference solution failed (a lesson bug):\n" + traceback.format_exc(limit=-3))
            os._exit(0)

    # Everything above ran while the learner's code was still running (the judge is started
    # early); from here on we need what it produced: wait for the supervisor's go.
    stdout = str(job.get("stdout", ""))
    if job.get("wait_for_go"):
        go = _read_go()
        if go is None:
            os._exit(0)  # the learner's run failed: nothing to judge
        stdout = str(go.get("stdout", ""))
    try:
        data = codec.load(job["probe_path"]) if job.get("probe_path") and os.path.exists(job["probe_path"]) else {}
    except Exception as exc:  # noqa: BLE001 - a bad file from the learner side is a failure, not a crash
        data = {}
        events.emit({"type": "log", "level": "warning", "message": f"probe data unreadable: {exc}"})
    # The source text travels in the job: a copy on disk could be rewritten by the learner.
    source = job.get("source")
    if source is None:
        try:
            with open(job["source_path"], encoding="utf-8") as fh:
                source = fh.read()
        except OSError:
            source = ""

    import torch

    for index, spec in enumerate(specs):
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)
        name = spec.get("name", f"check {index + 1}")
        try:
            message = checks.judge_one(spec, index, data.get(str(index)) if isinstance(data, dict) else None,
                                       reference_ns, setup_ns, int(job.get("seed", 0)), source, stdout)
            events.emit({"type": "check", "name": name, "status": "pass", "message": message})
        except CheckFailed as exc:
            message = str(exc)
            if spec.get("message"):
                message += "\n" + spec["message"]
            events.emit({"type": "check", "name": name, "status": "fail", "message": message})
        except Exception:  # noqa: BLE001 - the check itself broke: a lesson bug, said as such
            events.emit({"type": "check", "name": name, "status": "error",
                         "message": "this check crashed (a lesson bug):\n" + traceback.format_exc(limit=-4)})
    _finish()


def main(argv: list[str]) -> None:
    """``python -m sandbox.judging.harness child|judge JOB.json`` — the cold path."""
    role, job_path = argv[0], argv[1]
    with open(job_path, encoding="utf-8") as fh:
        job = json.load(fh)
    try:
        os.unlink(job_path)  # read once; nothing later in this run can swap it
    except OSError:
        pass
    if role == "child":
        run_learner(job)
    elif role == "judge":
        run_judge(job)
    else:  # pragma: no cover
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
