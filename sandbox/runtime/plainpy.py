"""Make a forked run behave like ``python FILE``: signals, ``sys.path``, shutdown, errors.

A child of the zygote inherits the zygote's state, not a fresh interpreter's. This module
puts back what plain Python would have, and explains in one line the failures that come
from the sandbox's limits rather than from the learner's code:

* SIGINT: the zygote ignores it; a script gets Python's ``default_int_handler`` again, so
  ``except KeyboardInterrupt`` runs (the tutor sends SIGINT first when a run is cancelled).
* ``sys.path``: the script's folder first; the folder the tutor was started from is removed
  (recorded when this module is imported in the zygote, i.e. before any ``chdir``).
* Shutdown: as ``Py_FinalizeEx`` does, non-daemon threads are joined, then ``atexit`` hooks
  run (multiprocessing's hook joins non-daemon children), all before the run's time limit.
* ``PermissionError`` on a write outside the writable places and a file cut at the
  file-size cap (``RuntimeError: ... unexpected pos``, ``File too large``) get a line
  that names the limit and how to change it.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
import time
from typing import Any

#: The zygote's working directory: the folder the tutor was started from.
STARTUP_CWD = os.getcwd()
#: Seconds kept back from the time limit so the run can still say why it stopped.
SHUTDOWN_MARGIN_S = 0.5
MB = 1024 * 1024


def restore_signals() -> None:
    """Python's start-up dispositions: SIGINT raises KeyboardInterrupt, SIGPIPE and
    SIGXFSZ stay ignored (as Python sets them), the rest default."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
    except (OSError, ValueError, AttributeError):
        pass


def script_sys_path(file: str, path: list[str]) -> list[str]:
    """``sys.path`` as ``python FILE`` builds it: the script's folder, then the rest less
    the tutor's own working directory."""
    here = os.path.dirname(os.path.abspath(file))
    drop = {"", ".", STARTUP_CWD, os.getcwd()}
    return [here] + [p for p in path if p not in drop and p != here]


# --- shutdown ------------------------------------------------------------------------------


def shutdown(deadline: float) -> list[str]:
    """Join non-daemon threads, then run atexit hooks, until ``deadline`` (monotonic).

    Returns the names of the threads still running at the deadline (then the hooks are
    skipped: Python would still be waiting for the threads).
    """
    # threading's own exit hooks first, as threading._shutdown runs them: they stop
    # concurrent.futures pools (torch.compile's among them) so their workers end.
    hooks = list(getattr(threading, "_threading_atexits", []))
    if hooks:
        _run_until(lambda: [hook() for hook in reversed(hooks)], deadline, "threading-atexit")
    main = threading.main_thread()
    for thread in list(threading.enumerate()):
        if thread is main or thread.daemon or not thread.is_alive():
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]
    if stuck:
        return stuck
    _run_atexit_until(deadline)
    return []


def _run_atexit_until(deadline: float) -> None:
    import atexit

    # atexit prints "Exception ignored in atexit callback" itself.
    if not _run_until(atexit._run_exitfuncs, deadline, "atexit"):
        sys.stderr.write("[sandbox] an atexit hook was still running when the time limit came\n")


def _run_until(func: Any, deadline: float, name: str) -> bool:
    """Run ``func`` in a daemon thread, so a hook that hangs (a child that never ends)
    cannot take the run past its deadline unexplained; False if it had not finished."""
    done = threading.Event()

    def run() -> None:
        try:
            func()
        except Exception:  # noqa: BLE001 - a failing hook must not stop the others' report
            import traceback

            traceback.print_exc()
        finally:
            done.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    return done.wait(max(0.0, deadline - time.monotonic()))


def stuck_note(names: list[str], timeout_s: float) -> str:
    shown = ", ".join(repr(n) for n in names[:4])
    return (f"[sandbox] the script's last line ran, but thread {shown} was still running at the "
            f"{timeout_s:g} s time limit (Python waits for non-daemon threads before exiting; "
            "use daemon=True or join them)\n")


def deadline_for(limits: dict[str, Any], started: float) -> float:
    timeout = float(limits.get("timeout_s") or 10.0)
    return started + max(0.1, timeout - SHUTDOWN_MARGIN_S)


# --- explaining the sandbox's own limits -------------------------------------------------------


