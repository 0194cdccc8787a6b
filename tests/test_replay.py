"""``pytorch-tutor replay``: recorded sessions shown offline, without torch and without a worker;
lessons' shipped recordings; the read-only viewer; lint's check of shipped recordings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from tutor.cli import main
from tutor.course.loader import load_course
from tutor.record import Replay, read_session

ROOT = Path(__file__).resolve().parents[1]

HEADER = {"type": "session", "format": 1, "id": "20260101-100000-1", "started": "2026-01-01T10:00:00+0000"}
CODE = "def standardize(x, dim):\n    return (x - x.mean()) / x.std()\n"


def record(status: str = "fail", lesson: str = "1.3", exercise: str = "1.3/standardize", **extra: object) -> dict:
    check = {"name": "matches the reference", "status": status,
             "message": "off by a constant factor" if status == "fail" else ""}
    return {"type": "run", "seq": 1, "kind": "check", "time": "2026-01-01T10:00:05+0000", "lesson": lesson,
            "exercise": exercise, "file": "1.3/standardize.py", "code": CODE, "code_truncated": False,
            "seed": 7, "device": "cuda:0", "worker": {"python": "3.11", "torch": "2.9.0+cu128"},
            "isolation": {"level": "partial", "off": ["network"]}, "status": status,
            "result": {"format": 1, "status": status, "outcome": "ok", "detail": "", "checks": [check],
                       "duration_ms": 41.0},
            "events": [{"type": "started", "run_id": "r"},
                       {"type": "stdout", "text": "learner says hi\n", "truncated": False},
                       {"type": "artifact", "ref": 0}, dict(check, type="check"),
                       {"type": "final", "status": status, "outcome": "ok", "duration_ms": 41.0}],
            "artifacts": [{"type": "artifact", "kind": "tensor", "title": "z",
                           "data": {"shape": [2], "dtype": "float32", "device": "cpu", "values": [0.5, -0.5]}}],
            "events_dropped": 0, "artifacts_omitted": 0, **extra}


def write_session(path: Path, *records: dict, header: dict = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in (header, *records)))
    return path


@pytest.fixture
def sessions(isolated_dirs: dict[str, Path]) -> Path:
    return isolated_dirs["data"] / "sessions"


def run_cli_subprocess(*args: str, env_dirs: dict[str, Path]) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the CLI in a fresh interpreter; also report the heavy modules it imported and
    every process it started (a sandbox worker is one)."""
    code = ("import subprocess, sys\n"
            "started = []\n"
            "class Watched(subprocess.Popen):\n"
            "    def __init__(self, *a, **k):\n"
            "        started.append(a)\n"
            "        super().__init__(*a, **k)\n"
            "subprocess.Popen = Watched\n"
            "from tutor.cli import main\n"
            f"rc = main({list(args)!r})\n"
            "sys.stdout.flush()\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'numpy'))\n"
            "print('\\nREPORT', bad, 'PROCESSES', len(started), 'RC', rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTORCH_TUTOR_WORKSPACE": str(env_dirs["workspace"]),
                               "PYTORCH_TUTOR_DATA": str(env_dirs["data"]), "NO_COLOR": "1", "COLUMNS": "100"})
    return proc, "REPORT" + proc.stdout.rsplit("REPORT", 1)[-1]


def test_replay_print_shows_everything_without_torch_or_a_worker(sessions: Path,
                                                                  isolated_dirs: dict[str, Path]) -> None:
    write_session(sessions / "20260101-100000-1.jsonl", record("fail"), record("pass", seq=2))
    proc, report = run_cli_subprocess("replay", "--last", "--print", env_dirs=isolated_dirs)
    assert proc.returncode == 0, proc.stderr
    assert "REPORT [] PROCESSES 0 RC 0" in report, report   # no torch imported, no worker started
    out = proc.stdout
    assert "1/2  check 1.3/standardize" in out and "2/2  check 1.3/standardize" in out
    assert "device cuda:0" in out and "isolation partial" in out and "torch 2.9.0+cu128" in out
    assert "return (x - x.mean()) / x.std()" in out              # the code copy
    assert "learner says hi" in out                                # the output
    assert "off by a constant factor" in out and "✓ passed" in out and "✗ not yet" in out
    assert "float32" in out                                        # the visual, drawn by tutor.render


