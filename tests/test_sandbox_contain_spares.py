"""Spares carry nothing of earlier requests (issue 10 §1, and the fork server that makes them).

A spare used to be forked by the zygote right after a request, while that request's job and
message dicts were still alive in the zygote: learner code could find them (paths, seeds, a
check's reference solution) with ``gc.get_objects()``. Spares now come from the fork server
(sandbox/runtime/forkserver.py), a copy of the zygote made before any request.
"""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest

from sandbox.protocol import Limits, RunRequest
from tutor.engine import Engine

pytestmark = [pytest.mark.slow]

SCAN = """
    import gc
    marker = {marker!r}
    found = 0
    for obj in gc.get_objects():
        if isinstance(obj, dict) and obj is not globals():  # this file's own `marker`
            try:
                if any(isinstance(v, str) and marker in v for v in obj.values()):
                    found += 1
            except Exception:
                pass
    print("FOUND", found)
"""


def _submit(engine: Engine, path: Path, code: str, **fields: object):
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    return engine.submit(RunRequest(kind="run", file=str(path), seed=1, limits=Limits(timeout_s=30), **fields))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("pause", [True, False], ids=["after-ready", "back-to-back"])
def test_a_run_finds_nothing_of_the_request_before_it(engine: Engine, tmp_path: Path, pause: bool) -> None:
    marker = "earlier-" + uuid.uuid4().hex
    first = _submit(engine, tmp_path / f"{marker}.py", "print('first')", exercise=marker)
    assert first.stdout.strip() == "first", (first.detail, first.stderr[-1500:])
    for _ in range(3):  # every spare that was waiting, and those forked after the first request
        if pause:
            engine.wait_ready()
        second = _submit(engine, tmp_path / "scan.py", SCAN.format(marker=marker))
        assert second.outcome == "ok", (second.detail, second.stderr[-1500:])
        assert second.stdout.strip() == "FOUND 0", second.stdout