def _under(path: str, roots: list[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in (os.path.realpath(x) for x in roots))


def writable_places(job: dict[str, Any]) -> list[str]:
    runtime = job.get("runtime") or {}
    places = [job.get("workdir") or os.getcwd()]
    places += [p for p in runtime.get("writable", []) if p]
    return places


def files_at_cap(roots: list[str], cap_bytes: int, limit: int = 200) -> list[str]:
    """Files whose size reached the file-size cap exactly (the kernel stops writes there)."""
    hits = []
    seen = 0
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in files:
                seen += 1
                if seen > limit:
                    return hits
                path = os.path.join(folder, name)
                try:
                    if os.path.getsize(path) >= cap_bytes:
                        hits.append(path)
                except OSError:
                    continue
    return hits


#: Messages that only confuse once the real cause is known (torch's zip writer cut short).
MISLEADING = ("unexpected pos",)


def summary_with(summary: str, why: str) -> str:
    """The exception's one-line summary with the sandbox's explanation; the explanation alone
    where the original only misleads."""
    if not why:
        return summary
    if any(marker in summary for marker in MISLEADING):
        return why
    return f"{summary} — {why}"


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


#: What a download looks like from inside a run's network namespace (loopback only).
_NO_ROUTE = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL)
_NETWORK_ERRORS = frozenset({"URLError", "gaierror", "ConnectionError", "NewConnectionError", "MaxRetryError",
                             "ConnectError", "HTTPError"})


def _no_network(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a connection that could not leave the machine."""
    import socket

    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, socket.gaierror) or getattr(item, "errno", None) in _NO_ROUTE:
            return True
        if type(item).__name__ in _NETWORK_ERRORS and any(
                word in str(item) for word in ("Name or service not known", "Temporary failure in name resolution",
                                               "Network is unreachable", "No address associated")):
            return True
        stack += [item.__cause__, item.__context__, getattr(item, "reason", None)]
    return False


def explain(exc: BaseException, job: dict[str, Any]) -> str:
    """A line for a failure the sandbox caused, or "" when the learner's code did."""
    limits = job.get("limits") or {}
    if not limits.get("network") and _no_network(exc):
        return ("the sandbox has no network (each run has a private network namespace, loopback only), so "
                "nothing can be downloaded: no datasets, no pretrained weights, no `pip install`. A lesson ships "
                "the files it needs (`from sandbox import assets`); with torchvision, keep `weights=None` "
                "unless the lesson gives you weights to load")
    cap_mb = int(limits.get("file_size_mb") or 64)
    places = writable_places(job)
    err = getattr(exc, "errno", None)
    text = str(exc)
    if err == errno.EFBIG or "File too large" in text or "unexpected pos" in text or "File size limit" in text:
        if err == errno.EFBIG or files_at_cap(places, cap_mb * MB):
            return (f"file too large: the sandbox caps files at {cap_mb} MB "
                    "(`limits.file_size_mb`, `run --file-size-mb`)")
    if isinstance(exc, PermissionError) or err in (errno.EACCES, errno.EPERM, errno.EROFS):
        target = getattr(exc, "filename", None)
        if target and not _under(os.path.abspath(str(target)), places):
            where = os.path.abspath(str(target))
            beside = os.path.islink(str(target)) if not os.path.isabs(str(target)) else False
            if beside:
                return (f"{target} is the file beside your script, which a run may read but not change: "
                        "write to a new name (it is kept with the run's outputs)")
            scratch = [d for d in job.get("scratch") or () if d]
            if scratch:
                line = (f"the sandbox lets a run write only in its working directory (what it writes there is kept), "
                        f"in TMPDIR (tempfile's folder), in its cache folder and in its private {_listed(scratch)} "
                        f"(emptied after the run); {where} is outside them")
            else:
                line = (f"the sandbox lets a run write only in its working directory (what it writes there is kept), "
                        f"in TMPDIR (tempfile's folder) and in its cache folder; {where} is outside them")
            if where.startswith(("/tmp/", "/var/tmp/")):
                line += (" (a folder of yours that the run sees beneath /tmp is not writable: use a relative path)"
                         if "/tmp" in scratch else
                         " (/tmp is not writable in the sandbox: use tempfile, or a relative path)")
            return line
    return ""
