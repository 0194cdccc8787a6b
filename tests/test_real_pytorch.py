"""Real PyTorch code runs in the sandbox as it does in plain Python (issue 20).

Each test runs one small script of tests/fixtures/real_pytorch/ (written for these tests: each
does what a tutorial does) with ``run`` in a warm sandbox, and checks that it behaves as
``python FILE`` would, or that a limit the sandbox means is said in one line naming it.

One engine serves the module. Its workspace path is 120 characters long (DataLoader workers
put Unix sockets under TMPDIR, whose path may be at most 107 bytes) and it is started from a
folder of its own, so that "the tutor's working directory is not on sys.path" can be seen.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from sandbox.protocol import Limits, RunRequest, RunResult
from tutor.engine import Engine

# Every test of this module in one test process: its own engine then starts once, not once
# per process (a start imports torch: seconds of CPU).
pytestmark = [pytest.mark.long, pytest.mark.slow, pytest.mark.xdist_group("engine-in-a-long-workspace")]

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "real_pytorch"
ROOT = Path(__file__).resolve().parents[1]
WORKSPACE_LEN = 120
TMP_HINT = " (/tmp is not writable in the sandbox: use tempfile, or a relative path)"
BOUND_HINT = " (a folder of yours that the run sees beneath /tmp is not writable: use a relative path)"
SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")


def private_tmp_is_writable(result: RunResult) -> bool:
    """What the run's isolation report says: the private /tmp, /var/tmp, /dev/shm are writable."""
    return result.isolation["layers"]["filesystem_writes"]["why"].endswith("its private /tmp, /var/tmp, /dev/shm")


def writable_note(path: object, scratch: bool = False) -> str:
    if scratch:
        note = ("the sandbox lets a run write only in its working directory (what it writes there is kept), "
                "in TMPDIR (tempfile's folder), in its cache folder and in its private /tmp, /var/tmp and /dev/shm "
                f"(emptied after the run); {path} is outside them")
    else:
        note = ("the sandbox lets a run write only in its working directory (what it writes there is kept), "
                f"in TMPDIR (tempfile's folder) and in its cache folder; {path} is outside them")
    return note + ((BOUND_HINT if scratch else TMP_HINT) if str(path).startswith(("/tmp/", "/var/tmp/")) else "")


def long_path(base: Path, length: int) -> Path:
    pad = length - len(str(base)) - 1
    assert pad > 0, base
    return base / ("w" * pad)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("real")
    workspace = long_path(base, WORKSPACE_LEN)
    scripts = workspace / "scripts"
    shutil.copytree(FIXTURES, scripts)
    launch_dir = base / "launched-here"
    launch_dir.mkdir()
    saved_cwd = os.getcwd()
    saved_env = {k: os.environ.get(k) for k in ("TORCH_LOGS", "HF_HUB_OFFLINE")}
    # Variables a learner sets in the shell the tutor starts from.
    os.environ["TORCH_LOGS"] = "recompiles"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.chdir(launch_dir)
    try:
        eng = Engine(runs_dir=workspace / ".runs")
        eng.start()
    finally:
        os.chdir(saved_cwd)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert eng.hello.get("mode") == "warm", eng.hello
    yield {"engine": eng, "workspace": workspace, "scripts": scripts, "launch_dir": launch_dir}
    eng.close()


def run(setup: dict, name: str, timeout: float = 60.0, env: dict[str, str] | None = None,
        file_size_mb: int | None = None) -> RunResult:
    limits = Limits(timeout_s=timeout, **({"file_size_mb": file_size_mb} if file_size_mb else {}))
    request = RunRequest(kind="run", file=str(setup["scripts"] / f"{name}.py"), limits=limits)
    if env:
        request.env = dict(env)
    return setup["engine"].submit(request)


def lines(result: RunResult) -> list[str]:
    return result.stdout.splitlines()


