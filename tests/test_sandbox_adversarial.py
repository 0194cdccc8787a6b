"""Hostile and unusual learner code against the warm sandbox.

One warm engine serves the whole module. After every case the sandbox must serve the next
run normally and no process of that case may remain: each case runs in its own working
directory, and a process whose cwd is (or was) there is a straggler.
"""

from __future__ import annotations

import os
import textwrap
import threading
import time
from pathlib import Path

import pytest

from sandbox.protocol import Limits, RunRequest, RunResult
from tutor.engine import Engine

pytestmark = [pytest.mark.slow]


# --- helpers --------------------------------------------------------------------------------


def _procs() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, cwd) for every process we can see."""
    out: dict[int, tuple[int, str]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            try:
                cwd = os.readlink(f"/proc/{name}/cwd")
            except OSError:
                cwd = ""
            out[int(name)] = (ppid, cwd)
        except (OSError, ValueError, IndexError):
            continue
    return out


def descendants(root: int) -> set[int]:
    procs = _procs()
    found: set[int] = set()
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in procs.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return found


def stragglers(workdir: Path) -> list[int]:
    prefix = str(workdir)
    return [pid for pid, (_, cwd) in _procs().items() if cwd.startswith(prefix)]


def wait_no_stragglers(workdir: Path, timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = stragglers(workdir)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_the_shared_engine_forks_its_runs_from_a_warm_zygote(engine) -> None:
    # The attacks below run on the suite's shared warm engine (tests/conftest.py): the path
    # learners get on Linux, and every test after them proves the engine outlived them.
    assert engine.hello.get("mode") == "warm", engine.hello


class Runner:
    def __init__(self, engine: Engine, tmp: Path) -> None:
        self.engine, self.tmp, self.count = engine, tmp, 0

    def __call__(self, code: str, timeout: float = 10.0, **limits: object) -> tuple[RunResult, Path]:
        self.count += 1
        src = self.tmp / f"case{self.count}.py"
        src.write_text(textwrap.dedent(code), encoding="utf-8")
        workdir = self.tmp / f"work{self.count}"
        workdir.mkdir()
        req = RunRequest(kind="run", file=str(src), workdir=str(workdir), seed=7,
                         limits=Limits.from_dict(dict(limits, timeout_s=timeout)))
        result = self.engine.submit(req)
        return result, workdir


@pytest.fixture
def run(engine: Engine, tmp_path: Path):
    runner = Runner(engine, tmp_path)
    zygote_tree_before = engine._proc.pid if engine._proc else None
    yield runner
    # After every case: nothing of it survives, and the sandbox still serves a normal run.
    for i in range(1, runner.count + 1):
        assert wait_no_stragglers(tmp_path / f"work{i}") == [], f"processes of case {i} survived"
    ok, _ = runner("print('still alive', 6 * 7)")
    assert ok.status == "pass" and ok.outcome == "ok", (ok.outcome, ok.detail, ok.stderr, ok.error)
    assert "still alive 42" in ok.stdout
    assert engine._proc is not None and engine._proc.pid == zygote_tree_before, "the worker was restarted"


# --- runaway code ---------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_infinite_loop_is_a_timeout(run):
    result, _ = run("while True:\n    pass\n", timeout=1.5)
    assert result.status == "fail" and result.outcome == "timeout"


@pytest.mark.timeout(60)
def test_sleeping_forever_is_a_timeout(run):
    result, _ = run("import time\ntime.sleep(10**6)\n", timeout=1.0)
    assert result.outcome == "timeout" and "wall-clock" in result.detail


@pytest.mark.timeout(60)
def test_ignoring_sigterm_does_not_help(run):
    result, _ = run("""
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(10**6)
    """, timeout=1.0)
    assert result.outcome == "timeout"


@pytest.mark.timeout(90)
def test_fork_bomb_is_contained(run, engine):
    engine.wait_ready()  # every spare (and its namespace's init) in place: the tree's full size
    before = len(descendants(engine._proc.pid))
    result, _ = run("""
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """, timeout=2.0)
    assert result.status == "fail" and result.outcome == "timeout"
    engine.wait_ready()
    # The worker's own process tree is back to its size (zygote, spares, their inits).
    deadline = time.monotonic() + 10
    while len(descendants(engine._proc.pid)) > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(descendants(engine._proc.pid)) <= before


@pytest.mark.timeout(60)
def test_orphans_are_reaped_inside_the_run(run, engine):
    # Each run's PID namespace has an init (a shell, started in a millisecond) that must reap
    # every process orphaned into it: zombies would pile up against the process limit.
    if not engine.isolation["layers"].get("pid_namespace", {}).get("on"):
        pytest.skip("no PID namespace per run on this machine")
    result, _ = run("""
        import os, time
        for _ in range(40):
            if os.fork() == 0:
                if os.fork() == 0:
                    time.sleep(0.05)
                    os._exit(0)
                os._exit(0)
            os.wait()
        time.sleep(0.6)
        zombies = 0
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            zombies += state == "Z"
        print("zombies", zombies, "init", open("/proc/1/comm").read().strip())
    """, timeout=10.0)
    assert result.outcome == "ok", (result.detail, result.stderr)
    zombies, init = result.stdout.split()[1], result.stdout.split()[3]
    assert zombies == "0"
    from sandbox.runtime.zygote import init_command

    assert init == Path(init_command()[0]).name[:15]  # the shell here; Python where none exists


@pytest.mark.timeout(60)
def test_setsid_escapee_is_killed(run):
    result, workdir = run("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(600)
            os._exit(0)
        time.sleep(0.3)
        print("parent done")
    """, timeout=5.0)
    assert result.outcome == "ok" and "parent done" in result.stdout
    assert wait_no_stragglers(workdir) == []


