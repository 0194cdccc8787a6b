"""Import a module on a thread while this process waits for something else.

A ``check`` from the shell spends a twentieth of a second importing rich to print its
verdict, and about as long waiting for the sandbox with the CPU free. Importing rich on a
thread during that wait takes it off the learner's wait. The main thread's own ``import``
later waits for the thread's (Python's per-module import lock), so the module is never
half-loaded; an import that fails on the thread is simply tried again there and reports
its error as usual.

The rule that keeps it safe: the main thread imports the prefetched module itself before
any module that module imports (``from tutor.display import …`` before ``from rich…``).
Waiting for it then holds no import lock, so the two threads never wait on each other.
"""

from __future__ import annotations

import importlib
import sys
import threading


def prefetch(module: str) -> None:
    """Start importing ``module`` on a thread (nothing when it is already imported)."""
    if module in sys.modules:
        return
    # Not a daemon: the interpreter never exits in the middle of an import.
    threading.Thread(target=_import, args=(module,), name=f"prefetch {module}").start()


def _import(module: str) -> None:
    try:
        importlib.import_module(module)
    except Exception:  # noqa: BLE001 - the main thread's own import raises it where it matters
        pass