def test_workspace_path_is_long(setup: dict) -> None:
    assert len(str(setup["workspace"])) == WORKSPACE_LEN


# --- 1. torch.compile and the file-size cap ------------------------------------------------------


@pytest.mark.long
def test_torch_compile_works_and_its_cache_persists(setup: dict) -> None:
    first = run(setup, "compile_small", timeout=240)
    assert first.status == "pass", (first.detail, first.stderr[-3000:])
    assert "COMPILE OK (8, 4)" in first.stdout
    inductor = setup["workspace"] / ".cache" / "sandbox" / "inductor"
    cached = [p for p in inductor.rglob("*") if p.is_file()]
    assert cached, "Inductor wrote nothing to the per-workspace cache"
    assert not list(inductor.rglob("*.gch")), "the ~160 MB precompiled header must not be built"
    second = run(setup, "compile_small", timeout=240)
    assert second.status == "pass", (second.detail, second.stderr[-3000:])
    hits = [line for line in lines(second) if line.startswith("FXGRAPH CACHE HITS")]
    assert hits and int(hits[0].split()[-1]) >= 1, second.stdout  # compiled code came from the cache


def test_a_save_past_the_file_size_cap_names_the_limit(setup: dict) -> None:
    result = run(setup, "save_big")
    assert result.outcome == "exception"
    assert result.detail == "file too large: the sandbox caps files at 64 MB (`limits.file_size_mb`, `run --file-size-mb`)"
    assert "[sandbox] file too large" in result.stderr


def test_a_larger_file_size_cap_lets_the_save_through(setup: dict) -> None:
    result = run(setup, "save_big", file_size_mb=128)
    assert result.status == "pass", (result.detail, result.stderr[-2000:])
    assert "SAVED" in result.stdout


# --- 2. HOME and library caches --------------------------------------------------------------------


def test_home_and_library_caches_are_writable_and_per_workspace(setup: dict) -> None:
    result = run(setup, "home_caches")
    assert result.status == "pass", (result.detail, result.stderr[-2000:])
    assert "CACHES OK True True" in result.stdout
    home = setup["workspace"] / ".cache" / "sandbox" / "home"
    assert (home / ".mylibrc").read_text() == "home ok"
    assert (home / ".cache" / "torch" / "hub" / "probe.txt").read_text() == "hub ok"


# --- 3. DataLoader workers under a long workspace path ---------------------------------------------


def test_dataloader_workers_run_under_a_120_character_workspace(setup: dict) -> None:
    result = run(setup, "dataloader_workers", timeout=60)
    assert result.status == "pass", (result.outcome, result.detail, result.stderr[-2000:])
    assert "LOADER OK 1240.0" in result.stdout


@pytest.mark.long
def test_spawned_dataloader_workers_run_under_a_120_character_workspace(setup: dict) -> None:
    result = run(setup, "dataloader_spawn", timeout=180)
    assert result.status == "pass", (result.outcome, result.detail, result.stderr[-2000:])
    assert "LOADER OK 1240.0" in result.stdout


