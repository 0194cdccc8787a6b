"""A small binary format for probe data: the learner's values on their way to the judge.

``codec.to_plain`` reduces what the learner's code produced to plain containers, scalars,
strings, dtypes, devices, sizes and plain CPU tensors. This writes exactly that and nothing
else, as tagged bytes, and reads it back without ``pickle``: the judge parses data, it never
runs a constructor the file names. It replaces ``torch.save``/``torch.load(weights_only=True)``
for the common case because those cost milliseconds per check for a few small tensors (a zip
archive and an unpickler each way; docs/sandbox.md "Measuring"). A value this format does not
cover (a quantized, sparse or named tensor, a float8 dtype...) raises :class:`Unsupported`,
and the codec falls back to ``torch.save`` for that payload.

The reader treats its input as hostile: learner code can overwrite the file. Every length is
checked against what is left, nesting is bounded, and anything malformed raises
:class:`WireError` — never another exception, never a read past the end.

Layout: ``MAGIC`` then one value. A value is a tag byte and its body:

====  =====================================================================
tag   body
====  =====================================================================
N     None
T F   True, False
I     int: 8 bytes, little-endian, signed
J     int that does not fit 8 bytes: u32 length, decimal ASCII
D     float: 8 bytes IEEE 754
S     str: u32 length, UTF-8
L U   list, tuple: u32 count, values
M     dict: u32 count, (key value) pairs; a key is an ``I`` or an ``S`` value
Y     torch.dtype: u8 code (``DTYPES``)
V     torch.device: a str value
Z     torch.Size: u32 ndim, ndim x i64
X     tensor: u8 dtype code, u32 ndim, ndim x i64 sizes, ndim x i64 strides, u64 byte
      count, the bytes of the contiguous tensor (strides restore a dense permuted layout)
====  =====================================================================
"""

from __future__ import annotations

import struct
from typing import Any

MAGIC = b"PTWIRE1\n"
MAX_DEPTH = 16
MAX_NDIM = 64

#: Codes of the dtypes this format carries (by name, so that it needs no torch to import).
DTYPE_NAMES = ("float32", "float64", "float16", "bfloat16", "complex64", "complex128", "bool",
               "uint8", "int8", "int16", "int32", "int64", "uint16", "uint32", "uint64")

_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_U64 = struct.Struct("<Q")
_F64 = struct.Struct("<d")


class Unsupported(Exception):
    """A value this format does not carry (the codec then uses ``torch.save``)."""


class WireError(ValueError):
    """Malformed input: the file is not what the learner's process should have written."""


def _dtype_tables() -> tuple[dict[Any, int], list[Any]]:
    import torch

    to_code: dict[Any, int] = {}
    by_code: list[Any] = []
    for name in DTYPE_NAMES:
        dtype = getattr(torch, name, None)
        by_code.append(dtype)
        if dtype is not None:
            to_code[dtype] = len(by_code) - 1
    return to_code, by_code


_TABLES: tuple[dict[Any, int], list[Any]] | None = None


def _tables() -> tuple[dict[Any, int], list[Any]]:
    global _TABLES
    if _TABLES is None:
        _TABLES = _dtype_tables()
    return _TABLES


# --- writing ---------------------------------------------------------------------------------


def dumps(value: Any) -> bytes:
    """``value`` (the output of ``codec.to_plain``) as bytes; :class:`Unsupported` if it holds
    something this format does not carry."""
    out: list[bytes] = [MAGIC]
    _write(value, out, 0)
    return b"".join(out)


