"""Refuse at once what cannot work, before any worker starts.

* A learner file with a syntax error: compiled here (compiling runs nothing) and reported
  with its line and a caret, as the sandbox would after seconds of start-up. Only when the
  worker runs this same Python version: another version may accept other syntax.
* ``--device cuda`` / ``mps`` where no such device can be: no ``/dev/nvidia*`` (or not a
  Mac), or the device probe for this interpreter found none (cached per interpreter in the
  data dir, as ``--device auto`` does: only the first time costs an ``import torch``).
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from sandbox.protocol import RunResult


def same_python(python: str | None) -> bool:
    if python is None:
        return True
    try:
        return os.path.realpath(python) == os.path.realpath(sys.executable) or os.path.samefile(python, sys.executable)
    except OSError:
        return False


def syntax_error(path: Path, python: str | None = None) -> RunResult | None:
    """A failed result describing ``path``'s syntax error, or None (no error, or unknowable)."""
    if not same_python(python):
        return None
    try:
        source = path.read_bytes()
    except OSError:
        return None  # the normal path reports unreadable files
    try:
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:  # IndentationError and TabError are SyntaxErrors too
        import traceback

        text = "".join(traceback.format_exception_only(type(exc), exc))
        result = RunResult(status="fail", outcome="exception", detail=f"{type(exc).__name__}: {exc.msg}",
                           stderr=text)
        return result
    except (ValueError, RecursionError, MemoryError):
        return None  # e.g. NUL bytes or absurd nesting: let the sandbox report it
    return None


def device_problem(device: str, python: str | None, data_dir: Path) -> str | None:
    """Why ``device`` cannot be used here, with what to do instead; None if it may work."""
    where = f" with {python}" if python else ""
    if device.startswith("cuda"):
        if not any(Path("/dev").glob("nvidia[0-9]*")):
            return (f"--device {device}: this machine has no NVIDIA GPU (no /dev/nvidia* devices); "
                    "use --device cpu (or auto), or run on a GPU machine")
        found = _devices(data_dir, python)
        if found is not None:
            if device == "cuda" and not any(d.startswith("cuda") for d in found):
                return (f"--device {device}: the worker's torch{where} sees no CUDA device (a CPU-only build?); "
                        "use --device cpu, or --python an interpreter with CUDA torch (`pytorch-tutor doctor` "
                        "shows what it found)")
            if device != "cuda" and device not in found:
                usable = ", ".join(d for d in found if d.startswith("cuda")) or "none"
                return f"--device {device}: no such GPU here (usable: {usable}; see `pytorch-tutor doctor`)"
    elif device == "mps":
        if not (sys.platform == "darwin" and platform.machine() == "arm64"):
            return "--device mps needs a Mac with Apple silicon; use --device cpu (or auto)"
        found = _devices(data_dir, python)
        if found is not None and "mps" not in found:
            return f"--device mps: the worker's torch{where} cannot use MPS; use --device cpu"
    return None


def _devices(data_dir: Path, python: str | None) -> list[str] | None:
    """What the interpreter's torch can use: the cached probe, else the probe (once; cached)."""
    from tutor.devices import cached_devices, remember_devices

    interpreter = python or sys.executable
    found = cached_devices(data_dir, interpreter)
    if found is None:
        from tutor.commands.doctor_cmd import probe_environment

        info = probe_environment(python)
        if "error" in info:
            return None  # the worker will say what is wrong with the interpreter
        found = list(info.get("devices") or ["cpu"])
        remember_devices(data_dir, interpreter, found)
    return found
