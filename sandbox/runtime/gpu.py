"""The device boundary: creating a CUDA/MPS context in a spare and capping its memory.

Only exec'd single-use spares (``sandbox.spare``) call this; the zygote never does (CUDA and
MPS cannot be forked after initialisation, and even ``torch.cuda.is_available()`` poisons
later forks).

Tests have no GPU, so the boundary can be *faked*: with ``PYTORCH_TUTOR_FAKE_DEVICE=1`` in the
spare's environment, :func:`prepare` and :func:`set_memory_fraction` record what they would
have done instead of calling CUDA, and ``torch.cuda.is_available()`` answers True in the spare.
Everything around the boundary (spare start-up, single use, replacement, the memory cap
travelling from the exercise's limits, OOM classification) then runs for real.
"""

from __future__ import annotations

import os
from typing import Any

FAKE_ENV = "PYTORCH_TUTOR_FAKE_DEVICE"


def is_fake() -> bool:
    return os.environ.get(FAKE_ENV) == "1"


def device_kind(device: str) -> str:
    return device.split(":", 1)[0]


def prepare(device: str, fraction: float) -> dict[str, Any]:
    """Create the device context now (off the critical path) and cap the process's memory."""
    kind = device_kind(device)
    if is_fake():
        import torch

        torch.cuda.is_available = lambda: True  # type: ignore[assignment]
        torch.cuda.device_count = lambda: 1  # type: ignore[assignment]
        return {"device": device, "name": "fake device", "fake": True, "memory_fraction": fraction}
    import torch

    if kind == "cuda":
        index = torch.device(device).index or 0
        torch.cuda.set_device(index)
        torch.zeros(1, device=f"cuda:{index}")  # creates the context
        torch.cuda.set_per_process_memory_fraction(fraction, index)
        torch.cuda.synchronize(index)
        props = torch.cuda.get_device_properties(index)
        return {"device": f"cuda:{index}", "name": props.name, "total_mb": props.total_memory // (1024 * 1024),
                "memory_fraction": fraction}
    if kind == "mps":
        torch.zeros(1, device="mps")
        try:
            torch.mps.set_per_process_memory_fraction(fraction)
        except (AttributeError, RuntimeError):
            pass
        return {"device": "mps", "name": "Apple MPS", "memory_fraction": fraction}
    return {"device": "cpu"}


def set_memory_fraction(device: str, fraction: float) -> float | None:
    """Apply the run's own cap (an exercise may raise or lower the default)."""
    kind = device_kind(device)
    if is_fake():
        return fraction if kind in ("cuda", "mps") else None
    import torch

    if kind == "cuda":
        index = torch.device(device).index or 0
        torch.cuda.set_per_process_memory_fraction(fraction, index)
        return fraction
    if kind == "mps":
        try:
            torch.mps.set_per_process_memory_fraction(fraction)
            return fraction
        except (AttributeError, RuntimeError):
            return None
    return None
