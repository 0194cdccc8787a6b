"""Moving values out of the learner's process as *data only*.

The learner's process hands the judge what the learner's code produced. Nothing that
crosses over may run code on load, so:

* values are first reduced to plain containers (dict, list, tuple), scalars, strings,
  dtypes, devices, ``torch.Size`` and **plain** ``torch.Tensor`` objects (a tensor subclass,
  e.g. one with ``__torch_function__``, is stripped to its base class and flagged);
* the result is written in a small binary format of our own (``sandbox.judging.wire``) that
  the judge parses without ``pickle``; a value that format does not carry (a quantized or
  sparse tensor...) sends the whole payload with ``torch.save`` instead, read back with
  ``torch.load(weights_only=True)``, whose unpickler refuses anything but that whitelist (the
  judge never unpickles freely).

Anything else (a module, a generator, an arbitrary object) becomes an ``Opaque`` record that
names its type, so a check can say "expected a tensor, got a list".
"""

from __future__ import annotations

import math
import os
import tempfile
from typing import Any

from sandbox.judging import wire

OPAQUE_KEY = "__opaque_type__"
SUBCLASS_KEY = "__tensor_subclass__"
MAX_DEPTH = 12
BLOB_KEY = "__blob__"


class Blob:
    """Bytes the learner's code made, in the judge: ``.data``, ``.name``, ``.path()``."""

    def __init__(self, data: bytes, name: str = "file") -> None:
        self.data = data
        self.name = os.path.basename(name) or "file"
        self._path: str | None = None

    def __len__(self) -> int:
        return len(self.data)

    def path(self) -> str:
        """The bytes as a file in the judge's own temporary folder (for ``torch.export.load``,
        ``onnxruntime.InferenceSession``, ``torch.load(weights_only=True)``)."""
        if self._path is None:
            folder = tempfile.mkdtemp(prefix="judge-blob-")
            self._path = os.path.join(folder, self.name)
            with open(self._path, "wb") as fh:
                fh.write(self.data)
        return self._path

    def __repr__(self) -> str:
        return f"<file {self.name!r}, {len(self.data)} bytes>"


class Outgoing:
    """A file or byte string on its way from the probe to the judge (see ``sandbox.judging.codec``)."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.name = name


def to_plain(value: Any, depth: int = 0) -> Any:
    """Reduce ``value`` to what ``torch.load(weights_only=True)`` accepts."""
    import torch

    if depth > MAX_DEPTH:
        return {OPAQUE_KEY: "too deeply nested"}
    if value is None or type(value) in (bool, int, str, float):
        return value
    # Subclasses of the builtins (torch.__version__ is a str subclass, IntEnum members...)
    # are not on the weights-only whitelist: reduce them to the plain builtin.
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return base(value)
    if isinstance(value, torch.Tensor):
        return _plain_tensor(value)
    if isinstance(value, (torch.dtype, torch.device, torch.Size)):
        return value
    if isinstance(value, dict):
        return {_plain_key(k): to_plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(to_plain(v, depth + 1) for v in value)
    if isinstance(value, list):
        return [to_plain(v, depth + 1) for v in value]
    if isinstance(value, Outgoing):
        data = torch.frombuffer(bytearray(value.data), dtype=torch.uint8) if value.data else torch.zeros(0, dtype=torch.uint8)
        return {BLOB_KEY: data, "name": str(value.name)}
    try:
        import numpy as np

        if isinstance(value, np.ndarray):
            return {OPAQUE_KEY: "numpy.ndarray", "tensor": torch.from_numpy(np.array(value, copy=True))}
        if isinstance(value, np.generic):
            return value.item()
    except ImportError:  # pragma: no cover - numpy ships with torch
        pass
    return {OPAQUE_KEY: f"{type(value).__module__}.{type(value).__qualname__}"}


def _plain_key(key: Any) -> Any:
    return key if isinstance(key, (str, int)) else repr(key)


def _plain_tensor(t: Any) -> Any:
    import torch

    # Strip any subclass without letting its __torch_function__ run.
    with torch._C.DisableTorchFunctionSubclass():
        subclass = type(t) is not torch.Tensor and not isinstance(t, torch.nn.Parameter)
        base = torch.Tensor._make_subclass(torch.Tensor, t.detach(), False) if subclass else t.detach()
        plain = base.to("cpu") if base.device.type != "cpu" else base
        plain = plain.clone()
    record_device = str(t.device)
    if subclass or record_device != "cpu" or t.requires_grad:
        return {
            "__tensor__": plain,
            "device": record_device,
            "requires_grad": bool(t.requires_grad),
            SUBCLASS_KEY: f"{type(t).__module__}.{type(t).__qualname__}" if subclass else "",
        }
    return plain


def save(data: Any, path: str) -> None:
    plain = to_plain(data)
    try:
        payload = wire.dumps(plain)
    except Exception:  # noqa: BLE001 - wire.Unsupported, or a tensor kind it never met: torch.save carries it
        import torch

        torch.save(plain, path)
        return
    with open(path, "wb") as fh:
        fh.write(payload)


def load(path: str) -> Any:
    with open(path, "rb") as fh:
        payload = fh.read()
    if payload.startswith(wire.MAGIC):
        return revive(wire.loads(payload))
    import io

    import torch

    return revive(torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu"))


def revive(value: Any, depth: int = 0) -> Any:
    """Judge side: turn byte records back into :class:`~sandbox.judging.helpers.Blob`."""
    if depth > MAX_DEPTH + 2:
        return value
    if isinstance(value, dict):
        if BLOB_KEY in value:
            import torch

            data = value[BLOB_KEY]
            raw = data.numpy().tobytes() if isinstance(data, torch.Tensor) and data.dtype == torch.uint8 else b""
            return Blob(raw, str(value.get("name", "file")))
        return {k: revive(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [revive(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(revive(v, depth + 1) for v in value)
    return value


def is_opaque(value: Any) -> bool:
    return isinstance(value, dict) and OPAQUE_KEY in value


def describe_type(value: Any) -> str:
    """A learner-readable name for a value that came back through the codec."""
    import torch

    if is_opaque(value):
        return value[OPAQUE_KEY]
    if isinstance(value, dict) and "__tensor__" in value:
        return "tensor"
    if isinstance(value, torch.Tensor):
        return "tensor"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, float) and math.isnan(value):
        return "float (nan)"
    return type(value).__name__
