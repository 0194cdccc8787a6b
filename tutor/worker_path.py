"""Where the sandbox worker's code comes from, and the environment it is started with.

The one place the worker's ``PYTHONPATH`` is built (the engine and ``doctor``'s probe both use
it). Only the ``sandbox`` package goes on that path — never the tutor's own ``site-packages``,
which would make a ``--python`` interpreter import the tutor's torch instead of its own.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path


def sandbox_parent() -> str:
    """The folder that holds the ``sandbox`` package the tutor ships."""
    spec = importlib.util.find_spec("sandbox")
    assert spec is not None and spec.origin is not None
    return str(Path(spec.origin).resolve().parent.parent)


def worker_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment to start the worker with: the caller's, with only the sandbox on the path.

    The worker rebuilds its own environment from its allow-list before importing torch
    (``sandbox.runtime.worker``), so what else is here never reaches learner code.
    """
    env = dict(environ)
    env["PYTHONPATH"] = sandbox_parent()
    env["PYTHONUNBUFFERED"] = "1"
    return env