@pytest.mark.long
def test_cli_run_of_a_dataloader_with_workers_and_a_long_workspace(tmp_path: Path, subprocess_env: dict) -> None:
    workspace = long_path(tmp_path, WORKSPACE_LEN)
    workspace.mkdir(parents=True)
    script = workspace / "loader.py"
    shutil.copy(FIXTURES / "dataloader_workers.py", script)
    out = subprocess.run([sys.executable, "-m", "tutor", "--workspace", str(workspace), "run", str(script),
                          "--timeout", "60", "--env", "EXTRA_FLAG=1"],
                         capture_output=True, text=True, timeout=300, env=subprocess_env, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "LOADER OK 1240.0" in out.stdout


# --- 5. threads ------------------------------------------------------------------------------------


def test_a_learner_may_size_the_interop_pool(setup: dict) -> None:
    result = run(setup, "interop_threads")
    assert result.status == "pass", (result.detail, result.stderr[-2000:])
    assert "INTEROP 2" in result.stdout and "FORKED 12.0" in result.stdout


@pytest.mark.long
def test_spawned_children_do_not_inherit_the_zygotes_single_thread(setup: dict) -> None:
    result = run(setup, "spawn_threads", timeout=90)
    assert result.status == "pass", (result.detail, result.stderr[-2000:])
    child = [line for line in lines(result) if line.startswith("CHILD")]
    assert child and "OMP=1 " not in child[0], result.stdout
    if (os.cpu_count() or 1) > 1:
        assert "THREADS=1" not in child[0], result.stdout


# --- 6. Ctrl-C -------------------------------------------------------------------------------------


def test_sigint_has_pythons_default_handler(setup: dict) -> None:
    result = run(setup, "ctrl_c")
    assert lines(result)[:2] == ["HANDLER default", "INTERRUPTED, saving"], result.stdout


def test_cancel_interrupts_politely_before_it_kills(setup: dict) -> None:
    engine: Engine = setup["engine"]
    seen = threading.Event()

    def on_event(event: dict) -> None:
        if event.get("type") == "stdout" and "TRAINING" in str(event.get("text")):
            seen.set()

    request = RunRequest(kind="run", file=str(setup["scripts"] / "interruptible.py"), limits=Limits(timeout_s=30))
    box: dict[str, RunResult] = {}
    worker = threading.Thread(target=lambda: box.setdefault("r", engine.submit(request, on_event)))
    worker.start()
    assert seen.wait(20), "the script never started"
    engine.cancel()
    worker.join(30)
    result = box["r"]
    assert result.outcome == "timeout" and result.detail == "cancelled"
    assert "INTERRUPTED at a step, checkpoint saved" in result.stdout


# --- 7. exit as Python does ------------------------------------------------------------------------


def test_exit_waits_for_threads_atexit_hooks_and_children(setup: dict) -> None:
    result = run(setup, "shutdown")
    assert result.status == "pass", (result.detail, result.stderr)
    assert sorted(lines(result)) == sorted(["MAIN done", "THREAD finished", "ATEXIT hook ran", "CHILD finished"])
    assert lines(result)[0] == "MAIN done"
    assert lines(result).index("THREAD finished") < lines(result).index("ATEXIT hook ran")


# --- 8. working directory and sys.path ---------------------------------------------------------------


def test_files_beside_the_script_are_readable_and_the_tutors_cwd_is_not_on_the_path(setup: dict) -> None:
    result = run(setup, "read_beside", env={"TUTOR_CWD": str(setup["launch_dir"])})
    assert result.status == "pass", (result.detail, result.stderr)
    assert lines(result) == ["ROWS 2", "SCRIPT DIR FIRST True", "TUTOR CWD ON PATH False"]


def test_a_file_beside_the_script_is_read_only_and_says_so(setup: dict) -> None:
    result = run(setup, "overwrite_beside")
    # Landlock refuses it (PermissionError), or, where the script's folder is bound into the
    # run's private /tmp, the read-only bind does.
    refusal = "Read-only file system" if str(setup["scripts"]).startswith(("/tmp/", "/var/tmp/")) else "PermissionError"
    assert result.outcome == "exception" and refusal in result.stderr, result.stderr
    assert result.detail.split(" — ")[-1] == ("labels.csv is the file beside your script, which a run may read but not change: "
                             "write to a new name (it is kept with the run's outputs)")
    assert (setup["scripts"] / "labels.csv").read_text() == "img0.png,3\nimg1.png,7\n"


# --- 12. writes outside the writable places ----------------------------------------------------------


def test_a_write_outside_the_writable_places_says_what_is_writable(setup: dict) -> None:
    result = run(setup, "write_outside")
    target = setup["scripts"].parent / "outside_the_sandbox.txt"
    assert result.outcome == "exception" and "PermissionError" in result.stderr
    assert result.detail.startswith("PermissionError: ")
    assert result.detail.split(" — ")[-1] == writable_note(target, scratch=private_tmp_is_writable(result))
    assert not target.exists()


# --- 9. environment --------------------------------------------------------------------------------


def test_torch_debug_variables_and_run_env_reach_the_script(setup: dict) -> None:
    result = run(setup, "debug_env", env={"MY_SETTING": "on"})
    assert result.status == "pass", (result.detail, result.stderr)
    assert "TORCH_LOGS recompiles" in result.stdout and "MY_SETTING on" in result.stdout
    dropped = [n for n in result.notes if n.startswith("not passed to your code:")]
    assert dropped and "HF_HUB_OFFLINE" in dropped[0] and "run --env NAME=VALUE" in dropped[0], result.notes


# --- 10. plt.show() ----------------------------------------------------------------------------------


def test_plt_show_sends_the_figure_as_an_image_visual(setup: dict) -> None:
    pytest.importorskip("matplotlib")
    result = run(setup, "plot_show")
    assert result.status == "pass", (result.detail, result.stderr[-2000:])
    images = [a for a in result.artifacts if a.get("kind") == "image"]
    assert len(images) == 1 and images[0]["title"].startswith("training loss")
    image = images[0]["data"]["images"][0]
    assert image["channels"] == 3 and len(set(image["pixels"])) > 2   # a real picture, not a blank
    kept = setup["workspace"] / "outputs" / "scripts" / "plot_show" / "figure-1.png"
    assert kept.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- 11. outputs kept per exercise -----------------------------------------------------------------


def test_what_a_run_wrote_is_listed_and_kept_until_the_next_run(setup: dict) -> None:
    dest = setup["workspace"] / "outputs" / "scripts" / "write_outputs"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "stale-from-an-older-run.txt").write_text("old")
    result = run(setup, "write_outputs")
    assert result.status == "pass", (result.detail, result.stderr)
    assert (dest / "runs" / "exp1" / "events.out.tfevents.0").read_bytes() == b"scalar data"
    assert (dest / "model.pt").is_file()
    assert not (dest / "stale-from-an-older-run.txt").exists()
    assert not (dest / "labels.csv").exists()  # the mirrored script folder is not an output
    kept = [n for n in result.notes if n.startswith("the run wrote")]
    assert kept == [f"the run wrote 2 files (model.pt, runs/exp1/events.out.tfevents.0), kept until the next run "
                    f"in {dest}{os.sep}"], result.notes


