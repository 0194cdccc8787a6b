"""Containment (issue 10, §1): what learner code must not reach, one class of attack at a time.

Every test here is an attack a determined learner could write. They use only the engine's
public API, so they run unchanged against an older sandbox; each failed there.

They run on the suite's shared warm engine, which is started from a hostile environment
(tests/hostile.py): a secret token, variables that point at the user's sockets, and a
thread-count variable that once pushed the worker into a weaker mode.
"""

from __future__ import annotations

import ctypes
import os
import socket
import stat
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path

import pytest

from sandbox.protocol import Limits, RunRequest, RunResult
from tutor.engine import Engine

from hostile import SECRET, SOCKET_VARS

pytestmark = [pytest.mark.slow]


class Runner:
    def __init__(self, engine: Engine, tmp: Path) -> None:
        self.engine, self.tmp, self.count = engine, tmp, 0

    def __call__(self, code: str, *, workdir: bool = True, timeout: float = 20.0, **limits: object) -> RunResult:
        self.count += 1
        src = self.tmp / f"case{self.count}.py"
        src.write_text(textwrap.dedent(code), encoding="utf-8")
        work = ""
        if workdir:
            (self.tmp / f"work{self.count}").mkdir()
            work = str(self.tmp / f"work{self.count}")
        req = RunRequest(kind="run", file=str(src), workdir=work, seed=1,
                         limits=Limits.from_dict(dict(limits, timeout_s=timeout)))
        return self.engine.submit(req)


@pytest.fixture
def run(engine: Engine, tmp_path: Path) -> Runner:
    return Runner(engine, tmp_path)


def lines(result: RunResult) -> list[str]:
    assert result.outcome == "ok", (result.outcome, result.detail, result.stderr[-1500:], result.error)
    return result.stdout.strip().splitlines()


# --- 1.1 Unix sockets outside the run ---------------------------------------------------------


@pytest.mark.timeout(90)
def test_socket_files_of_the_user_are_out_of_reach(run):
    """A server listening where tmux, ssh-agent or D-Bus would (a socket file in /tmp, /run)."""
    servers = []
    paths = []
    for base in ("/tmp", "/run", "/dev/shm"):
        if not os.access(base, os.W_OK):
            continue
        folder = tempfile.mkdtemp(prefix="pt-sock-", dir=base)
        path = os.path.join(folder, "default")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        servers.append((srv, folder))
        paths.append(path)
    assert paths
    try:
        result = run(f"""
            import socket
            for path in {paths!r}:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(path)
                    print("CONNECTED", path)
                except OSError as exc:
                    print("refused", type(exc).__name__)
        """)
        out = lines(result)
        assert len(out) == len(paths) and not [line for line in out if line.startswith("CONNECTED")], out
    finally:
        for srv, folder in servers:
            srv.close()
            for name in os.listdir(folder):
                os.unlink(os.path.join(folder, name))
            os.rmdir(folder)


@pytest.mark.timeout(60)
def test_abstract_sockets_outside_the_run_are_out_of_reach(run):
    name = b"\0pt-abstract-" + uuid.uuid4().hex.encode()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(name)
    srv.listen(1)
    try:
        out = lines(run(f"""
            import socket
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect({name!r}); print("CONNECTED")
            except OSError as exc:
                print("refused")
        """))
        assert out == ["refused"]
    finally:
        srv.close()


@pytest.mark.timeout(60)
def test_variables_that_point_at_sockets_never_reach_learner_code(run):
    out = lines(run(f"""
        import os
        names = {sorted(SOCKET_VARS)!r}
        print(sorted(n for n in names if n in os.environ))
        raw = open("/proc/self/environ", "rb").read().split(b"\\0")
        print(sorted(n for n in names if any(item.startswith(n.encode() + b"=") for item in raw)))
    """))
    assert out == ["[]", "[]"]


# --- 1.2 The environment ------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_secret_in_the_tutors_environment_is_readable_nowhere(run):
    """Not in os.environ, not in /proc/self/environ, not in any process's environ the run can read."""
    out = lines(run(f"""
        import os
        secret = {SECRET!r}.encode()
        found = []
        if any(secret in v.encode() for v in os.environ.values()):
            found.append("os.environ")
        for pid in os.listdir("/proc"):
            if not pid.isdigit() and pid not in ("self", "thread-self"):
                continue
            try:
                with open(f"/proc/{{pid}}/environ", "rb") as fh:
                    if secret in fh.read():
                        found.append(pid)
            except OSError:
                pass
        print(found)
    """))
    assert out == ["[]"]


