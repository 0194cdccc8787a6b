"""How fast the TUI opens and how much memory it holds, for ``pytorch-tutor bench``.

``measure()`` launches the real program (``python -m tutor``) under a pseudo-terminal, in
a throw-away workspace, as a returning learner (so the first screen is the lesson screen
with its editor, the heavier of the two). The app, seeing ``PYTORCH_TUTOR_UI_BENCH``,
writes when its first screen was drawn and its peak memory, and exits. The sandbox worker
is not started in this mode: it is a separate process and not part of the TUI's figures.
"""

from __future__ import annotations

import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_ENV = "PYTORCH_TUTOR_UI_BENCH"
TIMEOUT_S = 30.0


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM) in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def report_from_app(app: Any, path: str) -> None:
    """Called in the app after its first paint: write the figures once the screen says so."""

    def poll() -> None:
        if app.first_paint is None:
            return
        timer.stop()
        report = {"painted_at": app.first_paint["at"], "cpu_ms": app.first_paint["cpu_ms"],
                  "rss_mb": peak_rss_mb(), "screen": type(app.screen).__name__,
                  "torch_imported": "torch" in sys.modules, "loaded": app.first_paint.get("loaded", [])}
        Path(path).write_text(json.dumps(report))
        app.exit(0)

    # Let the deferred work (highlighting, the output pane, the prose) happen first, so
    # the memory figure includes it.
    timer = app.set_interval(0.2, poll)


def prepare_home(tmp: Path, returning: bool = True) -> dict[str, str]:
    """A throw-away workspace and data dir; a returning learner has a last exercise."""
    data = tmp / "data"
    data.mkdir(parents=True, exist_ok=True)
    if returning:
        first = _first_exercise_ref()
        if first:
            (data / "progress.json").write_text(json.dumps({"version": 1, "last": first, "exercises": {
                first: {"state": "attempted", "attempts": 1, "passes": 0, "hints_shown": 0,
                        "solution_viewed": False}}}))
    return {"PYTORCH_TUTOR_WORKSPACE": str(tmp / "workspace"), "PYTORCH_TUTOR_DATA": str(data)}


def launch_once(home: dict[str, str], size: tuple[int, int] = (100, 30)) -> dict[str, Any]:
    """Start the TUI once under a pty; returns its start time (ms), peak RSS (MiB), first screen."""
    import fcntl
    import pty
    import struct
    import termios

    report = Path(home["PYTORCH_TUTOR_DATA"]) / "ui-bench-report.json"
    report.unlink(missing_ok=True)
    env = dict(os.environ, **home, TERM=os.environ.get("TERM") or "xterm-256color")
    env[BENCH_ENV] = str(report)
    env.pop("NO_COLOR", None)
    # As an installed program runs: bytecode cached (the untimed first launch writes the
    # .pyc files), so the figure is not the compile time of every module edited since.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    started = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "tutor"], stdin=slave, stdout=slave, stderr=slave,
                            env=env, start_new_session=True, close_fds=True)
    os.close(slave)
    output = b""
    try:
        deadline = time.monotonic() + TIMEOUT_S
        # Keep reading: a terminal nobody reads from eventually blocks the app's writes.
        while proc.poll() is None and time.monotonic() < deadline:
            readable, _, _ = select.select([master], [], [], 0.05)
            if readable:
                try:
                    output = (output + os.read(master, 65536))[-4096:]
                except OSError:
                    break
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=5)
    finally:
        os.close(master)
    if not report.exists():
        tail = output.decode(errors="replace")[-500:]
        raise RuntimeError(f"the TUI did not report its first screen (exit {proc.returncode}): {tail}")
    result = json.loads(report.read_text())
    return {"start_ms": (result["painted_at"] - started) * 1000, "rss_mb": result["rss_mb"],
            "screen": result["screen"], "torch_imported": result["torch_imported"], "cpu_ms": result["cpu_ms"],
            "loaded_before_first_paint": result.get("loaded", [])}


def _first_exercise_ref() -> str | None:
    from tutor.course.loader import load_course

    exercises = load_course([], include_builtin=True).exercises
    return exercises[0].ref if exercises else None


def measure(runs: int = 5) -> dict[str, float]:
    """``{"tui_start_ms": median start to first screen, "tui_rss_mb": peak RSS}`` over ``runs``
    (five: on a shared 2-core machine one launch in three can be a tenth slower than the rest).

    One unmeasured launch first fills the course cache, as any earlier session would have.
    """
    with tempfile.TemporaryDirectory(prefix="tutor-ui-bench-") as tmp:
        home = prepare_home(Path(tmp))
        launch_once(home)
        samples = [launch_once(home) for _ in range(runs)]
    if any(s["torch_imported"] for s in samples):
        raise RuntimeError("the TUI process imported torch")
    return {"tui_start_ms": round(statistics.median(s["start_ms"] for s in samples), 1),
            "tui_rss_mb": round(max(s["rss_mb"] for s in samples), 1)}


if __name__ == "__main__":
    print(json.dumps(measure()))