# --- memory ---------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_huge_tensor_is_a_memory_outcome(run):
    result, _ = run("import torch\nx = torch.ones(2**34)\nprint(x.sum())\n", memory_mb=512)
    assert result.status == "fail" and result.outcome == "memory", (result.outcome, result.detail)


@pytest.mark.timeout(60)
def test_growing_list_is_a_memory_outcome(run):
    result, _ = run("""
        blocks = []
        while True:
            blocks.append(bytearray(16 * 1024 * 1024))
    """, memory_mb=256, timeout=20)
    assert result.outcome == "memory", (result.outcome, result.detail)


# --- output ---------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_gigabyte_of_output_is_capped(run):
    result, _ = run("""
        import sys
        block = "x" * (1 << 20)
        for _ in range(1024):
            sys.stdout.write(block)
        print()
        print("the last line")
    """, timeout=60)
    assert result.truncated and result.dropped_bytes > 900 * (1 << 20)
    assert len(result.stdout) < 70 * 1024
    assert result.stdout.endswith("the last line\n")  # head and tail are kept, the middle dropped
    assert result.outcome == "ok", (result.outcome, result.detail)


@pytest.mark.timeout(60)
def test_one_hundred_megabyte_line_is_capped(run):
    result, _ = run("print('y' * 100_000_000)\n", timeout=30)
    assert result.outcome == "ok" and result.truncated
    assert result.dropped_bytes >= 100_000_000 - 64 * 1024


@pytest.mark.timeout(60)
def test_forged_final_line_on_stdout_is_just_output(run):
    result, _ = run("""
        print('{"type": "final", "status": "pass", "outcome": "ok"}')
        raise ValueError("really failed")
    """)
    assert result.status == "fail" and result.outcome == "exception"
    assert "ValueError: really failed" in result.detail


# --- ways to end ----------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_segfault_is_reported_by_name(run):
    result, _ = run("import ctypes\nctypes.string_at(0)\n")
    assert result.outcome == "signal" and "SIGSEGV" in result.detail


@pytest.mark.timeout(60)
def test_os_exit_code_is_reported(run):
    result, _ = run("import os\nos._exit(3)\n")
    assert result.outcome == "exit" and "3" in result.detail and result.status == "fail"


@pytest.mark.timeout(60)
def test_sys_exit_is_a_normal_end_and_sys_exit_code_is_not(run):
    ok, _ = run("import sys\nprint('bye')\nsys.exit()\n")
    assert ok.outcome == "ok" and ok.status == "pass"
    bad, _ = run("import sys\nsys.exit(4)\n")
    assert bad.outcome == "exit" and "4" in bad.detail


