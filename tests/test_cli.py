"""The headless CLI end to end, on the pilot lessons, through real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.course.loader import load_course

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tutor", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("pytorch-tutor: ")
    assert fragment in lines[0]


def solution_file(tmp_path: Path, ref: str) -> Path:
    exercise = load_course().find_exercise(ref)
    assert exercise is not None
    path = tmp_path / "solution.py"
    path.write_text(exercise.solution)
    return path


@pytest.mark.parametrize("command", ["list", "show", "check", "watch", "run", "lint", "doctor", "schema", "bench", "replay", "progress", "worker"])
def test_every_command_has_help(command: str) -> None:
    proc = cli(command, "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: pytorch-tutor")


def test_list_text_and_json(isolated_dirs: dict[str, Path]) -> None:
    text = cli("list")
    assert text.returncode == 0, text.stderr
    assert "1.3/standardize" in text.stdout
    data = json.loads(cli("list", "--json").stdout)
    assert data["format"] == 1
    lessons = {lesson["id"]: lesson for chapter in data["chapters"] for lesson in chapter["lessons"]}
    exercise = next(e for e in lessons["1.3"]["exercises"] if e["id"] == "1.3/standardize")
    assert set(exercise) == {"id", "title", "state", "kind"}
    assert exercise["kind"] == "code"
    assert exercise["state"] == "new"


def test_show_renders_prose_and_prompts() -> None:
    proc = cli("show", "1.3")
    assert proc.returncode == 0, proc.stderr
    assert "Tensors" in proc.stdout
    assert "pytorch-tutor check 1.3/standardize" in proc.stdout


@pytest.mark.parametrize("args, fragment", [
    (("show", "42.42"), "no lesson '42.42'"),
    (("check", "1.3/nope"), "no exercise '1.3/nope'"),
    (("check", "1.3"), "1.3 is a lesson"),
    (("check", "1.3/standardize", "--file", "/does/not/exist.py"), "no such file"),
    (("run", "/does/not/exist.py"), "no such file"),
    (("lint", "/does/not/exist"), "no such lesson folder"),
])
def test_bad_input_gets_one_clear_line(args: tuple[str, ...], fragment: str) -> None:
    assert_one_line_error(cli(*args), fragment)


def test_check_passes_a_correct_solution_as_json(tmp_path: Path) -> None:
    proc = cli("check", "1.3/standardize", "--file", str(solution_file(tmp_path, "1.3/standardize")), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    for key in ("format", "status", "outcome", "checks", "stdout", "stderr", "truncated", "duration_ms"):
        assert key in result
    assert result["format"] == 1
    assert result["status"] == "pass" and result["outcome"] == "ok"
    assert result["checks"] and all(c["status"] == "pass" for c in result["checks"])
    assert set(result["checks"][0]) == {"name", "status", "message"}


def test_check_fails_a_wrong_answer_with_a_teaching_message(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.py"
    # Reduces over the wrong dim: shapes stay right, values do not.
    wrong.write_text("def standardize(x, dim):\n"
                     "    m = x.mean(dim=0, keepdim=True)\n"
                     "    s = x.std(dim=0, keepdim=True, correction=0)\n"
                     "    return (x - m) / s\n")
    proc = cli("check", "1.3/standardize", "--file", str(wrong), "--json", "--seed", "7")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "fail" and result["outcome"] == "ok"
    failed = [c for c in result["checks"] if c["status"] == "fail"]
    assert failed and "standardize(" in failed[0]["message"] and "differ" in failed[0]["message"]


def test_check_creates_the_workspace_file_and_records_progress(isolated_dirs: dict[str, Path]) -> None:
    proc = cli("check", "1.1/first_tensor")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the starter fails
    path = isolated_dirs["workspace"] / "1.1" / "first_tensor.py"
    assert path.exists()
    exercise = load_course().find_exercise("1.1/first_tensor")
    path.write_text(exercise.solution)
    edited = path.read_text()
    proc = cli("check", "1.1/first_tensor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert path.read_text() == edited, "the learner's file must never be overwritten"
    progress = json.loads((isolated_dirs["data"] / "progress.json").read_text())
    entry = progress["exercises"]["1.1/first_tensor"]
    assert entry["state"] == "passed" and entry["attempts"] == 2 and entry["passes"] == 1
    listed = json.loads(cli("list", "--json").stdout)
    states = {e["id"]: e["state"] for c in listed["chapters"] for l in c["lessons"] for e in l["exercises"]}
    assert states["1.1/first_tensor"] == "passed"


def test_run_reports_output_and_exceptions_as_json(tmp_path: Path) -> None:
    ok = tmp_path / "ok.py"
    ok.write_text("import torch\nprint('sum', torch.arange(4).sum().item())\n")
    result = json.loads(cli("run", str(ok), "--json").stdout)
    assert result["status"] == "pass" and result["outcome"] == "ok"
    assert "checks" not in result
    assert "sum 6" in result["stdout"]
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    return 1 / 0\n\nf()\n")
    proc = cli("run", str(bad), "--json")
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert result["status"] == "fail" and result["outcome"] == "exception"
    assert "ZeroDivisionError" in result["detail"]
    assert "bad.py" in result["stderr"] and "line 2" in result["stderr"]
    assert "sandbox/harness.py" not in result["stderr"], "tutor frames are hidden"


def test_run_timeout_is_classified(tmp_path: Path) -> None:
    hang = tmp_path / "hang.py"
    hang.write_text("import time\nprint('start', flush=True)\ntime.sleep(60)\n")
    proc = cli("run", str(hang), "--json", "--timeout", "2")
    result = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert result["outcome"] == "timeout" and result["status"] == "fail"
    assert "start" in result["stdout"]


def test_learner_escape_sequences_never_reach_the_terminal(tmp_path: Path) -> None:
    nasty = tmp_path / "nasty.py"
    nasty.write_text("print('\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred')\n")
    proc = cli("run", str(nasty))
    assert "\x1b]0;" not in proc.stdout and "\x1b[2J" not in proc.stdout
    assert "red" in proc.stdout


def test_no_command_without_a_terminal_says_so() -> None:
    # Without a terminal the TUI cannot draw: one clear line, no hang, no traceback.
    proc = subprocess.run([sys.executable, "-m", "tutor"], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, cwd=ROOT)
    assert_one_line_error(proc, "needs a terminal")


def test_run_prints_the_metric_chart(tmp_path: Path) -> None:
    script = tmp_path / "metrics.py"
    script.write_text("from sandbox import show\nfor i in range(20):\n    show.metric('val_loss', 1 / (i + 1), step=i)\n")
    proc = cli("run", str(script))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "val_loss" in proc.stdout and "(last 0.05)" in proc.stdout


def test_an_exercise_that_needs_a_gpu_says_so_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    fixtures = Path(__file__).resolve().parent / "fixtures" / "gpu_lessons"
    proc = cli("--device", "cpu", "--lessons", str(fixtures), "check", "99.3/square")  # chapter 99: never a real lesson
    assert_one_line_error(proc, "needs a CUDA device")
    report = json.loads(cli("lint", str(fixtures), "--json").stdout)
    (exercise,) = report["lessons"][0]["exercises"]
    assert exercise["solution"] == "skip" and exercise["starter"] == "skip" and report["ok"]


def test_every_shipped_folder_is_a_listed_package() -> None:
    # setuptools warns "Package would be ignored" about any folder of shipped files that is
    # not listed in [tool.setuptools] packages (the chapter folders and tutor/schema too).
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    wanted = set()
    for top, name in (("tutor", "tutor"), ("sandbox", "sandbox"), ("lessons", "pytorch_tutor_lessons")):
        for folder in [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir())]:
            rel = folder.relative_to(ROOT / top).parts
            if any(part.startswith((".", "_")) for part in rel):
                continue
            if any(f.is_file() and not f.name.endswith(".pyc") for f in folder.iterdir()):
                wanted.add(".".join((name, *rel)))
    assert not wanted - listed, f"add to [tool.setuptools] packages: {sorted(wanted - listed)}"


def test_list_in_a_pipe_has_no_trailing_blanks_and_no_wrapped_titles() -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}  # as in a plain pipe
    proc = subprocess.run([sys.executable, "-m", "tutor", "list"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines and all(line == line.rstrip() for line in lines)
    titles = {ex.ref: ex.title for ex in load_course().exercises}
    long_ref, long_title = max(titles.items(), key=lambda kv: len(kv[0]) + len(kv[1]))
    assert any(long_ref in line and line.rstrip().endswith(long_title) for line in lines), \
        "each exercise stays on one line"


def test_doctor_reports_versions_devices_isolation_then_reads_its_cache_at_80_columns(tmp_path: Path) -> None:
    # One test for the first and the later runs: the first probe imports torch (seconds).
    proc = cli("doctor", "--json")
    assert proc.returncode == 0, proc.stderr
    first = json.loads(proc.stdout)
    assert first["environment"]["torch"].startswith("2.")
    assert "cpu" in first["environment"]["devices"]
    assert first["environment_cached"] is False
    layers = first["sandbox"]["isolation"]["layers"]
    assert layers and all({"on", "why"} <= set(layer) for layer in layers.values())
    assert first["paths"]["workspace"] and first["paths"]["progress"].endswith("progress.json")
    second = json.loads(cli("doctor", "--json").stdout)
    assert first["environment"]["torch"] == second["environment"]["torch"]
    assert second["environment_cached"] is True
    env = dict(__import__("os").environ, COLUMNS="80")
    text = subprocess.run([sys.executable, "-m", "tutor", "doctor"], capture_output=True, text=True, timeout=180,
                          cwd=ROOT, env=env).stdout
    lines = text.splitlines()
    assert any(line.startswith("sandbox: ") and "isolation" in line for line in lines)
    assert all(len(line) <= 80 and line == line.rstrip() for line in lines), text


@pytest.mark.parametrize(("argv", "tui"), [
    ([], True),
    (["--device", "cpu"], True),
    (["--device=cpu", "--no-worker", "--lessons", "L"], True),
    (["--workspace", "check"], True),  # "check" is the option's value, not a command
    (["--help"], False),
    (["--version"], False),
    (["check", "1.1/first_tensor"], False),
    (["chek"], False),  # a misspelt command is an error from the full parser, not the TUI
])
def test_opens_tui_is_only_common_options(argv: list[str], tui: bool) -> None:
    from tutor.cli import opens_tui

    assert opens_tui(argv) is tui


def test_the_tuis_start_imports_no_command_module() -> None:
    # Every command module parsed for nothing cost a tenth of a second of the TUI's start
    # (rich's Markdown and tables, the linter, the bench).
    code = ("import sys; from tutor.cli import build_parser; args = build_parser(only='').parse_args(['--device', 'cpu']); "
            "print(args.command, args.device, sorted(m for m in sys.modules if m.startswith('tutor.commands.')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.stdout.split() == ["None", "cpu", "[]"], proc.stderr


def test_a_misspelt_command_lists_the_commands() -> None:
    proc = cli("chek")
    assert proc.returncode == 2
    assert "invalid choice: 'chek'" in proc.stderr and "check" in proc.stderr
