"""Session recording (tutor/record.py): the format, the engine hook, the caps, and the reader.

The engine tests use a scripted stand-in for the sandbox worker (no torch, milliseconds);
tests/test_replay.py records real runs.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from sandbox.protocol import RunRequest, RunResult
from tutor.engine import Engine
from tutor.record import (ARTIFACTS_CAP_BYTES, EVENTS_CAP_BYTES, SESSION_FORMAT, Replay, SessionError,
                          SessionRecorder, find_session, list_sessions, read_session, record_result,
                          records_for)

FAKE_WORKER = '''
import json, sys
from sandbox import protocol

def emit(event):
    sys.stdout.buffer.write(protocol.encode(event))
    sys.stdout.buffer.flush()

emit({"type": "hello", "protocol": protocol.PROTOCOL_VERSION, "python": "3.x", "torch": "fake",
      "pid": 1, "isolation": {"level": "basic", "off": ["network"], "layers": {}}})
for line in sys.stdin:
    req = json.loads(line)
    if req.get("type") != "request":
        continue
    seed = req["seed"]
    emit({"type": "started", "run_id": req["run_id"], "pid": 2})
    if seed == 3:                      # the worker dies mid-run
        emit({"type": "stdout", "text": "about to die\\n", "truncated": False})
        sys.exit(1)
    if seed == 1:                      # a flood of output, past the recorder's cap
        for i in range(400):
            emit({"type": "stdout", "text": f"{i:04d} " + "x" * 1000 + "\\n", "truncated": False})
    else:
        emit({"type": "stdout", "text": "hello from the learner\\n", "truncated": False})
    emit({"type": "metric", "name": "loss", "value": 0.5, "step": 1})
    pad = "p" * (5 * 1024 * 1024) if seed == 2 else ""   # seed 2: a visual too big to keep
    emit({"type": "artifact", "kind": "tensor", "title": "z",
          "data": {"shape": [3], "dtype": "float32", "values": [1.0, 2.0, 3.0], "pad": pad}})
    emit({"type": "check", "name": "values match", "status": "pass", "message": "well done"})
    emit({"type": "final", "status": "pass", "outcome": "ok", "detail": "", "duration_ms": 12.5,
          "isolation": {"level": "basic", "off": ["network"], "layers": {}}})
'''


@pytest.fixture
def fake_python(tmp_path: Path) -> str:
    """An "interpreter" whose ``-m sandbox.runtime.worker`` is the scripted worker above."""
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    wrapper = tmp_path / "fakepython"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return str(wrapper)


@pytest.fixture
def learner_file(tmp_path: Path) -> Path:
    path = tmp_path / "ws" / "1.3" / "standardize.py"
    path.parent.mkdir(parents=True)
    path.write_text("def standardize(x, dim):\n    return x\n")
    return path


def submit(engine: Engine, file: Path, seed: int = 0, kind: str = "check") -> RunResult:
    return engine.submit(RunRequest(kind=kind, file=str(file), seed=seed, exercise="1.3/standardize"))


def test_every_submit_is_recorded_with_header_code_device_isolation_events_and_verdict(
        tmp_path: Path, fake_python: str, learner_file: Path) -> None:
    recorder = SessionRecorder(tmp_path / "sessions", argv=["check", "1.3/standardize"], device="cpu")
    engine = Engine(python=fake_python, recorder=recorder)
    seen: list[str] = []
    try:
        result = engine.submit(RunRequest(kind="check", file=str(learner_file), seed=0, exercise="1.3/standardize"),
                               on_event=lambda e: seen.append(e["type"]))
        learner_file.write_text("# edited after the first check\n")
        submit(engine, learner_file, kind="run")
    finally:
        engine.close()
        recorder.close()
    assert result.status == "pass"
    assert seen[-1] == "final" and "artifact" in seen          # the caller still sees every event
    lines = recorder.path.read_text().splitlines()
    assert recorder.path.parent == tmp_path / "sessions" and recorder.path.name.endswith(".jsonl")
    header = json.loads(lines[0])
    assert header["type"] == "session" and header["format"] == SESSION_FORMAT
    assert header["argv"] == ["check", "1.3/standardize"] and header["pid"] == os.getpid()
    first, second = (json.loads(line) for line in lines[1:])
    assert first["kind"] == "check" and second["kind"] == "run"
    assert first["lesson"] == "1.3" and first["exercise"] == "1.3/standardize"
    assert first["code"] == "def standardize(x, dim):\n    return x\n"
    assert second["code"] == "# edited after the first check\n"     # a copy per attempt
    assert first["device"] == "cpu" and first["worker"]["torch"] == "fake"
    assert first["isolation"] == {"level": "basic", "off": ["network"]}
    assert first["status"] == "pass"
    assert first["result"]["checks"] == [{"name": "values match", "status": "pass", "message": "well done"}]
    assert [e["type"] for e in first["events"]] == ["started", "stdout", "metric", "artifact", "check", "final"]
    assert first["artifacts"][0]["data"]["values"] == [1.0, 2.0, 3.0]
    assert first["seq"] == 1 and second["seq"] == 2


def test_a_recorded_run_replays_to_the_same_result(tmp_path: Path, fake_python: str, learner_file: Path) -> None:
    recorder = SessionRecorder(tmp_path / "sessions")
    engine = Engine(python=fake_python, recorder=recorder)
    try:
        live = submit(engine, learner_file)
    finally:
        engine.close()
    session = read_session(recorder.path)
    replayed = record_result(session.records[0])
    assert replayed.to_json("check") == live.to_json("check") | {"isolation": {"level": "basic", "off": ["network"]}}


def test_output_past_the_cap_is_dropped_and_counted_but_the_verdict_is_kept(
        tmp_path: Path, fake_python: str, learner_file: Path) -> None:
    recorder = SessionRecorder(tmp_path / "sessions")
    engine = Engine(python=fake_python, recorder=recorder)
    try:
        submit(engine, learner_file, seed=1)
    finally:
        engine.close()
    rec = read_session(recorder.path).records[0]
    kept = sum(len(json.dumps(e)) for e in rec["events"])
    assert kept <= EVENTS_CAP_BYTES + 4096
    assert rec["events_dropped"] > 100 and rec["events_dropped_bytes"] > 100_000
    assert [e["type"] for e in rec["events"]][-2:] == ["check", "final"]
    assert rec["status"] == "pass" and rec["result"]["checks"][0]["status"] == "pass"


def test_an_artifact_too_big_to_keep_becomes_a_placeholder(tmp_path: Path, fake_python: str,
                                                            learner_file: Path) -> None:
    recorder = SessionRecorder(tmp_path / "sessions")
    engine = Engine(python=fake_python, recorder=recorder)
    try:
        submit(engine, learner_file, seed=2)
    finally:
        engine.close()
    assert recorder.path.stat().st_size < ARTIFACTS_CAP_BYTES
    rec = read_session(recorder.path).records[0]
    assert rec["artifacts_omitted"] == 1
    assert rec["artifacts"][0]["data"] is None and "cap" in rec["artifacts"][0]["omitted"]
    assert "not kept" in record_result(rec).artifacts[0]["title"]


def test_a_run_whose_worker_dies_is_still_recorded(tmp_path: Path, fake_python: str, learner_file: Path) -> None:
    recorder = SessionRecorder(tmp_path / "sessions")
    engine = Engine(python=fake_python, recorder=recorder)
    try:
        result = submit(engine, learner_file, seed=3)
    finally:
        engine.close()
    assert result.status == "error"
    rec = read_session(recorder.path).records[0]
    assert rec["status"] == "error" and "stopped unexpectedly" in rec["result"]["error"]
    assert record_result(rec).stdout == "about to die\n"


def test_no_session_file_until_something_runs(tmp_path: Path) -> None:
    recorder = SessionRecorder(tmp_path / "sessions")
    recorder.close()
    assert not (tmp_path / "sessions").exists()


def test_a_recording_failure_never_fails_the_run(tmp_path: Path, fake_python: str, learner_file: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the sessions folder should be")
    recorder = SessionRecorder(blocker / "sessions")
    engine = Engine(python=fake_python, recorder=recorder)
    try:
        result = submit(engine, learner_file)
    finally:
        engine.close()
    assert result.status == "pass"
    assert recorder.error and "could not record" in recorder.error


def test_two_recorders_in_one_second_never_share_a_file(tmp_path: Path) -> None:
    a, b = SessionRecorder(tmp_path), SessionRecorder(tmp_path)
    assert a.id == b.id    # same second, same pid: the file name must still be unique
    record = {"type": "run", "kind": "run", "status": "pass", "time": "t", "result": {}, "events": [], "artifacts": []}
    a.write(record)
    b.write(record)
    assert a.path != b.path and a.path.exists() and b.path.exists()
    assert len(read_session(a.path).records) == len(read_session(b.path).records) == 1


# --- reading ---------------------------------------------------------------------------------

HEADER = {"type": "session", "format": 1, "id": "s", "started": "2026-01-01T10:00:00+0000"}


def run_record(status: str = "pass", lesson: str = "1.3", exercise: str = "1.3/standardize", **extra: object) -> dict:
    return {"type": "run", "kind": "check", "time": "2026-01-01T10:00:01+0000", "lesson": lesson,
            "exercise": exercise, "code": "x = 1\n", "device": "cpu", "status": status,
            "result": {"status": status, "outcome": "ok", "checks": [{"name": "c", "status": status, "message": "m"}]},
            "events": [{"type": "stdout", "text": "hi\n"}], "artifacts": [], **extra}


def write_session(path: Path, *records: dict, tail: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in (HEADER, *records)) + tail)
    return path


def test_a_cut_off_last_line_is_reported_and_every_complete_record_kept(tmp_path: Path) -> None:
    full = json.dumps(run_record())
    path = write_session(tmp_path / "s.jsonl", run_record(), run_record("fail"), tail=full[: len(full) // 2])
    session = read_session(path)
    assert [r["status"] for r in session.records] == ["pass", "fail"]
    assert session.torn
    assert session.problems == ["line 4: cut off (the tutor stopped while writing it); skipped"]


def test_bad_lines_in_the_middle_are_skipped_and_named(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    write_session(path, run_record())
    with path.open("a") as fh:
        fh.write("{not json\n")
        fh.write(json.dumps(run_record(status="maybe")) + "\n")
        fh.write(json.dumps({"type": "note-from-the-future", "x": 1}) + "\n")   # unknown types are ignored
        fh.write(json.dumps(run_record("fail")) + "\n")
    session = read_session(path)
    assert [r["status"] for r in session.records] == ["pass", "fail"]
    assert session.problems[0] == "line 3: not valid JSON; skipped"
    assert session.problems[1].startswith("line 4: status must be one of")
    assert not session.torn


@pytest.mark.parametrize("content, reason", [
    ("", "empty file"),
    ('{"type": "run"}\n', "no session header"),
    ("garbage", "no session header"),
    ('{"type": "session"}\n', "no format number"),
])
def test_files_without_a_usable_header_are_refused(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(content)
    with pytest.raises(SessionError, match=reason):
        read_session(path)


def test_listing_moves_a_corrupt_session_aside_and_says_where(tmp_path: Path) -> None:
    good = write_session(tmp_path / "20260101-100000-1.jsonl", run_record())
    bad = tmp_path / "20260101-110000-2.jsonl"
    bad.write_bytes(b"\x00\x01garbage\n")
    listing = list_sessions(tmp_path)
    assert [s.path for s in listing.sessions] == [good]
    assert not bad.exists()
    moved = list(tmp_path.glob("20260101-110000-2.jsonl.broken-*"))
    assert len(moved) == 1 and moved[0].read_bytes() == b"\x00\x01garbage\n"
    assert len(listing.notices) == 1 and str(moved[0]) in listing.notices[0]


def test_a_session_from_a_newer_tutor_is_moved_aside_and_reported(tmp_path: Path) -> None:
    future = tmp_path / "20260101-100000-1.jsonl"
    content = json.dumps({**HEADER, "format": SESSION_FORMAT + 1}) + "\n"
    future.write_text(content)
    listing = list_sessions(tmp_path)
    assert listing.sessions == [] and not future.exists()
    (moved,) = tmp_path.glob("20260101-100000-1.jsonl.broken-*")
    assert moved.read_text() == content
    assert "newer pytorch-tutor" in listing.notices[0] and str(moved) in listing.notices[0]


def test_find_session_by_id_prefix_and_path(tmp_path: Path) -> None:
    a = write_session(tmp_path / "20260101-100000-1.jsonl", run_record())
    write_session(tmp_path / "20260102-100000-1.jsonl", run_record())
    assert find_session(tmp_path, "20260101-100000-1").path == a
    assert find_session(tmp_path, "20260101").path == a
    assert find_session(tmp_path, str(a)).path == a
    with pytest.raises(LookupError, match="matches 2 sessions"):
        find_session(tmp_path, "2026")
    with pytest.raises(LookupError, match="no recorded session"):
        find_session(tmp_path, "1999")


def test_records_for_a_lesson_or_an_exercise(tmp_path: Path) -> None:
    path = write_session(tmp_path / "s.jsonl", run_record(), run_record(exercise="1.3/other"),
                         run_record(lesson="2.1", exercise="2.1/x"))
    session = read_session(path)
    assert len(records_for([session], "1.3")) == 2
    assert len(records_for([session], "1.3/other")) == 1
    assert records_for([session], "4.4") == []
    replay = Replay.of_session(session)
    assert [a.label for a in replay.attempts] == ["check 1.3/standardize", "check 1.3/other", "check 2.1/x"]