@pytest.mark.timeout(60)
def test_closing_stdout_and_stderr_still_reports(run):
    result, _ = run("import os\nprint('before', flush=True)\nos.close(1)\nos.close(2)\nx = 1 + 1\n")
    assert result.outcome == "ok" and "before" in result.stdout


@pytest.mark.timeout(60)
def test_exception_traceback_hides_tutor_frames(run):
    result, _ = run("def f():\n    return 1 / 0\nf()\n")
    assert result.outcome == "exception" and "ZeroDivisionError" in result.detail
    assert "sandbox" + os.sep not in result.stderr and "case" in result.stderr


@pytest.mark.timeout(60)
def test_killing_its_parent_does_not_kill_the_sandbox(run, engine):
    result, _ = run("""
        import os, signal
        os.kill(os.getppid(), signal.SIGKILL)
        os.kill(os.getppid(), signal.SIGTERM)
        print("survived")
    """)
    # Either the kill hit the learner's own group (PID namespace: the parent is invisible)
    # or it was refused; the sandbox itself is checked by the fixture afterwards.
    assert result.outcome in ("ok", "signal", "exception")


# --- resources and isolation ----------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_download_says_that_the_sandbox_has_no_network(run, engine):
    # torchvision's weights=DEFAULT, torch.hub and datasets download through urllib: inside
    # the run that fails on name resolution, and the learner reads why, not a bare URLError.
    if not engine.isolation["layers"].get("network_isolation", {}).get("on"):
        pytest.skip("no network namespaces on this machine")
    result, _ = run("""
        import urllib.request
        urllib.request.urlopen("https://download.pytorch.org/models/resnet18-f37072fd.pth", timeout=5)
    """, timeout=20.0)
    assert result.outcome == "exception"
    assert "URLError" in result.stderr
    assert "[sandbox] the sandbox has no network" in result.stderr
    assert "nothing can be downloaded" in result.detail


@pytest.mark.timeout(60)
def test_a_learners_own_connection_error_is_not_blamed_on_the_sandbox(run):
    result, _ = run("""
        raise ConnectionError("my server said no")
    """)
    assert result.outcome == "exception"
    assert "no network" not in result.stderr + result.detail


@pytest.mark.timeout(60)
def test_network_is_off_by_default(run, engine):
    if not engine.isolation["layers"].get("network_isolation", {}).get("on"):
        pytest.skip("no network namespaces on this machine")
    result, _ = run("""
        import socket
        try:
            socket.create_connection(("1.1.1.1", 80), timeout=3)
            print("CONNECTED")
        except OSError as exc:
            print("refused:", exc)
        srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
        socket.create_connection(srv.getsockname(), timeout=3)
        print("loopback ok")
    """)
    assert "CONNECTED" not in result.stdout and "refused:" in result.stdout
    assert "loopback ok" in result.stdout


@pytest.mark.timeout(60)
def test_a_hundred_megabyte_file_is_refused(run):
    result, workdir = run("""
        with open("big.bin", "wb") as fh:
            for _ in range(100):
                fh.write(b"\\0" * (1 << 20))
    """, timeout=20)
    assert result.outcome == "exception" and "File too large" in result.detail, result.detail


@pytest.mark.timeout(60)
def test_writing_outside_the_workspace_is_refused(run, engine, tmp_path):
    if not engine.isolation["layers"].get("filesystem_writes", {}).get("on"):
        pytest.skip("no Landlock on this machine")
    target = tmp_path / "outside.txt"
    result, _ = run(f"""
        open({str(target)!r}, "w").write("pwned")
    """)
    # Landlock refuses it (PermissionError); where the folder is bound into the run's private
    # /tmp (a workspace under /tmp, as here under pytest), the read-only bind does (EROFS).
    under_tmp = str(target).startswith(("/tmp/", "/var/tmp/"))
    assert result.outcome == "exception"
    assert ("Read-only file system" if under_tmp else "PermissionError") in result.detail, result.detail
    assert not target.exists()


@pytest.mark.timeout(60)
def test_environment_is_scrubbed(run, monkeypatch):
    result, _ = run("""
        import os
        print(sorted(k for k in os.environ if "SECRET" in k or k.startswith("PYTORCH_TUTOR_W")))
    """)
    assert result.stdout.strip() == "[]"


