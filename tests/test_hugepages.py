"""sandbox/runtime/hugepages.py: the zygote's memory in 2 MiB pages, so forks are cheap.

No timing here (``pytorch-tutor bench`` reports the figures): these check that the collapse
reports what it did, never raises, and that copy-on-write still gives each process its own
memory after it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")

SCRIPT = textwrap.dedent("""
    import json, os, mmap
    from sandbox.runtime import hugepages
    # 64 MiB of private anonymous memory, written in 4 KiB pages, like a heap after imports.
    block = mmap.mmap(-1, 64 * 1024 * 1024, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for offset in range(0, len(block), 4096):
        block[offset] = 7
    report = hugepages.collapse()
    # Copy-on-write after the collapse: the child's writes stay its own, the parent's data too.
    pid = os.fork()
    if pid == 0:
        for offset in range(0, len(block), 1 << 20):
            block[offset] = 9
        os._exit(0 if block[0] == 9 else 3)
    _, status = os.waitpid(pid, 0)
    intact = all(block[offset] == 7 for offset in range(0, len(block), 4096))
    print(json.dumps({"report": report, "child_exit": os.waitstatus_to_exitcode(status), "intact": intact}))
""")


def test_collapse_reports_what_it_did_and_copy_on_write_still_holds() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    import json

    out = json.loads(proc.stdout)
    report = out["report"]
    assert set(report) == {"on", "why", "ms", "huge_mb"}
    assert out["child_exit"] == 0 and out["intact"] is True
    if report["on"]:
        assert report["huge_mb"] >= 32  # most of the 64 MiB block, whatever else the process has
        assert "2 MiB pages" in report["why"]
    else:
        assert "MADV_COLLAPSE" in report["why"] or "not available" in report["why"]


def test_the_worker_says_how_its_memory_is_paged(engine) -> None:
    if engine.hello.get("mode") != "warm":
        pytest.skip("no warm zygote on this machine")
    huge = engine.hello["warm"]["huge_pages"]
    assert set(huge) == {"on", "why", "ms", "huge_mb"}
    assert huge["why"]