def _write(value: Any, out: list[bytes], depth: int) -> None:
    import torch

    if depth > MAX_DEPTH:
        raise Unsupported("nested too deeply")
    kind = type(value)
    if value is None:
        out.append(b"N")
    elif kind is bool:
        out.append(b"T" if value else b"F")
    elif kind is int:
        if -(2 ** 63) <= value < 2 ** 63:
            out.append(b"I" + _I64.pack(value))
        else:
            text = str(value).encode("ascii")
            out.append(b"J" + _U32.pack(len(text)) + text)
    elif kind is float:
        out.append(b"D" + _F64.pack(value))
    elif kind is str:
        data = value.encode("utf-8", "surrogatepass")
        out.append(b"S" + _U32.pack(len(data)) + data)
    elif kind is list or kind is tuple:
        out.append((b"L" if kind is list else b"U") + _U32.pack(len(value)))
        for item in value:
            _write(item, out, depth + 1)
    elif kind is dict:
        out.append(b"M" + _U32.pack(len(value)))
        for key, item in value.items():
            if type(key) not in (int, str):
                raise Unsupported(f"a dict key of type {type(key).__name__}")
            _write(key, out, depth + 1)
            _write(item, out, depth + 1)
    elif kind is torch.dtype:
        code = _tables()[0].get(value)
        if code is None:
            raise Unsupported(f"dtype {value}")
        out.append(b"Y" + bytes([code]))
    elif kind is torch.device:
        out.append(b"V")
        _write(str(value), out, depth + 1)
    elif kind is torch.Size:
        out.append(b"Z" + _U32.pack(len(value)) + b"".join(_I64.pack(int(n)) for n in value))
    elif kind is torch.Tensor:
        _write_tensor(value, out)
    else:
        raise Unsupported(f"a {kind.__module__}.{kind.__qualname__}")


def _write_tensor(t: Any, out: list[bytes]) -> None:
    code = _tables()[0].get(t.dtype)
    if (code is None or t.layout is not _strided() or t.device.type != "cpu" or t.is_quantized
            or getattr(t, "is_nested", False) or any(name is not None for name in (getattr(t, "names", None) or ()))):
        raise Unsupported(f"a {t.dtype} {t.layout} tensor on {t.device}")
    dense = t.resolve_conj().resolve_neg()
    strides = dense.stride() if _is_dense_permutation(dense.shape, dense.stride()) else _contiguous_strides(dense.shape)
    # The bytes in the order of a contiguous tensor; the strides say how to lay them out again.
    data = dense.contiguous().reshape(-1).view(_byte_dtype()).numpy().tobytes() if dense.numel() else b""
    out.append(b"X" + bytes([code]) + _U32.pack(dense.dim())
               + b"".join(_I64.pack(int(n)) for n in dense.shape)
               + b"".join(_I64.pack(int(s)) for s in strides)
               + _U64.pack(len(data)))
    out.append(data)


def _strided() -> Any:
    import torch

    return torch.strided


def _byte_dtype() -> Any:
    import torch

    return torch.uint8


def _contiguous_strides(shape: Any) -> tuple[int, ...]:
    strides = []
    step = 1
    for size in reversed(tuple(shape)):
        strides.append(step)
        step *= max(int(size), 1)
    return tuple(reversed(strides))


def _is_dense_permutation(shape: Any, strides: Any) -> bool:
    """Whether ``strides`` lay ``shape`` out densely, without overlap (some dim order)."""
    dims = [(int(st), int(n)) for n, st in zip(shape, strides) if int(n) != 1]
    if any(n == 0 for _, n in dims):
        return False
    step = 1
    for stride, size in sorted(dims):
        if stride != step:
            return False
        step *= size
    return True


# --- reading ---------------------------------------------------------------------------------


def loads(data: bytes) -> Any:
    """The value :func:`dumps` wrote; :class:`WireError` for anything else."""
    view = memoryview(data)
    if bytes(view[:len(MAGIC)]) != MAGIC:
        raise WireError("not probe data (no header)")
    reader = _Reader(view, len(MAGIC))
    value = reader.value(0)
    if reader.pos != len(view):
        raise WireError(f"{len(view) - reader.pos} bytes after the value")
    return value