def test_scripts_write_to_a_private_tmp_that_vanishes_with_the_run(setup: dict) -> None:
    name = f"pt-scratch-{uuid.uuid4().hex}.txt"
    try:
        for _ in range(2):  # the second run must not see what the first one wrote
            result = run(setup, "write_tmp", env={"SCRATCH_NAME": name})
            assert result.status == "pass", (result.detail, result.stderr[-2000:])
            assert lines(result) == ["TEMPFILE OK", "LEFT BY AN EARLIER RUN []", "TMP OK /tmp /var/tmp /dev/shm",
                                     "SHM OK hello"]
            assert [d for d in SCRATCH if os.path.exists(os.path.join(d, name))] == []  # not on the host
            assert private_tmp_is_writable(result), result.isolation["layers"]["filesystem_writes"]
            assert "/tmp, /var/tmp, /dev/shm writable by the run and emptied with it" in \
                result.isolation["layers"]["mount_namespace"]["why"]
    finally:
        for folder in SCRATCH:
            if os.path.exists(os.path.join(folder, name)):
                os.unlink(os.path.join(folder, name))


def test_the_sandbox_still_serves_a_plain_run_afterwards(setup: dict) -> None:
    started = time.monotonic()
    result = run(setup, "debug_env")
    assert result.status == "pass" and time.monotonic() - started < 30
