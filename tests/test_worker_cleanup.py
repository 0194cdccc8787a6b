"""A finished run's directories are removed off the path of the next check (issue 10: back-to-back
checks as fast as warm ones).

Removing a run's small tree costs tens of milliseconds on a busy disk, so the worker queues it
(``sandbox.runtime.cleanup.DeferredRemoval``), removes queued trees one at a time only while no
request waits, empties the queue before it answers a ping ("ready") and when it exits.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from sandbox.protocol import RunRequest
from sandbox.runtime.cleanup import DeferredRemoval
from sandbox.runtime.worker import _Requests
from tutor.engine import Engine


def make_tree(root: Path, name: str) -> Path:
    tree = root / name
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "f.txt").write_text("x")
    (tree / "locked").mkdir()
    (tree / "locked" / "g.txt").write_text("y")
    (tree / "locked").chmod(0o500)  # learner code may leave a folder it cannot write
    return tree


def private_dirs() -> list[str]:
    import glob

    from sandbox.runtime import runenv

    return glob.glob(os.path.join(runenv.short_tmp_base(), "pytorch-tutor-????????"))


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return ""


def wait_until(condition, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_queued_trees_are_removed_oldest_first_one_per_call(tmp_path: Path) -> None:
    trash = DeferredRemoval()
    first, second = make_tree(tmp_path, "first"), make_tree(tmp_path, "second")
    trash.add(str(first))
    trash.add(str(second))
    assert first.exists() and second.exists()  # queued, not removed
    assert trash.remove_one() is True
    assert not first.exists() and second.exists()
    assert trash.remove_one() is True
    assert not second.exists()
    assert trash.remove_one() is False
    assert len(trash) == 0


def test_the_queue_is_bounded_so_a_learner_who_never_pauses_cannot_fill_the_disk(tmp_path: Path) -> None:
    trash = DeferredRemoval(limit=2)
    trees = [make_tree(tmp_path, f"t{i}") for i in range(4)]
    for tree in trees:
        trash.add(str(tree))
    assert [tree.exists() for tree in trees] == [False, False, True, True]
    assert len(trash) == 2


@pytest.fixture
def request_pipe():
    """A worker's request reader on a pipe, and the pipe's write end (the client's side)."""
    r, w = os.pipe()
    try:
        yield _Requests(r), w
    finally:
        os.close(r)
        os.close(w)


def test_chores_wait_for_a_request_sent_right_after_an_answer(request_pipe) -> None:
    requests, w = request_pipe
    done: list[int] = []

    def chore() -> bool:
        done.append(1)
        if len(done) == 3:  # the last piece of work: then a request comes
            os.write(w, b'{"type": "run"}\n')
            return False
        return True

    os.write(w, b'{"type": "ping"}\n')
    assert requests.next(None, chore=chore) == {"type": "ping"}
    assert done == []  # the waiting request went first
    # Nothing waits now: after the grace period the chores run, one per look for a message.
    assert requests.next(None, chore=chore) == {"type": "run"}
    assert len(done) == 3


def test_chores_stop_as_soon_as_a_request_arrives(request_pipe) -> None:
    requests, w = request_pipe
    done: list[int] = []

    def chore() -> bool:
        done.append(1)
        if len(done) == 2:
            os.write(w, b'{"type": "ping"}\n')  # a request arrives during the second chore
        return True  # there would always be more

    assert requests.next(None, chore=chore) == {"type": "ping"}
    assert len(done) == 2


@pytest.mark.long
@pytest.mark.timeout(180)
def test_a_real_worker_removes_its_run_directories_before_ready_and_after_exit(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    src = tmp_path / "write.py"
    marker = f"# run {uuid.uuid4().hex}"  # this test's runs, among other tests' running beside it
    src.write_text(f"{marker}\nimport os\nos.makedirs('deep/er', exist_ok=True)\nopen('deep/er/f.txt', 'w').write('x')\nprint('ok')\n")
    before = set(private_dirs())
    eng = Engine(runs_dir=runs)
    try:
        for _ in range(3):  # back to back: the worker queues each run's directory
            result = eng.submit(RunRequest(kind="run", file=str(src)))
            assert result.outcome == "ok" and result.stdout.strip() == "ok", (result.outcome, result.error)
        assert eng.wait_ready()  # "ready": the queue is empty
        assert list(runs.iterdir()) == []
        for _ in range(10):  # more than the queue holds: the oldest go at once, the rest at exit
            result = eng.submit(RunRequest(kind="run", file=str(src)))
            assert result.outcome == "ok"
    finally:
        eng.close()  # the worker exits with runs queued: it removes them before it goes
    assert list(runs.iterdir()) == []
    left = [p for p in private_dirs() if p not in before and marker in _read(os.path.join(p, "source.py"))]
    assert not left, f"a run's private folder outlived the worker: {left}"
