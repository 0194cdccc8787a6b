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

from sandbox.judging import checks as checks_mod
from sandbox.judging import codec
from sandbox.learner import events
from sandbox.runtime import plainpy
from sandbox.judging import cases as trusted_cases
from sandbox.judging import budget, helpers, integrity, loading, source_rules, verdict  # noqa: F401 - all
from sandbox.learner import assets  # noqa: F401 - recorded by integrity.baseline() below

SANDBOX_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the whole sandbox package


def run_threads(kind: str = "run", cores: int | None = None) -> int:
    """How many intra-op threads the learner's process gets (the zygote used 1).

    A ``run`` has the machine to itself: the cores, at most 4. During a ``check`` the judge
    runs the reference solution beside the learner's code, so the learner gets half of them:
    on 2 cores, two OpenMP threads that spin at every barrier against the judge made small
    training loops 5-50x slower on a busy machine (16 lessons had set one thread in their
    checks by hand before this was the default)."""
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cores = os.cpu_count() or 1
    share = cores // 2 if kind == "check" else cores
    return max(1, min(4, share))


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


def _share_assets(job: dict[str, Any]) -> None:
    """The lesson's assets (name -> absolute path) for check code and for learner code."""
    from sandbox.judging import helpers
    from sandbox.learner import assets

    mapping = job.get("assets") or {}
    if isinstance(mapping, dict):
        helpers.ASSETS.clear()
        helpers.ASSETS.update({str(k): str(v) for k, v in mapping.items()})
        os.environ[assets.ENV] = json.dumps(helpers.ASSETS)