@pytest.mark.timeout(60)
def test_the_parent_processes_environment_is_not_readable(run):
    """The tutor (this test process) holds the secret; the run must not read its environ."""
    os.environ["PT_PARENT_SECRET"] = SECRET
    try:
        out = lines(run(f"""
            try:
                data = open("/proc/{os.getpid()}/environ", "rb").read()
                print("READ" if {SECRET!r}.encode() in data else "clean")
            except OSError as exc:
                print("refused")
        """))
    finally:
        del os.environ["PT_PARENT_SECRET"]
    assert out[0] in ("refused", "clean")


# --- 1.3 Nothing outlives a run ---------------------------------------------------------------


@pytest.mark.timeout(60)
def test_files_in_tmp_and_dev_shm_do_not_outlive_the_run(run):
    marker = "pt-leftover-" + uuid.uuid4().hex
    paths = [f"/tmp/{marker}", f"/dev/shm/{marker}", f"/var/tmp/{marker}"]
    try:
        result = run(f"""
            for path in {paths!r}:
                try:
                    open(path, "w").write("left behind")
                    print("wrote", path)
                except OSError as exc:
                    print("refused", path)
        """)
        lines(result)
        assert [p for p in paths if os.path.exists(p)] == []
    finally:
        for p in paths:
            if os.path.exists(p):
                os.unlink(p)


def _sysv_keys(kind: str) -> set[int]:
    try:
        with open(f"/proc/sysvipc/{kind}", encoding="ascii") as fh:
            next(fh)
            return {int(line.split()[0]) for line in fh if line.strip()}
    except OSError:
        return set()


@pytest.mark.timeout(60)
def test_sysv_shared_memory_semaphores_and_queues_do_not_outlive_the_run(run):
    if not os.path.exists("/proc/sysvipc/shm"):
        pytest.skip("no SysV IPC here")
    key = 0x5054_0000 + (os.getpid() & 0xFFFF)
    out = lines(run(f"""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        key = {key}
        print(libc.shmget(key, 4096, 0o1600) >= 0, libc.semget(key, 1, 0o1600) >= 0, libc.msgget(key, 0o1600) >= 0)
    """))
    assert out == ["True True True"]
    leftovers = {kind: key in _sysv_keys(kind) for kind in ("shm", "sem", "msg")}
    libc = ctypes.CDLL(None, use_errno=True)
    for kind, left in leftovers.items():  # clean up after an older sandbox
        if left:
            ident = {"shm": libc.shmget, "sem": libc.semget, "msg": libc.msgget}[kind](key, 0, 0)
            {"shm": lambda i: libc.shmctl(i, 0, None), "sem": lambda i: libc.semctl(i, 0, 0),
             "msg": lambda i: libc.msgctl(i, 0, None)}[kind](ident)
    assert leftovers == {"shm": False, "sem": False, "msg": False}


DEEP_TREE = """
    import os
    fd = os.open(".", os.O_RDONLY)
    for i in range(3000):
        os.mkdir("d", dir_fd=fd)
        nfd = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    print("deep")
"""


@pytest.mark.timeout(180)
def test_a_deep_tree_never_breaks_cleanup_nor_the_next_answer(run):
    """A tree deeper than shutil.rmtree can recurse: its cleanup failed after the final event,
    and the worker's second final was taken as the answer to the next request."""
    first = run(DEEP_TREE, workdir=False)
    assert first.outcome == "ok" and first.stdout.strip() == "deep", (first.outcome, first.error)
    second = run("print('second', 6 * 7)\n")
    assert second.status == "pass" and second.stdout.strip() == "second 42", (second.status, second.error)
    third = run("print('third')\n")
    assert third.status == "pass" and third.stdout.strip() == "third", (third.status, third.error)