def test_replay_list(sessions: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_session(sessions / "20260101-100000-1.jsonl", record("fail"), record("pass"))
    write_session(sessions / "20260102-100000-1.jsonl", record("pass", lesson="2.1", exercise="2.1/x"),
                  header={**HEADER, "id": "20260102-100000-1"})
    assert main(["replay", "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["sessions"]
    assert [(s["id"], s["runs"], s["passed"], s["lessons"]) for s in listed] == [
        ("20260102-100000-1", 1, 1, ["2.1"]), ("20260101-100000-1", 2, 1, ["1.3"])]
    assert main(["replay"]) == 0
    assert "20260101-100000-1" in capsys.readouterr().out


def test_replay_last_skips_sessions_that_ran_nothing(sessions: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_session(sessions / "20260101-100000-1.jsonl", record("pass", exercise="1.3/older"))
    write_session(sessions / "20260103-100000-1.jsonl", header={**HEADER, "id": "20260103-100000-1"})
    assert main(["replay", "--last", "--print", "--no-code"]) == 0
    out = capsys.readouterr().out
    assert "check 1.3/older" in out and "return (x" not in out


def test_replay_a_session_by_id_prefix_and_a_torn_one(sessions: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_session(sessions / "20260101-100000-1.jsonl", record("fail"))
    with path.open("a") as fh:
        fh.write(json.dumps(record("pass"))[:100])       # the tutor was killed mid-write
    assert main(["replay", "20260101", "--print"]) == 0
    out = capsys.readouterr().out
    assert "1/1  check 1.3/standardize" in out
    assert "cut off" in out


@pytest.mark.parametrize("argv, fragment", [
    (["replay", "nope", "--print"], "no recorded session 'nope'"),
    (["replay", "--last", "--print"], "no recorded runs yet"),
    (["replay", "--lesson", "8.8", "--print"], "no lesson or exercise '8.8'"),
])
def test_replay_errors_are_one_line(argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and fragment in err[0]


# --- shipped recordings ----------------------------------------------------------------------

LESSON_YAML = """\
format_version: 1
id: "99.1"
title: A lesson with a recording
prose: Some prose.
recordings:
  - recordings/gpu-run.jsonl
exercises:
  - id: double
    title: Double it
    prompt: Double it.
    starter: "def double(x):\\n    return x\\n"
    solution: "def double(x):\\n    return 2 * x\\n"
    hints: [multiply]
    checks:
      - name: doubles
        function: double
"""


def lesson_dir(tmp_path: Path, *records: dict, torn: bool = False) -> Path:
    folder = tmp_path / "lessons" / "ch09"
    folder.mkdir(parents=True)
    (folder / "99.1-demo.yaml").write_text(LESSON_YAML)
    path = write_session(folder / "recordings" / "gpu-run.jsonl", *records)
    if torn:
        with path.open("a") as fh:
            fh.write('{"type": "run", "kind"')
    return folder.parent


def test_replay_lesson_includes_the_shipped_recordings(tmp_path: Path, sessions: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    lessons = lesson_dir(tmp_path, record("pass", lesson="99.1", exercise="99.1/double"))
    write_session(sessions / "20260101-100000-1.jsonl", record("fail", lesson="99.1", exercise="99.1/double"))
    assert main(["replay", "--lesson", "99.1", "--print", "--lessons", str(lessons)]) == 0
    out = capsys.readouterr().out
    assert "recorded attempts at 99.1 (1 shipped with the lesson)" in out
    assert "1/2  check 99.1/double" in out and "2/2  check 99.1/double" in out
    assert out.count("shipped with the lesson") == 2            # the title and the shipped attempt


def test_lint_accepts_a_good_shipped_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lessons = lesson_dir(tmp_path, record("pass", lesson="99.1", exercise="99.1/double"))
    assert main(["lint", str(lessons), "--no-run", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["lessons"][0]["errors"] == []


@pytest.mark.parametrize("records, torn, fragment", [
    ((record("pass", lesson="99.1", exercise="99.1/double"),), True, "cut off"),
    ((record("pass"),), False, "is about lesson '1.3', not 99.1"),
    ((record("pass", lesson="99.1", exercise="99.1/triple"),), False, "this lesson does not have"),
    ((record("maybe", lesson="99.1", exercise="99.1/double"),), False, "status must be one of"),
    ((), False, "no run records"),
])
def test_lint_rejects_bad_shipped_recordings(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             records: tuple, torn: bool, fragment: str) -> None:
    lessons = lesson_dir(tmp_path, *records, torn=torn)
    assert main(["lint", str(lessons), "--no-run", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    errors = report["lessons"][0]["errors"]
    assert errors and fragment in errors[0] and all("gpu-run.jsonl" in e for e in errors)


def test_lint_reports_a_missing_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lessons = lesson_dir(tmp_path, record("pass", lesson="99.1", exercise="99.1/double"))
    (lessons / "ch09" / "recordings" / "gpu-run.jsonl").unlink()
    assert main(["lint", str(lessons), "--no-run"]) == 1
    assert "no such file" in capsys.readouterr().out


def test_every_builtin_shipped_recording_is_valid_and_replayable() -> None:
    from tutor.record import shipped_recording_problems

    course = load_course()
    shipped = [(lesson, file) for lesson in course.lessons for file in lesson.recordings]
    assert shipped, "the course ships at least one recording (lesson 1.3)"
    for lesson, file in shipped:
        assert shipped_recording_problems(lesson) == []
        session = read_session(Path(file), shipped=True)
        assert session.records and all(r["lesson"] == lesson.id for r in session.records)


# --- the viewer ------------------------------------------------------------------------------


def text_of(renderable: object, width: int = 100) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(renderable)
    return console.export_text()


async def test_the_viewer_steps_through_attempts(tmp_path: Path) -> None:
    from textual.widgets import Static

    from tutor.ui.replay_screen import ReplayApp

    path = write_session(tmp_path / "s.jsonl", record("fail"), record("pass", exercise="1.3/make_tensors", code="x = 1\n" * 60),
                         record("error", exercise="1.3/pairwise_sq_dists"))
    app = ReplayApp(Replay.of_session(read_session(path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = text_of(app.query_one("#attempt", Static).content)
        assert app.current == 0 and "check 1.3/standardize" in shown and "not yet" in shown
        await pilot.press("n")
        await pilot.pause()
        shown = text_of(app.query_one("#attempt", Static).content)
        assert app.current == 1 and "check 1.3/make_tensors" in shown and "passed" in shown
        await pilot.press("n", "n", "n")      # stops at the last attempt
        await pilot.pause()
        assert app.current == 2
        await pilot.press("p")
        await pilot.pause()
        assert app.current == 1
        detail = app.query_one("#detail")
        assert detail.max_scroll_y > 0            # 60 lines of code: longer than the screen
        await pilot.press("space")
        await pilot.pause()
        assert detail.scroll_y > 0
        await pilot.press("q")
    assert app.return_value == 0


@pytest.mark.slow
def test_a_real_check_is_recorded_and_replays_offline(isolated_dirs: dict[str, Path]) -> None:
    """End to end: `check` through the real worker writes a session; replay shows it, torch-free."""
    # The test run's runtime folder too: without it, `check` would start (and leave running)
    # a worker daemon in the user's own runtime folder.
    env = {"PATH": "/usr/bin:/bin", "PYTORCH_TUTOR_WORKSPACE": str(isolated_dirs["workspace"]),
           "PYTORCH_TUTOR_DATA": str(isolated_dirs["data"]), "NO_COLOR": "1",
           "PYTORCH_TUTOR_RUNTIME_DIR": os.environ["PYTORCH_TUTOR_RUNTIME_DIR"]}
    check = subprocess.run([sys.executable, "-m", "tutor", "check", "1.3/standardize", "--seed", "3"],
                           capture_output=True, text=True, cwd=ROOT, timeout=240, env=env)
    assert check.returncode == 1, check.stderr          # the starter fails its check
    files = sorted((isolated_dirs["data"] / "sessions").glob("*.jsonl"))
    assert len(files) == 1
    session = read_session(files[0])
    assert session.header["argv"] == ["check", "1.3/standardize", "--seed", "3"]
    (rec,) = session.records
    mine = (isolated_dirs["workspace"] / "1.3" / "standardize.py").read_text()
    assert rec["code"] == mine and rec["seed"] == 3 and rec["device"] == "cpu"
    assert rec["status"] == "fail" and rec["isolation"]["level"] in ("full", "partial", "basic")
    assert rec["result"]["checks"][0]["status"] == "fail"
    proc, report = run_cli_subprocess("replay", "--last", "--print", env_dirs=isolated_dirs)
    assert "REPORT [] PROCESSES 0 RC 0" in report, (report, proc.stderr)
    assert rec["result"]["checks"][0]["name"] in proc.stdout and "✗ not yet" in proc.stdout
