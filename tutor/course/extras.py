"""Optional packages an exercise needs (``needs.extras``): which are missing, and how to get them.

An extra is named by its pip distribution name (``scikit-learn``); each belongs to one
extras group of ``pyproject.toml`` (``pip install 'pytorch-tutor[data]'``). What matters is
the interpreter that runs the learner's code (``--python`` may be another environment), so
availability is asked of *that* interpreter — without importing anything (``find_spec``), and
once per interpreter per process. The TUI calls :func:`missing_extras` to mark an exercise;
``check`` and ``lint`` use :func:`extras_problem`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Extra:
    package: str      # pip name, as lessons write it
    module: str       # the top-level import name
    group: str        # the pyproject extras group that installs it


#: Every extra a lesson may name. Keep in step with [project.optional-dependencies] in
#: pyproject.toml (tests/test_format_v2_extras.py checks both ways).
KNOWN: dict[str, Extra] = {e.package: e for e in (
    Extra("tensorboard", "tensorboard", "viz"),
    Extra("matplotlib", "matplotlib", "viz"),
    Extra("onnx", "onnx", "deploy"),
    Extra("onnxruntime", "onnxruntime", "deploy"),
    Extra("onnxscript", "onnxscript", "deploy"),
    Extra("torchao", "torchao", "quant"),
    Extra("executorch", "executorch", "mobile"),
    Extra("torch-geometric", "torch_geometric", "graph"),
    Extra("torchaudio", "torchaudio", "audio"),
    Extra("fastapi", "fastapi", "serve"),
    Extra("httpx", "httpx", "serve"),
    Extra("gymnasium", "gymnasium", "rl"),
    Extra("scikit-learn", "sklearn", "data"),
)}

_cache: dict[str, dict[str, bool]] = {}
_lock = threading.Lock()

_PROBE = ("import importlib.util, json, sys\n"
          "def have(m):\n"
          "    try:\n"
          "        return importlib.util.find_spec(m) is not None\n"
          "    except (ImportError, ValueError):\n"
          "        return False\n"
          "print(json.dumps({m: have(m) for m in sys.argv[1:]}))\n")


def unknown_extras(names: list[str]) -> list[str]:
    return [n for n in names if n not in KNOWN]


def _probe(python: str | None, modules: list[str]) -> dict[str, bool]:
    """Which of ``modules`` the interpreter ``python`` can import (nothing is imported)."""
    if not python or os.path.realpath(python) == os.path.realpath(sys.executable):
        import importlib.util

        out = {}
        for m in modules:
            try:
                out[m] = importlib.util.find_spec(m) is not None
            except (ImportError, ValueError):
                out[m] = False
        return out
    try:
        proc = subprocess.run([python, "-c", _PROBE, *modules],
                              capture_output=True, text=True, timeout=30)
        found = json.loads(proc.stdout.strip().splitlines()[-1])
        return {m: bool(found.get(m)) for m in modules}
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        # Cannot ask: do not block the exercise; the check itself will say what is missing.
        return {m: True for m in modules}


def available(python: str | None, packages: list[str]) -> dict[str, bool]:
    """``{package: importable?}`` for the known packages among ``packages``, cached per interpreter."""
    key = python or sys.executable
    wanted = [KNOWN[p].module for p in packages if p in KNOWN]
    with _lock:
        known = _cache.setdefault(key, {})
        todo = [m for m in wanted if m not in known]
        if todo:
            known.update(_probe(python, todo))
        return {p: known[KNOWN[p].module] for p in packages if p in KNOWN}


def missing_extras(exercise: object, python: str | None = None) -> list[str]:
    """The packages of ``exercise.extras`` that the interpreter running learner code lacks."""
    names = list(getattr(exercise, "extras", []) or [])
    if not names:
        return []
    have = available(python, names)
    return [n for n in names if not have.get(n, True)]


def install_command(packages: list[str]) -> str:
    """``pip install 'pytorch-tutor[deploy,serve]'`` for the groups that bring ``packages``."""
    groups = sorted({KNOWN[p].group for p in packages if p in KNOWN})
    return f"pip install 'pytorch-tutor[{','.join(groups)}]'"


def missing_message(ref: str, missing: list[str]) -> str:
    names = ", ".join(missing)
    return (f"{ref} needs {names}, which the Python that runs your code does not have; "
            f"install with: {install_command(missing)}")


def extras_problem(exercise: object, python: str | None = None) -> str | None:
    """One line saying what is missing and how to install it, or None when nothing is."""
    missing = missing_extras(exercise, python)
    return missing_message(getattr(exercise, "ref", "this exercise"), missing) if missing else None


def forget() -> None:
    """Drop the cache (after the learner installed something)."""
    with _lock:
        _cache.clear()