@pytest.mark.long
@pytest.mark.timeout(180)
def test_a_deep_tree_in_the_engines_run_directory_is_removed(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    src = tmp_path / "deep.py"
    src.write_text(textwrap.dedent(DEEP_TREE))
    eng = Engine(runs_dir=runs)
    try:
        result = eng.submit(RunRequest(kind="run", file=str(src)))
        assert result.outcome == "ok" and result.stdout.strip() == "deep"
        assert eng.wait_ready()  # the worker cleans up after sending the verdict
        assert list(runs.iterdir()) == []
    finally:
        eng.close()


# --- 1.4 Metadata writes -------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_metadata_of_files_outside_the_run_cannot_be_changed(run, tmp_path):
    """The learner's own exercise file is readable but not theirs to chmod, touch or tag."""
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    os.utime(target, (1_000_000_000, 1_000_000_000))
    before = os.stat(target)
    out = lines(run(f"""
        import os
        path = {str(target)!r}
        for name, call in [("chmod", lambda: os.chmod(path, 0)), ("utime", lambda: os.utime(path, (0, 0))),
                           ("chown", lambda: os.chown(path, os.getuid(), os.getgid())),
                           ("xattr", lambda: os.setxattr(path, "user.pwned", b"1"))]:
            try:
                call()
                print(name, "CHANGED")
            except OSError as exc:
                print(name, "refused")
    """))
    after = os.stat(target)
    assert not [line for line in out if "CHANGED" in line], out
    assert stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode)
    assert after.st_mtime == before.st_mtime
    try:
        assert "user.pwned" not in os.listxattr(target)
    except OSError:
        pass


# --- 1.5 Memory -------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_shared_mappings_count_against_the_memory_limit(run):
    """RLIMIT_DATA ignores MAP_SHARED: 4 GiB of shared memory under a 256 MiB limit."""
    out = lines(run("""
        import mmap
        try:
            m = mmap.mmap(-1, 4 << 30, flags=mmap.MAP_SHARED)
            print("MAPPED")
        except OSError as exc:
            print("refused")
    """, memory_mb=256))
    assert out == ["refused"]


@pytest.mark.timeout(60)
def test_the_memory_limit_cannot_be_raised_back(run):
    out = lines(run("""
        import resource
        for which in (resource.RLIMIT_DATA, resource.RLIMIT_AS):
            try:
                resource.setrlimit(which, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                print("RAISED")
            except (ValueError, OSError):
                print("refused")
    """, memory_mb=256))
    assert out == ["refused", "refused"]


# --- 1.6 No silent downgrade ----------------------------------------------------------------


def test_a_thread_count_variable_does_not_weaken_the_worker(engine):
    assert engine.hello.get("mode") == "warm", engine.hello.get("isolation", {}).get("layers", {}).get("fork_safety")


NEW_LAYERS = ("mount_namespace", "ipc_namespace", "filesystem_reads", "metadata_writes", "shared_memory_limit",
              "socket_scope", "scrubbed_env", "memory_limit", "capabilities")


@pytest.mark.timeout(60)
def test_every_layer_is_reported_with_why(run, engine):
    result = run("print('hi')\n")
    for report in (engine.isolation, result.isolation):
        layers = report["layers"]
        missing = [name for name in NEW_LAYERS if name not in layers]
        assert not missing, missing
        assert all(isinstance(v.get("on"), bool) and v.get("why") for v in layers.values())


@pytest.mark.timeout(60)
def test_the_report_says_what_the_run_actually_got(run):
    """An exercise without a memory limit: the run's report says so (it used to say "on")."""
    result = run("print('hi')\n", memory_mb=0)
    assert lines(result) == ["hi"]
    assert result.isolation["layers"]["memory_limit"]["on"] is False
    assert "memory_limit" in result.isolation["off"]


@pytest.mark.long
@pytest.mark.timeout(240)
def test_the_cold_runner_gets_the_same_confinement(tmp_path):
    marker = tmp_path / "outside" / "secret.txt"
    marker.parent.mkdir()
    marker.write_text("nope")
    src = tmp_path / "exercise" / "probe.py"  # its folder is readable, "outside" is not
    src.parent.mkdir()
    src.write_text(textwrap.dedent(f"""
        import os
        try:
            open({str(marker)!r}).read(); print("READ")
        except OSError:
            print("refused")
        try:
            open({str(marker.parent / "new.txt")!r}, "w").write("x"); print("WROTE")
        except OSError:
            print("refused")
    """))
    eng = Engine(worker_args=["--mode", "cold"])
    try:
        result = eng.submit(RunRequest(kind="run", file=str(src), limits=Limits(timeout_s=120)))
    finally:
        eng.close()
    assert lines(result) == ["refused", "refused"]
    layers = result.isolation["layers"]
    for name in ("mount_namespace", "filesystem_writes", "filesystem_reads", "metadata_writes", "memory_limit"):
        assert layers[name]["on"], (name, layers[name])  # on this machine (Linux, Landlock, namespaces)
    assert not (marker.parent / "new.txt").exists()


