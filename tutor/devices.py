"""Resolving ``--device auto`` without importing torch in the tutor.

What the worker's interpreter can use is only known by asking it (``python -m
sandbox.runtime.probe``, which imports torch: seconds). So:

* on a machine with no sign of a GPU (no ``/dev/nvidia*``, not Apple silicon) ``auto`` is
  ``cpu`` at once — the common laptop and CI case pays nothing;
* otherwise the probe runs once per interpreter and its answer is cached in the data dir
  (keyed by the interpreter's path and modification time), so later starts are instant.
"""

from __future__ import annotations

import glob
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
CACHE_NAME = "devices.json"


def probe_environment(python: str | None) -> dict[str, Any]:
    """Ask the worker interpreter about itself, in a one-shot process (``sandbox.runtime.probe``)."""
    from tutor.worker_path import worker_environment

    interpreter = python or sys.executable
    try:
        env = worker_environment(os.environ)
        out = subprocess.run([interpreter, "-m", "sandbox.runtime.probe"], capture_output=True, text=True,
                             env=env, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"cannot run {interpreter}: {exc}"}
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": (out.stderr.strip().splitlines() or ["the probe printed nothing"])[-1]}


def valid_device(name: str) -> bool:
    return bool(DEVICE_PATTERN.match(name))


def gpu_hints() -> bool:
    """Cheap signs that a GPU may be usable here (no torch, no subprocess)."""
    if glob.glob("/dev/nvidia[0-9]*"):
        return True
    return sys.platform == "darwin" and platform.machine() == "arm64"


def pick(devices: list[str]) -> str:
    """The device ``auto`` means, from what the probe found: cuda, then mps, then cpu."""
    if any(d.startswith("cuda") for d in devices):
        return "cuda"
    return "mps" if "mps" in devices else "cpu"


def _cache_key(python: str) -> str:
    try:
        stamp = os.stat(python).st_mtime_ns
    except OSError:
        stamp = 0
    return f"{os.path.realpath(python)}:{stamp}"


def cached_devices(data_dir: Path, python: str) -> list[str] | None:
    try:
        cache = json.loads((data_dir / CACHE_NAME).read_text())
        entry = cache.get(_cache_key(python))
        return list(entry["devices"]) if entry else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def remember_devices(data_dir: Path, python: str, devices: list[str]) -> None:
    from tutor.storage import atomic_write_json

    path = data_dir / CACHE_NAME
    try:
        cache = json.loads(path.read_text()) if path.exists() else {}
        if not isinstance(cache, dict):
            cache = {}
    except (OSError, ValueError):
        cache = {}
    cache[_cache_key(python)] = {"devices": devices}
    try:
        atomic_write_json(path, cache)
    except OSError:
        pass  # a cache that cannot be written only costs a probe next time


def resolve(requested: str, python: str | None, data_dir: Path,
            probe: Callable[[str | None], dict[str, Any]] | None = None) -> str:
    """The concrete device for ``requested`` (``auto`` resolved as described above)."""
    if requested != "auto":
        return requested
    if not gpu_hints():
        return "cpu"
    interpreter = python or sys.executable
    devices = cached_devices(data_dir, interpreter)
    if devices is None:
        if probe is None:
            probe = probe_environment
        info = probe(python)
        devices = list(info.get("devices") or ["cpu"])
        if "error" not in info:
            remember_devices(data_dir, interpreter, devices)
    return pick(devices)
