"""Warming an interpreter: torch and the modules lessons need, imported once, single-threaded.

Used by the zygote (then forked per run) and by exec'd spares. Forking a process with a live
OpenMP pool deadlocks (pytorch#17199), so every pool is pinned to one thread before torch is
imported and the thread count is checked afterwards. Never touches ``torch.cuda`` or
``torch.backends.mps``: even ``is_available()`` poisons every later fork.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sandbox.isolation.environment import THREAD_ENV

#: Modules every lesson is likely to need, imported once in the zygote.
WARM_MODULES = (
    "torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.utils.data", "torch.autograd",
    "torch.distributed", "torch.multiprocessing", "torch.testing", "numpy", "multiprocessing.queues",
    "torchvision", "torchvision.transforms", "safetensors.torch",
    "sandbox.judging.harness", "sandbox.judging.checks", "sandbox.judging.compare", "sandbox.judging.codec",
    "sandbox.isolation.confine", "sandbox.runtime.child",
)
#: Learner-side helpers, imported if they load.
OPTIONAL_MODULES = ("sandbox.learner.show",)
#: Left to load on use: matplotlib's backend costs ~0.4 s of matplotlib imports, which only
#: the runs that draw with matplotlib should pay.
LAZY_MODULES = frozenset({"sandbox.learner.mplbackend"})


def sandbox_modules() -> list[str]:
    """Every module of the ``sandbox`` package but :data:`LAZY_MODULES`. All are imported in
    the zygote, so a run never needs the package's files: the folder the worker was started from may be gone
    by then (a data directory reset or removed under a long-lived shared worker), and a lazy
    import in a learner's run would fail with a baffling ModuleNotFoundError."""
    import pkgutil

    import sandbox

    return sorted(info.name for info in pkgutil.walk_packages(sandbox.__path__, "sandbox.")
                  if info.name not in LAZY_MODULES)


def warm_up() -> dict[str, Any]:
    """Import torch and friends single-threaded; return timings and what was skipped."""
    # Set, not defaulted: a thread-count variable in the user's environment must not leave a
    # thread pool in the zygote (which would force the weaker, cold fallback).
    os.environ.update(THREAD_ENV)
    started = time.monotonic()
    import importlib

    import torch

    # Before any op: see the module docstring. The inter-op pool is left alone: it starts
    # lazily, and a learner's own set_num_interop_threads must still work in a run.
    torch.set_num_threads(1)
    skipped: dict[str, str] = {}
    for name in dict.fromkeys([*WARM_MODULES, *OPTIONAL_MODULES, *sandbox_modules()]):
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a missing extra must not stop the zygote
            skipped[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
    # Touch the code paths a trivial check uses, single-threaded, so the children do not pay
    # for lazy initialisation (dispatcher tables, RNG, serialization) on every run.
    x = torch.randn(8, 8)
    (x @ x).sum().item()
    x.requires_grad_(True)
    (x * 2).sum().backward()
    import io as _io

    buf = _io.BytesIO()
    torch.save({"t": x.detach()}, buf)
    buf.seek(0)
    torch.load(buf, weights_only=True, map_location="cpu")
    y = x.detach()
    torch.isclose(y, y).all()
    torch.allclose(y, y)
    torch.testing.assert_close(y, y)
    repr(torch.ones(2, 3))
    torch.default_generator.manual_seed(0)
    torch.nn.Linear(3, 2)(torch.ones(1, 3))
    # Move every object the zygote made into the permanent generation: a collection in a
    # child would otherwise write to every object's GC header and copy the whole heap
    # page by page (copy-on-write), costing tens of milliseconds per run.
    import gc

    gc.collect()
    gc.freeze()
    threads = thread_count()
    return {"import_ms": round((time.monotonic() - started) * 1000), "skipped": skipped, "threads": threads}


def thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1