# --- 1.7 One answer per request ----------------------------------------------------------


STALE_WORKER = '''
import json, sys
from sandbox import protocol

def emit(event):
    sys.stdout.buffer.write(protocol.encode(event))
    sys.stdout.buffer.flush()

emit({"type": "hello", "protocol": protocol.PROTOCOL_VERSION, "pid": 1, "isolation": {}})
for line in sys.stdin:
    req = json.loads(line)
    if req.get("type") != "request":
        continue
    # A late final of some earlier request, and one with no id at all, before the real one.
    emit({"type": "final", "run_id": "earlier", "status": "pass", "outcome": "ok"})
    emit({"type": "final", "status": "pass", "outcome": "ok"})
    emit({"type": "stdout", "run_id": "earlier", "text": "not mine\\n"})
    emit({"type": "stdout", "run_id": req["run_id"], "text": "mine\\n"})
    emit({"type": "final", "run_id": req["run_id"], "status": "fail", "outcome": "exception"})
'''


def test_the_engine_takes_only_its_own_requests_final(tmp_path):
    script = tmp_path / "stale_worker.py"
    script.write_text(STALE_WORKER)
    wrapper = tmp_path / "fakepython"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}"\n')
    wrapper.chmod(0o755)
    src = tmp_path / "x.py"
    src.write_text("pass\n")
    eng = Engine(python=str(wrapper))
    try:
        result = eng.submit(RunRequest(kind="run", file=str(src)))
    finally:
        eng.close()
    assert (result.status, result.outcome, result.stdout) == ("fail", "exception", "mine\n")


def test_the_worker_sends_one_final_even_when_cleanup_fails():
    from sandbox.runtime.worker import Reply

    sent: list[dict] = []
    reply = Reply(sent.append, "abc")
    reply({"type": "stdout", "text": "x"})
    reply({"type": "final", "status": "fail"})
    reply({"type": "final", "status": "error", "error": "worker failure"})
    reply({"type": "stdout", "text": "late"})
    assert [e["type"] for e in sent] == ["stdout", "final"] and all(e["run_id"] == "abc" for e in sent)


@pytest.mark.long
@pytest.mark.timeout(300)
def test_exec_d_device_spares_get_the_same_confinement(tmp_path):
    """The CUDA path (exec'd single-use spares), with the device faked at its boundary."""
    from sandbox.runtime import gpu

    home = Path.home()
    canary = home / f".pytorch-tutor-canary-{uuid.uuid4().hex}"
    canary.write_text(SECRET)
    src = tmp_path / "exercise" / "probe.py"
    src.parent.mkdir()
    left = f"/tmp/pt-left-{uuid.uuid4().hex}"
    home_write = home / f".pytorch-tutor-write-{uuid.uuid4().hex}"
    src.write_text(textwrap.dedent(f"""
        import os
        for name, call in [("home", lambda: open({str(canary)!r}).read()), ("chmod", lambda: os.chmod(__file__, 0o600)),
                           ("home-write", lambda: open({str(home_write)!r}, "w").write("x")),
                           ("tmp-write", lambda: open({left!r}, "w").write("x"))]:
            try:
                call(); print(name, "ALLOWED")
            except OSError:
                print(name, "refused")
    """))
    mp = pytest.MonkeyPatch()
    mp.setenv(gpu.FAKE_ENV, "1")
    eng = Engine(device="cuda:0")
    try:
        result = eng.submit(RunRequest(kind="run", file=str(src), device="cuda:0", limits=Limits(timeout_s=120)))
    finally:
        eng.close()
        mp.undo()
        canary.unlink()
    # The private /tmp is the run's own scratch: writable, and gone with the run.
    assert lines(result) == ["home refused", "chmod refused", "home-write refused", "tmp-write ALLOWED"]
    assert not os.path.exists(left) and not home_write.exists()
    layers = result.isolation["layers"]
    for name in ("scrubbed_env", "network_isolation", "mount_namespace", "ipc_namespace", "filesystem_writes",
                 "filesystem_reads", "metadata_writes", "capabilities"):
        assert layers[name]["on"], (name, layers[name])
    assert not layers["memory_limit"]["on"] and "device" in layers["memory_limit"]["why"]


