"""Unit tests of the run-time set-up of issue 20 (no sandbox started: milliseconds each)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from sandbox.runtime import plainpy, rundir, runenv


def test_outputs_folder_is_per_exercise_and_never_escapes_the_workspace(tmp_path: Path) -> None:
    ws = str(tmp_path)
    assert rundir.outputs_dir(ws, f"{ws}/ch01/1.1 first.py") == f"{ws}/outputs/ch01/1.1_first"
    assert rundir.outputs_dir(ws, "/elsewhere/train.py") == f"{ws}/outputs/train"
    assert rundir.outputs_dir(ws, f"{ws}/a.py", "2.3/batching") == f"{ws}/outputs/2.3/batching"
    for hostile in ("../../etc", "/abs/path", "..", "a/../../b"):
        out = rundir.outputs_dir(ws, f"{ws}/a.py", hostile)
        assert os.path.realpath(out).startswith(os.path.realpath(ws) + os.sep + "outputs" + os.sep), (hostile, out)


def test_mirrored_links_are_not_outputs_and_outputs_replace_the_last_runs(tmp_path: Path) -> None:
    script_dir, workdir, dest = tmp_path / "ex", tmp_path / "run", tmp_path / "ws" / "outputs" / "ex"
    script_dir.mkdir()
    workdir.mkdir()
    (script_dir / "labels.csv").write_text("a,1\n")
    (script_dir / "data").mkdir()
    linked = rundir.mirror(str(script_dir), str(workdir))
    assert sorted(linked) == ["data", "labels.csv"] and (workdir / "labels.csv").read_text() == "a,1\n"
    (workdir / "runs" / "exp").mkdir(parents=True)
    (workdir / "runs" / "exp" / "events").write_bytes(b"x")
    (workdir / "model.pt").write_bytes(b"y")
    dest.mkdir(parents=True)
    (dest / "old.txt").write_text("from the run before")
    files, where = rundir.collect(str(workdir), linked, str(dest))
    assert files == ["model.pt", "runs/exp/events"] and where == str(dest)
    assert sorted(p.name for p in dest.iterdir()) == ["model.pt", "runs"]
    assert (script_dir / "labels.csv").exists()  # the learner's own files are untouched


def test_a_run_that_wrote_nothing_has_no_note(tmp_path: Path) -> None:
    assert rundir.collect(str(tmp_path), [], str(tmp_path / "dest")) == ([], None)
    assert rundir.note([], None) == ""


def test_env_names_from_the_command_line_are_checked() -> None:
    assert runenv.bad_env_names({"OK_1": "x", "1bad": "y", "a b": "z", runenv.EVENT_FD_VAR: "9"}) == \
        ["1bad", "a b", runenv.EVENT_FD_VAR]


def test_torch_debug_variables_pass_and_other_settings_are_named(monkeypatch) -> None:
    assert runenv.passes("TORCH_LOGS") and runenv.passes("TORCHDYNAMO_VERBOSE") and runenv.passes("PATH")
    assert not runenv.passes("SSH_AUTH_SOCK") and not runenv.passes("HF_HOME")
    assert not runenv.passes("PYTORCH_TUTOR_TEST_TOKEN") and not runenv.passes("PYTORCH_TUTOR_WORKSPACE")
    monkeypatch.setattr(runenv, "_user_environ", {"HF_HOME": "/x", "SSH_AUTH_SOCK": "/s", "TORCH_LOGS": "+dynamo"})
    monkeypatch.setattr(runenv, "_dropped_before_exec", ["PYTHONWARNINGS"])
    assert runenv.dropped_names() == ["HF_HOME", "PYTHONWARNINGS"]      # not the socket, not torch's own
    assert runenv.dropped_names({"HF_HOME": "/y"}) == ["PYTHONWARNINGS"]  # given with --env: not dropped


def test_dropped_names_cross_the_clean_re_exec_as_names_only() -> None:
    arg = runenv.dropped_arg({"HF_HOME": "secret-path", "TORCH_LOGS": "x", "HOME": "/root"})
    assert arg == [runenv.DROPPED_ARG, "HF_HOME"]
    assert runenv.take_dropped_arg(["--mode", "warm", *arg]) == ["--mode", "warm"]


def test_the_child_environment_has_caches_short_tmpdir_and_no_thread_pins(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    workdir = ws / ".runs" / "abc"
    private = tmp_path / "p"
    workdir.mkdir(parents=True)
    (private / "tmp").mkdir(parents=True)
    runtime = runenv.plan_run("child", str(workdir), str(private), str(private / "tmp"), {"MY_FLAG": "1"})
    runtime["base_env"] = {"PATH": "/usr/bin", "TORCH_LOGS": "recompiles"}
    env = runenv.child_env({"workdir": str(workdir), "runtime": runtime}, 3, "/pkg")
    assert env["HOME"] == str(ws / ".cache" / "sandbox" / "home")
    assert env["TORCHINDUCTOR_CACHE_DIR"] == str(ws / ".cache" / "sandbox" / "inductor")
    assert env["TMPDIR"] == str(private / "tmp") and env["TORCH_LOGS"] == "recompiles" and env["MY_FLAG"] == "1"
    assert "OMP_NUM_THREADS" not in env and env["MPLBACKEND"] == "module://sandbox.learner.mplbackend"
    judge = runenv.plan_run("judge", str(workdir), str(private), str(private / "jt"), {"MY_FLAG": "1"})
    assert judge["cache_root"].startswith(str(private)) and judge["extra_env"] == {}


def test_limits_are_explained_in_one_line(tmp_path: Path) -> None:
    job = {"workdir": str(tmp_path), "limits": {"file_size_mb": 1}, "runtime": {"writable": []}}
    (tmp_path / "big.pt").write_bytes(b"\0" * (1 << 20))
    cut = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")
    why = plainpy.explain(cut, job)
    assert why == "file too large: the sandbox caps files at 1 MB (`limits.file_size_mb`, `run --file-size-mb`)"
    assert plainpy.summary_with(str(cut), why) == why
    denied = PermissionError(errno.EACCES, "Permission denied", "/etc/x")
    assert plainpy.explain(denied, job).endswith("; /etc/x is outside them")
    assert plainpy.explain(PermissionError(errno.EACCES, "denied", str(tmp_path / "ok")), job) == ""
    assert plainpy.explain(ValueError("bad"), job) == ""
