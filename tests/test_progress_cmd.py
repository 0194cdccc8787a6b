"""``pytorch-tutor progress``: export, import (merge/replace), reset with confirmation, and the
progress file's hardening (validation, set-aside, no lost updates between processes)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tutor.cli import main
from tutor.progress import Progress, merge_progress, progress_problems


class Terminal(io.StringIO):
    """A stdin that says it is a terminal and answers with ``text``."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def data_dir(isolated_dirs: dict[str, Path]) -> Path:
    return isolated_dirs["data"]


def seed_progress(data_dir: Path) -> Progress:
    progress = Progress.load(data_dir / "progress.json")
    progress.record_attempt("1.3/standardize", passed=False)
    progress.record_attempt("1.3/standardize", passed=True)
    progress.record_attempt("1.3/make_tensors", passed=False)
    progress.record_attempt("1.1/first_tensor", passed=True)
    progress.record_hint("1.3/make_tensors", 2)
    return progress


def stored(data_dir: Path) -> dict:
    return json.loads((data_dir / "progress.json").read_text())


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("pytorch-tutor: "), err
    return err[0]


# --- export / import -------------------------------------------------------------------------


def test_export_writes_the_documented_json(data_dir: Path, tmp_path: Path) -> None:
    seed_progress(data_dir)
    out = tmp_path / "mine.json"
    assert main(["progress", "export", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["version"] == 1 and doc["last"] == "1.1/first_tensor"
    assert set(doc["exercises"]) == {"1.3/standardize", "1.3/make_tensors", "1.1/first_tensor"}
    assert doc["exercises"]["1.3/standardize"]["state"] == "passed"
    assert doc["exercises"]["1.3/standardize"]["attempts"] == 2
    assert doc["exercises"]["1.3/make_tensors"]["hints_shown"] == 2
    assert isinstance(doc["exported"], str) and doc["tutor"]
    assert progress_problems(doc) == []


def test_export_never_overwrites_a_file_without_force(data_dir: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    seed_progress(data_dir)
    out = tmp_path / "mine.json"
    out.write_text("precious")
    assert main(["progress", "export", str(out)]) == 2
    assert "--force" in one_line_error(capsys)
    assert out.read_text() == "precious"
    assert main(["progress", "export", str(out), "--force"]) == 0
    assert json.loads(out.read_text())["version"] == 1


def test_export_to_stdout(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed_progress(data_dir)
    assert main(["progress", "export", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["exercises"]["1.1/first_tensor"]["state"] == "passed"


def test_import_merges_keeps_a_backup_and_is_idempotent(data_dir: Path, tmp_path: Path) -> None:
    seed_progress(data_dir)
    before = (data_dir / "progress.json").read_text()
    other = {"version": 1, "last": "2.1/x", "exercises": {
        "1.3/standardize": {"state": "attempted", "attempts": 5, "passes": 0, "hints_shown": 3,
                            "solution_viewed": True, "last_attempt": "2030-01-01T00:00:00+0000"},
        "9.9/from_elsewhere": {"state": "passed", "attempts": 1, "passes": 1}}}
    src = tmp_path / "other.json"
    src.write_text(json.dumps(other))
    assert main(["progress", "import", str(src)]) == 0
    merged = stored(data_dir)["exercises"]
    std = merged["1.3/standardize"]
    assert std["state"] == "passed"                    # passed wins over attempted
    assert std["attempts"] == 5 and std["passes"] == 1 and std["hints_shown"] == 3
    assert std["solution_viewed"] is True
    assert std["last_attempt"] == "2030-01-01T00:00:00+0000"
    assert merged["1.3/make_tensors"]["attempts"] == 1  # only ours: untouched
    assert merged["9.9/from_elsewhere"]["state"] == "passed"   # only theirs: kept, unknown or not
    backups = list(data_dir.glob("progress.json.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == before
    once = stored(data_dir)
    assert main(["progress", "import", str(src)]) == 0
    assert stored(data_dir) == once


def test_import_replace_asks_and_replaces(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    seed_progress(data_dir)
    src = tmp_path / "other.json"
    src.write_text(json.dumps({"version": 1, "exercises": {"2.1/x": {"state": "passed"}}}))
    before = stored(data_dir)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))          # no terminal, no --yes: refuse
    assert main(["progress", "import", str(src), "--replace"]) == 2
    assert "--yes" in one_line_error(capsys)
    assert stored(data_dir) == before
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))          # asked, said no
    assert main(["progress", "import", str(src), "--replace"]) == 1
    assert stored(data_dir) == before
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    assert main(["progress", "import", str(src), "--replace"]) == 0
    assert set(stored(data_dir)["exercises"]) == {"2.1/x"}
    assert any(json.loads(p.read_text()) == before for p in data_dir.glob("progress.json.bak-*"))


@pytest.mark.parametrize("content, fragment", [
    ("{not json", "is not JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"version": 2, "exercises": {}}', "newer than this pytorch-tutor"),
    ('{"exercises": {}}', "version"),
    ('{"version": 1, "exercises": {"1.3/a": {"state": "done"}}}', "exercises['1.3/a'].state"),
    ('{"version": 1, "exercises": {"1.3/a": {"attempts": -1}}}', "exercises['1.3/a'].attempts"),
    ('{"version": 1, "exercises": {"standardize": {}}}', "exercise id"),
    ('{"version": 1, "exercises": []}', "exercises: must be an object"),
])
def test_import_rejects_bad_files_with_one_line_and_changes_nothing(
        data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, fragment: str) -> None:
    seed_progress(data_dir)
    before = stored(data_dir)
    src = tmp_path / "bad.json"
    src.write_text(content)
    assert main(["progress", "import", str(src)]) == 2
    assert fragment in one_line_error(capsys)
    assert stored(data_dir) == before
    assert not list(data_dir.glob("progress.json.bak-*"))


def test_import_of_a_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["progress", "import", str(tmp_path / "nope.json")]) == 2
    assert "no such file" in one_line_error(capsys)


# --- reset -----------------------------------------------------------------------------------


def test_reset_a_lesson_asks_first(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    seed_progress(data_dir)
    before = stored(data_dir)
    monkeypatch.setattr("sys.stdin", Terminal("\n"))            # the default answer is no
    assert main(["progress", "reset", "1.3"]) == 1
    assert "[y/N]" in capsys.readouterr().out
    assert stored(data_dir) == before
    monkeypatch.setattr("sys.stdin", Terminal("yes\n"))
    assert main(["progress", "reset", "1.3"]) == 0
    assert set(stored(data_dir)["exercises"]) == {"1.1/first_tensor"}
    assert any(json.loads(p.read_text()) == before for p in data_dir.glob("progress.json.bak-*"))


def test_reset_without_a_terminal_needs_yes(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    seed_progress(data_dir)
    before = stored(data_dir)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))       # piped "y" is not a confirmation
    assert main(["progress", "reset"]) == 2
    assert "--yes" in one_line_error(capsys)
    assert stored(data_dir) == before
    assert main(["progress", "reset", "1.3/standardize", "--yes"]) == 0
    assert set(stored(data_dir)["exercises"]) == {"1.3/make_tensors", "1.1/first_tensor"}
    assert main(["progress", "reset", "--yes"]) == 0
    assert stored(data_dir)["exercises"] == {} and stored(data_dir)["last"] is None


def test_reset_of_an_unknown_id_is_an_error(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed_progress(data_dir)
    assert main(["progress", "reset", "7.7", "--yes"]) == 2
    assert "no lesson or exercise '7.7'" in one_line_error(capsys)


def test_reset_never_touches_exercise_files(data_dir: Path, isolated_dirs: dict[str, Path]) -> None:
    seed_progress(data_dir)
    mine = isolated_dirs["workspace"] / "1.3" / "standardize.py"
    mine.parent.mkdir(parents=True)
    mine.write_text("# my work\n")
    assert main(["progress", "reset", "--yes"]) == 0
    assert mine.read_text() == "# my work\n"


def test_show_lists_lessons_and_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed_progress(data_dir)
    assert main(["progress"]) == 0
    out = capsys.readouterr().out
    assert "1.3" in out and "last: 1.1/first_tensor" in out
    assert main(["progress", "show", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["exercises"]["1.3/standardize"]["passes"] == 1


# --- the progress file itself ----------------------------------------------------------------


@pytest.mark.parametrize("content, reason", [
    ("{ torn", "corrupt"),
    ('{"version": 99, "exercises": {}}', "newer pytorch-tutor"),
    ('{"version": 1, "exercises": {"1.3/a": "passed"}}', "must be an object"),
])
def test_a_broken_progress_file_is_moved_aside_and_named(data_dir: Path, content: str, reason: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "progress.json").write_text(content)
    assert main(["progress"]) == 0
    err = capsys.readouterr().err
    moved = list(data_dir.glob("progress.json.broken-*"))
    assert len(moved) == 1 and moved[0].read_text() == content
    assert reason in err and moved[0].name in err.replace("\n", "")
    assert not (data_dir / "progress.json").exists() or stored(data_dir)["version"] == 1


def test_two_processes_never_lose_each_others_updates(data_dir: Path) -> None:
    tui = Progress.load(data_dir / "progress.json")        # e.g. the TUI, open all along
    cli = Progress.load(data_dir / "progress.json")        # e.g. `check` in another terminal
    tui.record_attempt("1.3/standardize", passed=False)
    cli.record_attempt("1.3/make_tensors", passed=True)
    tui.record_hint("1.3/standardize", 1)
    final = stored(data_dir)["exercises"]
    assert final["1.3/make_tensors"]["state"] == "passed"
    assert final["1.3/standardize"]["attempts"] == 1 and final["1.3/standardize"]["hints_shown"] == 1


def test_merge_rules() -> None:
    ours = {"version": 1, "last": "1.3/a", "exercises": {
        "1.3/a": {"state": "passed", "attempts": 2, "passes": 1, "first_passed": "2026-02-01T00:00:00+0000"}}}
    theirs = {"version": 1, "last": "1.3/b", "exercises": {
        "1.3/a": {"state": "attempted", "attempts": 7, "passes": 0, "first_passed": "2026-01-01T00:00:00+0000"},
        "1.3/b": {"state": "attempted", "attempts": 1}}}
    merged = merge_progress(ours, theirs)
    assert merged["last"] == "1.3/a"
    a = merged["exercises"]["1.3/a"]
    assert (a["state"], a["attempts"], a["passes"]) == ("passed", 7, 1)
    assert a["first_passed"] == "2026-01-01T00:00:00+0000"
    assert merged["exercises"]["1.3/b"]["attempts"] == 1
    assert merge_progress(merged, theirs) == merged
    assert ours["exercises"]["1.3/a"]["attempts"] == 2          # inputs are not modified