# --- 1.8 Reads -----------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_the_home_directory_is_not_readable(run):
    home = Path.home()
    canary = home / f".pytorch-tutor-canary-{uuid.uuid4().hex}"
    canary.write_text(SECRET)
    try:
        out = lines(run(f"""
            import os
            try:
                print("READ" if {SECRET!r} in open({str(canary)!r}).read() else "empty")
            except OSError:
                print("refused")
            try:
                os.listdir({str(home)!r}); print("LISTED")
            except OSError:
                print("refused")
        """))
    finally:
        canary.unlink()
    assert out == ["refused", "refused"]


@pytest.mark.timeout(90)
def test_what_a_lesson_needs_stays_readable(run):
    """Imports the zygote did not pre-load, the exercise's own helper module, the run dir."""
    helper = run.tmp / "helper_mod.py"
    helper.write_text("VALUE = 41\n")
    out = lines(run("""
        import json, sqlite3, email.mime.text
        import torch, torch.distributions, torch.nn.utils.prune
        import helper_mod
        open("out.txt", "w").write("ok")
        print(helper_mod.VALUE + 1, open("out.txt").read(), torch.distributions.Normal(0.0, 1.0).mean.item())
    """))
    assert out == ["42 ok 0.0"]


# --- 1.9 Bounded events ----------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_flood_of_metrics_and_visuals_is_capped_and_reported(run):
    result = run("""
        from sandbox import show
        for i in range(30000):
            show.metric("loss", float(i), step=i)
        for i in range(500):
            show.text(f"visual {i}")
        print("done")
    """, timeout=60)
    assert lines(result) == ["done"]
    assert len(result.metrics) <= 10000 and len(result.artifacts) <= 200
    assert result.dropped_events.get("metric", 0) == 30000 - len(result.metrics)
    assert result.dropped_events.get("artifact", 0) == 500 - len(result.artifacts)


HOSTILE_NUMBERS = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 0.0]
HOSTILE_ARTIFACTS = [
    ("tensor", {"shape": [3], "dtype": "float32", "values": HOSTILE_NUMBERS[:3]}),
    ("tensor", {"shape": [], "dtype": "float32", "values": []}),
    ("tensor", {"shape": [2, 2], "dtype": "float32", "values": [[1e308, -1e308], [float("nan"), 0]],
                "stats": {"min": -1e308, "max": 1e308, "mean": float("nan")}}),
    ("tensor", {"shape": [10**9], "dtype": "float32", "values": None, "corner": [[1e308] * 12], "corner_index": "[:12]"}),
    ("curve", {"series": [{"label": "l", "x": list(range(6)), "y": HOSTILE_NUMBERS}]}),
    ("curve", {"series": []}),
    ("curve", {"series": [{"label": "huge", "x": list(range(100000)), "y": [1e308] * 100000}]}),
    ("heatmap", {"values": [[float("nan"), 1e308], [-1e308, 0]], "shape": [2, 2]}),
    ("heatmap", {"values": [], "shape": [0, 0]}),
    ("image", {"images": [], "labels": [], "total": 0}),
    ("text", {"text": "x" * 10**6}),
    ("tensorboard", {"scalars": {"a": {"steps": [1, 2], "values": [float("nan"), 1e308]}}}),
    ("module", {}), ("graph", {}), ("profile", {}),
]


@pytest.mark.parametrize("kind,data", HOSTILE_ARTIFACTS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(HOSTILE_ARTIFACTS)])
def test_renderers_survive_nan_huge_and_empty_inputs(kind, data):
    from tutor.render import render_artifact

    render_artifact({"type": "artifact", "kind": kind, "title": "t", "data": data}, width=80)
