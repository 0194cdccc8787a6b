"""``doctor``'s interpreter probe, cached per interpreter and installed torch version.

The probe (``python -m sandbox.probe``) imports torch and touches CUDA: seconds. Its answer
only changes when the interpreter or its torch/torchvision installation does, so it is kept
in the data dir under a key made of the interpreter's real path and stat, and the stat of
``torch/version.py`` and ``torchvision/version.py`` as that interpreter finds them. Finding
them costs one interpreter start without importing anything (``importlib.util.find_spec``):
tens of milliseconds, not seconds. The sandbox's isolation report (from the worker's hello)
is cached the same way, and also keyed by the kernel's boot id: namespaces and Landlock are
properties of the running kernel.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

CACHE_NAME = "probe-cache.json"

_FIND = ("import importlib.util as u, json, os, sys\n"
         "out = [sys.version]\n"
         "for name in ('torch', 'torchvision'):\n"
         "    try:\n"
         "        s = u.find_spec(name)\n"
         "    except Exception:\n"
         "        s = None\n"
         "    p = os.path.join(os.path.dirname(s.origin), 'version.py') if s and s.origin else ''\n"
         "    try:\n"
         "        st = os.stat(p); out.append(f'{p}:{st.st_size}:{st.st_mtime_ns}')\n"
         "    except OSError:\n"
         "        out.append(name + ':missing')\n"
         "print(json.dumps(out))\n")


def _stat(path: str) -> str:
    try:
        st = os.stat(path)
        return f"{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        return f"{path}:missing"


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def interpreter_key(python: str) -> str | None:
    """What identifies this interpreter and its torch install; None if it will not start."""
    try:
        out = subprocess.run([python, "-c", _FIND], capture_output=True, text=True, timeout=30)
        parts = json.loads(out.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    if not isinstance(parts, list):
        return None
    return hashlib.sha256(json.dumps([_stat(python), *map(str, parts)]).encode()).hexdigest()[:24]


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save(path: Path, cache: dict[str, Any]) -> None:
    from tutor.storage import atomic_write_json

    try:
        atomic_write_json(path, cache)
    except OSError:
        pass  # a cache that cannot be written costs a probe next time


class ProbeCache:
    def __init__(self, data_dir: Path, python: str | None) -> None:
        self.path = data_dir / CACHE_NAME
        self.python = python or sys.executable
        self._key: str | None | bool = False  # False: not computed yet

    @property
    def key(self) -> str | None:
        if self._key is False:
            self._key = interpreter_key(self.python)
        return self._key  # type: ignore[return-value]

    def get(self, section: str, extra: str = "") -> Any:
        if self.key is None:
            return None
        return _load(self.path).get(f"{section}:{self.key}{extra}")

    def put(self, section: str, value: Any, extra: str = "") -> None:
        if self.key is None:
            return
        cache = _load(self.path)
        prefix = f"{section}:"
        # One entry per section and interpreter: drop the ones this interpreter had before.
        cache = {k: v for k, v in cache.items()
                 if not (k.startswith(prefix) and isinstance(v, dict) and v.get("python") == self.python)}
        cache[f"{section}:{self.key}{extra}"] = {"python": self.python, "value": value}
        _save(self.path, cache)

    def probe(self, run_probe: Callable[[str | None], dict[str, Any]], fresh: bool = False,
              python_arg: str | None = None) -> tuple[dict[str, Any], bool]:
        """The probe's answer and whether it came from the cache."""
        hit = None if fresh else self.get("probe")
        if isinstance(hit, dict) and isinstance(hit.get("value"), dict):
            return dict(hit["value"]), True
        info = run_probe(python_arg)
        if "error" not in info:
            self.put("probe", info)
        return info, False

    def isolation(self) -> dict[str, Any] | None:
        hit = self.get("isolation", ":" + boot_id())
        if isinstance(hit, dict) and isinstance(hit.get("value"), dict):
            return dict(hit["value"])
        return None

    def remember_isolation(self, value: dict[str, Any]) -> None:
        self.put("isolation", value, ":" + boot_id())
