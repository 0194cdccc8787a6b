"""tutor/prefetch.py: a module imported on a thread is whole when the main thread uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys, threading
from tutor.prefetch import prefetch
assert "tutor.display" not in sys.modules
prefetch("tutor.display")
from tutor.display import console, print_result   # waits for the thread's import
from rich.markup import escape
print(callable(console), callable(print_result), escape("[x]"), threading.active_count())
prefetch("tutor.display")   # already imported: no thread
print(threading.active_count() <= 2)
"""


def test_the_prefetched_module_is_whole_and_a_second_prefetch_starts_nothing() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.split("\n")[:2]
    assert first.split()[:3] == ["True", "True", "\\[x]"]
    assert second == "True"


def test_a_module_that_fails_on_the_thread_raises_in_the_main_thread() -> None:
    code = ("from tutor.prefetch import prefetch\nprefetch('tutor.no_such_module')\n"
            "try:\n    import tutor.no_such_module\nexcept ModuleNotFoundError as exc:\n    print('raised', exc.name)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "raised tutor.no_such_module"
    assert "Traceback" not in proc.stderr