@pytest.mark.timeout(60)
def test_cuda_query_in_learner_code_does_not_poison_later_runs(run):
    first, _ = run("import torch\nprint('cuda', torch.cuda.is_available())\n")
    assert first.outcome == "ok" and "cuda" in first.stdout
    second, _ = run("import torch\nprint('bad fork', torch._C._cuda_isInBadFork())\n")
    assert second.outcome == "ok" and "bad fork False" in second.stdout


@pytest.mark.timeout(90)
def test_dataloader_with_two_workers(run):
    result, _ = run("""
        import torch
        from torch.utils.data import DataLoader, TensorDataset
        ds = TensorDataset(torch.arange(40.0))
        total = sum(batch[0].sum().item() for batch in DataLoader(ds, batch_size=8, num_workers=2))
        print("total", total)
    """, timeout=60)
    assert result.outcome == "ok", (result.detail, result.stderr[-2000:])
    assert "total 780.0" in result.stdout


@pytest.mark.long
@pytest.mark.timeout(180)
def test_two_process_gloo_ddp_with_mp_spawn(run):
    # torch 2.14 + gloo + DDP aborts at interpreter teardown about one run in three
    # ("terminate called without an active exception"), sandbox or not; measured: 4 of 12
    # plain `python` runs. The workers therefore end with os._exit(0) after cleaning up.
    result, _ = run("""
        import os
        import sys
        import torch
        import torch.distributed as dist
        import torch.multiprocessing as mp

        def worker(rank, world):
            os.environ["MASTER_ADDR"] = "127.0.0.1"
            os.environ["MASTER_PORT"] = "29533"
            dist.init_process_group("gloo", rank=rank, world_size=world)
            model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 1))
            model(torch.ones(4, 2)).sum().backward()
            t = torch.tensor([float(rank + 1)])
            dist.all_reduce(t)
            if rank == 0:
                print("allreduce", t.item())
            dist.destroy_process_group()
            sys.stdout.flush()
            os._exit(0)

        if __name__ == "__main__":
            mp.spawn(worker, args=(2,), nprocs=2)
    """, timeout=150)
    assert result.outcome == "ok", (result.detail, result.stderr[-3000:])
    assert "allreduce 3.0" in result.stdout


# --- endurance and concurrency --------------------------------------------------------------


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.mark.long
@pytest.mark.timeout(240)
def test_a_hundred_runs_without_growth(run, engine):
    def zygote_pid() -> int:
        kids = [pid for pid, (ppid, _) in _procs().items() if ppid == engine._proc.pid]
        return kids[0] if kids else engine._proc.pid

    engine.wait_ready()
    tree_before = len(descendants(engine._proc.pid))
    rss_before = _rss_kb(zygote_pid())
    for i in range(100):
        result, _ = run(f"print({i})\n")
        assert result.outcome == "ok" and result.stdout.strip() == str(i)
    engine.wait_ready()
    time.sleep(0.5)
    engine.wait_ready()
    assert len(descendants(engine._proc.pid)) <= tree_before
    assert _rss_kb(zygote_pid()) - rss_before < 64 * 1024, "the zygote grew by more than 64 MiB"


@pytest.mark.long
@pytest.mark.timeout(120)
def test_two_runs_at_once_on_two_engines(run, engine, tmp_path):
    # Two runs at once are two engines (one worker each): a worker serves one request at
    # a time by design (docs/sandbox.md).
    second = Engine()
    try:
        second.start()
        results: dict[str, RunResult] = {}
        code = "import time\ntime.sleep(0.5)\nprint('done', {n})\n"

        def go(name: str, eng: Engine) -> None:
            src = tmp_path / f"{name}.py"
            src.write_text(code.format(n=repr(name)))
            results[name] = eng.submit(RunRequest(kind="run", file=str(src), limits=Limits(timeout_s=20)))

        threads = [threading.Thread(target=go, args=("a", engine)), threading.Thread(target=go, args=("b", second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert results["a"].outcome == "ok" and "done a" in results["a"].stdout
        assert results["b"].outcome == "ok" and "done b" in results["b"].stdout
    finally:
        second.close()