class _Reader:
    def __init__(self, view: memoryview, pos: int) -> None:
        self.view = view
        self.pos = pos

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.view):
            raise WireError("cut short")
        chunk = self.view[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u32(self) -> int:
        return _U32.unpack(self.take(4))[0]

    def i64(self) -> int:
        return _I64.unpack(self.take(8))[0]

    def count(self) -> int:
        n = self.u32()
        if n > len(self.view) - self.pos:  # every item takes at least a byte
            raise WireError("a count larger than the data")
        return n

    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH + 1:
            raise WireError("nested too deeply")
        tag = bytes(self.take(1))
        if tag == b"N":
            return None
        if tag == b"T":
            return True
        if tag == b"F":
            return False
        if tag == b"I":
            return self.i64()
        if tag == b"J":
            text = bytes(self.take(self.u32()))
            if not text or len(text) > 4300 or not text.lstrip(b"-").isdigit():
                raise WireError("a malformed integer")
            return int(text)
        if tag == b"D":
            return _F64.unpack(self.take(8))[0]
        if tag == b"S":
            try:
                return bytes(self.take(self.u32())).decode("utf-8", "surrogatepass")
            except UnicodeDecodeError as exc:
                raise WireError("a malformed string") from exc
        if tag in (b"L", b"U"):
            items = [self.value(depth + 1) for _ in range(self.count())]
            return items if tag == b"L" else tuple(items)
        if tag == b"M":
            out: dict[Any, Any] = {}
            for _ in range(self.count()):
                key = self.value(depth + 1)
                if type(key) not in (int, str):
                    raise WireError("a dict key that is not an int or a str")
                out[key] = self.value(depth + 1)
            return out
        if tag == b"Y":
            return self.dtype()
        if tag == b"V":
            import torch

            name = self.value(depth + 1)
            if type(name) is not str:
                raise WireError("a malformed device")
            try:
                return torch.device(name)
            except (RuntimeError, ValueError) as exc:
                raise WireError(f"a malformed device {name[:40]!r}") from exc
        if tag == b"Z":
            import torch

            return torch.Size(self.dims())
        if tag == b"X":
            return self.tensor()
        raise WireError(f"unknown tag {tag!r}")

    def dtype(self) -> Any:
        code = self.take(1)[0]
        by_code = _tables()[1]
        if code >= len(by_code) or by_code[code] is None:
            raise WireError(f"unknown dtype code {code}")
        return by_code[code]

    def dims(self) -> list[int]:
        ndim = self.u32()
        if ndim > MAX_NDIM:
            raise WireError("too many dimensions")
        return [self.i64() for _ in range(ndim)]

    def tensor(self) -> Any:
        import torch

        dtype = self.dtype()
        sizes = self.dims()
        strides = [self.i64() for _ in range(len(sizes))]
        nbytes = _U64.unpack(self.take(8))[0]
        if any(n < 0 for n in sizes):
            raise WireError("a negative size")
        numel = 1
        for n in sizes:
            numel *= n
        itemsize = torch.empty((), dtype=dtype).element_size()
        if numel * itemsize != nbytes:
            raise WireError(f"a tensor of {numel} elements with {nbytes} bytes")
        raw = self.take(nbytes)
        extent = 1
        for n in sizes:
            extent *= max(n, 1)
        # A dense layout's strides never exceed its extent; a size-1 dim's stride says nothing
        # about the layout (a row sliced from a wider tensor keeps the wide stride) but is kept,
        # as torch.save keeps it, within a sane bound.
        if any(not 0 <= st <= (extent if n != 1 else 2 ** 40) for n, st in zip(sizes, strides)):
            raise WireError("a stride outside the tensor")
        try:
            flat = torch.frombuffer(bytearray(raw), dtype=dtype) if numel else torch.empty(0, dtype=dtype)
            contiguous = flat.reshape(sizes)
            if tuple(strides) == _contiguous_strides(sizes) or numel == 0 or not _is_dense_permutation(sizes, strides):
                return contiguous
            laid_out = torch.empty_strided(sizes, strides, dtype=dtype)
            laid_out.copy_(contiguous)
            return laid_out
        except (RuntimeError, ValueError, OverflowError) as exc:  # what torch says of sizes it refuses
            raise WireError(f"a tensor torch refuses: {str(exc)[:80]}") from exc