def run_learner(job: dict[str, Any]) -> None:
    """Run the learner's file (as ``__main__``, or imported for format v2 checks); for a
    check, probe it. Never returns."""
    started = time.monotonic()
    plainpy.restore_signals()  # the zygote ignores SIGINT; a script must not
    file = job["file"]
    # The run's seed is the judge's: format v2 cases are drawn from it. The learner's process
    # keeps only what it needs (a one-way function of it; v1 checks' own seeds) and the
    # shared job dict forgets it, so no frame or global holds it while learner code runs.
    specs: list[dict[str, Any]] = list(job.get("checks") or [])
    is_check = job.get("kind") == "check"
    version = checks_mod.format_version(specs) if is_check else 1
    run_seed = int(job.pop("seed", 0) or 0)
    v1_seeds = {i: checks_mod.check_seed(run_seed, i) for i, s in enumerate(specs)
                if s.get("kind") in ("function", "custom") and not checks_mod.judge_side(s)}
    own_seed = checks_mod.process_seed(run_seed, version)
    del run_seed
    try:
        with open(file, encoding="utf-8") as fh:
            source = fh.read()
    except OSError as exc:
        events.emit({"type": "exception", "summary": f"cannot read {file}: {exc.strerror}"})
        os._exit(1)

    import torch

    from sandbox.runtime import runenv

    runenv.sync_torch_with_env()
    torch.set_num_threads(run_threads("check" if is_check else "run"))
    seed_everything(own_seed, str(job.get("device") or "cpu"))
    import_mode = is_check and version >= 2
    _share_assets(job)
    module = loading.prepare(file, import_mode)
    # Everything the checks rely on, recorded (and the harness's own functions captured)
    # before the learner's code can touch them.
    record = integrity.baseline() if is_check else None
    probe_checks, save, wait_for_cases = checks_mod.probe_checks, codec.save, trusted_cases.wait_and_read
    verify = record.replaced if record is not None else None
    # As ``python file.py`` would: the file's folder first, never the tutor's own cwd
    # (checked against the cwd the worker started in, not the run directory we are in now).
    sys.path[:] = plainpy.script_sys_path(file, sys.path)
    exit_code = 0
    try:
        loading.execute(module, source, file)
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
        events.emit({"type": "exception", "summary": plainpy.summary_with(checks_mod.exc_text(exc), why),
                     "exc_type": type(exc).__name__})
        _end_like_python(job, started)
        os._exit(1)
    _flush()
    _end_like_python(job, started)
    if exit_code:
        os._exit(exit_code)

    if is_check:
        assert verify is not None
        setup = job.get("setup")
        replaced = verify()
        if replaced:
            data: dict[str, Any] = {"checks": {}, checks_mod.INTEGRITY_KEY: {
                "replaced": replaced, "when": "when your file had run"}}
        else:
            sent: dict[str, Any] = {}
            if any(checks_mod.judge_side(s) for s in specs):
                limits = job.get("limits") or {}
                payload = wait_for_cases(str(job.get("out_dir") or os.path.dirname(job["probe_path"])),
                                         float(limits.get("timeout_s", 10.0)))
                sent = payload.get("checks") or {} if isinstance(payload, dict) else {}
            ctx = checks_mod.ProbeContext(module.__dict__, (setup["code"], setup["file"], setup["line"]) if setup else None,
                                          device=str(job.get("device") or "cpu"), v1_seeds=v1_seeds, sent=sent,
                                          verify=verify, learner_file=file)
            try:
                data = probe_checks(specs, ctx)
            except BaseException as exc:  # noqa: BLE001 - never leave the harness from here
                events.emit({"type": "log", "level": "warning", "message": f"probing stopped: {checks_mod.exc_text(exc)}"})
                data = {"checks": {}}
        _flush()
        save(data, job["probe_path"])
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
    """Judge the probe data against the reference solution; emit one ``check`` event each.

    Format v2: first draw the cases and hand them to the learner's process (which waits for
    them after importing the file); then run the reference while the learner's code runs.
    """
    from sandbox.judging.compare import CheckFailed, CheckSkipped

    specs: list[dict[str, Any]] = job.get("checks", [])
    _share_assets(job)
    seed = int(job.get("seed", 0))
    learner_device = str(job.get("learner_device") or job.get("device") or "cpu")
    out_dir = str(job.get("out_dir") or os.path.dirname(str(job.get("probe_path") or "")) or ".")
    wants_cases = any(checks_mod.judge_side(s) for s in specs)

    def emit_all(status: str, message: str) -> None:
        for spec in specs:
            events.emit({"type": "check", "name": spec.get("name", "?"), "status": status, "message": message})

    def hand_over(payload: dict[str, Any]) -> None:
        if wants_cases:
            try:
                trusted_cases.write(out_dir, payload)
            except OSError as exc:
                events.emit({"type": "log", "level": "warning", "message": f"cannot hand the cases over: {exc}"})

    setup = job.get("setup")
    try:
        setup_ns = checks_mod.run_setup(setup["code"], setup["file"], setup["line"]) if setup else checks_mod.author_globals()
    except Exception:  # noqa: BLE001
        hand_over({"error": "setup failed"})
        emit_all("error", "the exercise's setup code failed (a lesson bug):\n" + traceback.format_exc(limit=-3))
        os._exit(0)

    plans: dict[int, Any] = {}
    plan_errors: dict[int, str] = {}
    if wants_cases:
        for index, spec in enumerate(specs):
            if checks_mod.judge_side(spec):
                try:
                    plans[index] = checks_mod.plan_cases(spec, index, setup_ns, seed, learner_device)
                except Exception:  # noqa: BLE001 - a lesson bug, reported on that check alone
                    plan_errors[index] = ("this check's cases code failed (a lesson bug):\n"
                                          + traceback.format_exc(limit=-3))
        hand_over({"checks": {str(i): plan.packed for i, plan in plans.items()}})

    reference_ns: dict[str, Any] = {}
    needs_reference = any(s.get("kind") in ("function", "variable", "custom") for s in specs)
    if needs_reference:
        seed_everything(checks_mod.process_seed(seed, checks_mod.format_version(specs)))
        ref_file = job.get("solution_file") or "<reference>"
        module = types.ModuleType("__reference__")
        module.__file__ = ref_file
        reference_ns = module.__dict__
        try:
            exec(compile(job.get("solution", ""), ref_file, "exec", dont_inherit=True), reference_ns)
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
        raw = codec.load(job["probe_path"]) if job.get("probe_path") and os.path.exists(job["probe_path"]) else {}
    except Exception as exc:  # noqa: BLE001 - a bad file from the learner side is a failure, not a crash
        raw = {}
        events.emit({"type": "log", "level": "warning", "message": f"probe data unreadable: {exc}"})
    data = raw.get("checks") if isinstance(raw, dict) and isinstance(raw.get("checks"), dict) else {}
    tampered = raw.get(checks_mod.INTEGRITY_KEY) if isinstance(raw, dict) else None
    # The source text travels in the job: a copy on disk could be rewritten by the learner.
    source = job.get("source")
    if source is None:
        try:
            with open(job["source_path"], encoding="utf-8") as fh:
                source = fh.read()
        except OSError:
            source = ""

    import torch

    ctx = checks_mod.JudgeContext(reference_ns, setup_ns, seed, source, stdout, plans, learner_device)
    for index, spec in enumerate(specs):
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)
        name = spec.get("name", f"check {index + 1}")
        if isinstance(tampered, dict) and tampered.get("replaced"):
            replaced = [str(r) for r in tampered.get("replaced") or []]
            events.emit({"type": "check", "name": name, "status": "fail",
                         "message": integrity.message(replaced, str(tampered.get("when") or "during the checks").capitalize())})
            continue
        if index in plan_errors:
            events.emit({"type": "check", "name": name, "status": "error", "message": plan_errors[index]})
            continue
        seconds = budget.seconds(spec)
        try:
            # The judge's share of a budgeted check (reference + comparison) gets the same
            # budget again, so a slow judge errors this check alone.
            with budget.limit(seconds):
                message = checks_mod.judge_check(spec, index, data.get(str(index)), ctx)
            status = verdict.of_check(None)
        except budget.OutOfBudget:
            status, message = "error", (f"judging this check took longer than its {seconds:g} s budget "
                                        f"(a lesson bug: the reference solution or the judge is too slow)")
        except (CheckFailed, CheckSkipped) as exc:
            status, message = verdict.of_check(exc), str(exc)
            if status == "fail" and spec.get("message"):
                message += "\n" + spec["message"]
        except Exception as exc:  # noqa: BLE001 - the check itself broke: a lesson bug, said as such
            status = verdict.of_check(exc)
            message = "this check crashed (a lesson bug):\n" + traceback.format_exc(limit=-4)
        events.emit({"type": "check", "name": name, "status": status, "message": message})
    _finish()


# Made at import: in the warm zygote, before it forks (see integrity.baseline).
integrity.baseline()


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
