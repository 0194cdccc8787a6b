"""Nothing is ever lost: writers killed with SIGKILL at random moments leave files that load.

A subprocess loops recording progress (atomic rename) and session records (one appended
line each); it is killed with ``kill -9`` at random moments, many times over. After every
kill both files must load: progress with no notice and never less than before, and every
session with all its complete records (at most a cut-off last line).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tutor.progress import Progress
from tutor.record import read_session, session_files

ROOT = Path(__file__).resolve().parents[1]
KILLS = 50

WRITER = r'''
import sys
from pathlib import Path
from tutor.progress import Progress
from tutor.record import SessionRecorder

data = Path(sys.argv[1])
recorder = SessionRecorder(data / "sessions", argv=["durability"])
code = "x = 1\n" * 20000            # ~120 KB per record: kills land mid-write too
i = 0
while True:
    i += 1
    if i == 2:
        print("ready", flush=True)     # one full round written
    progress = Progress.load(data / "progress.json")
    progress.record_attempt(f"1.3/ex{i % 7}", passed=i % 3 == 0)
    if i % 4 == 0:
        progress.record_hint(f"1.3/ex{i % 7}", i % 3 + 1)
    recorder.write({"type": "run", "seq": i, "kind": "check", "time": "t", "lesson": "1.3",
                    "exercise": f"1.3/ex{i % 7}", "code": code, "device": "cpu", "status": "pass",
                    "result": {"status": "pass", "checks": []}, "events": [], "artifacts": []})
'''


def total_attempts(progress: Progress) -> int:
    return sum(int(item.get("attempts", 0)) for item in progress.data["exercises"].values())


@pytest.mark.long
def test_files_always_load_after_sigkill_at_random_moments(tmp_path: Path) -> None:
    rng = random.Random(1234)
    data = tmp_path / "data"
    data.mkdir()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    previous_attempts = 0
    records_seen = 0
    waited = 0
    for n in range(KILLS):
        proc = subprocess.Popen([sys.executable, str(script), str(data)], stdout=subprocess.PIPE, env=env)
        try:
            if n % 5:   # usually let it write a round first; sometimes kill it while it is starting
                assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
                waited += 1
            time.sleep(rng.uniform(0, 0.08))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            if proc.stdout:
                proc.stdout.close()

        progress = Progress.load(data / "progress.json")
        assert progress.notice is None, f"kill {n}: {progress.notice}"
        attempts = total_attempts(progress)
        assert attempts >= previous_attempts, f"kill {n}: progress went back"
        previous_attempts = attempts
        assert not list(data.glob("*.broken-*")), f"kill {n}: a file was set aside"

        records_seen = 0
        for path in session_files(data / "sessions"):
            session = read_session(path)          # raises if the header were broken
            assert session.header["argv"] == ["durability"]
            cut = [p for p in session.problems if "cut off" in p]
            assert session.problems == cut and len(cut) <= 1, f"kill {n}: {path.name}: {session.problems}"
            assert [r["seq"] for r in session.records] == list(range(1, len(session.records) + 1))
            records_seen += len(session.records)
    # The kills really landed while writing was going on: every writer that got going wrote.
    assert previous_attempts >= waited and records_seen >= waited
    # A later run appends nothing to old sessions, and progress keeps accumulating from here.
    final = json.loads((data / "progress.json").read_text())
    assert final["version"] == 1
