"""Probe data travels in a format of our own (sandbox/judging/wire.py): the same values as the
``torch.save`` route, no unpickling in the judge, and a reader that survives hostile bytes."""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

import pytest
import torch

from sandbox.judging import codec, wire


def payload() -> dict:
    gen = torch.Generator().manual_seed(0)
    return {
        "checks": {"adds": [{"value": torch.randn(3, 4, generator=gen)}, {"raised": "ValueError: no"}]},
        "scalars": [None, True, False, 0, -7, 2 ** 70, -(2 ** 65), 1.5, float("inf"), "é ü 中", ""],
        "nan": float("nan"),
        "types": (torch.float16, torch.bfloat16, torch.int64, torch.bool, torch.device("cpu"), torch.Size([2, 0, 3])),
        3: {"int key": 1},
        "tensors": [
            torch.zeros(0, 3), torch.tensor(3.0), torch.tensor([True, False]),
            torch.randn(2, 3, generator=gen).t(),                     # transposed: strides kept
            torch.randn(2, 3, 4, generator=gen).permute(2, 0, 1),      # permuted: strides kept
            torch.randn(4, generator=gen).expand(3, 4),                # overlapping: made contiguous
            torch.randn(1, 6, generator=gen)[:, ::2],                  # a step: made contiguous
            torch.randn(3, 10, generator=gen)[:1, :5],                 # a size-1 dim with a wide stride (10, 1)
            torch.randn(4, 1, 3, generator=gen).transpose(0, 1),       # a size-1 dim moved to the front
            torch.randn(2, 2, dtype=torch.complex64, generator=gen).conj(),
            torch.randn(2, 2, generator=gen).neg(),
            torch.arange(6, dtype=torch.int32).to(torch.uint16),
            torch.randn(2, 2, generator=gen).to(torch.bfloat16),
            torch.arange(5, dtype=torch.int8),
        ],
    }


def torch_route(value: object) -> object:
    buf = io.BytesIO()
    torch.save(codec.to_plain(value), buf)
    buf.seek(0)
    return codec.revive(torch.load(buf, weights_only=True))


def assert_same(a: object, b: object, path: str = "") -> None:
    assert type(a) is type(b), (path, type(a), type(b))
    if isinstance(a, torch.Tensor):
        assert (a.dtype, a.shape, a.stride()) == (b.dtype, b.shape, b.stride()), path
        assert torch.equal(a.resolve_conj().resolve_neg(), b.resolve_conj().resolve_neg()), path
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for key in a:
            assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)) and not isinstance(a, torch.Size):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), path
    else:
        assert a == b, path


def test_values_arrive_as_the_torch_save_route_delivers_them(tmp_path: Path) -> None:
    path = str(tmp_path / "probe.pt")
    codec.save(payload(), path)
    assert Path(path).read_bytes().startswith(wire.MAGIC)  # no zip archive, no pickle
    assert_same(codec.load(path), torch_route(payload()))


def test_what_the_format_does_not_carry_goes_by_torch_save(tmp_path: Path) -> None:
    sparse = torch.eye(3).to_sparse()
    quantized = torch.quantize_per_tensor(torch.randn(4), 0.1, 0, torch.qint8)
    path = str(tmp_path / "probe.pt")
    codec.save({"s": sparse, "q": quantized, "plain": torch.ones(2)}, path)
    assert not Path(path).read_bytes().startswith(wire.MAGIC)
    back = codec.load(path)
    assert torch.equal(back["s"].to_dense(), torch.eye(3)) and back["q"].is_quantized
    with pytest.raises(wire.Unsupported):
        wire.dumps(codec.to_plain({"s": sparse}))


def test_a_payload_cut_anywhere_is_refused_cleanly() -> None:
    data = wire.dumps(codec.to_plain(payload()))
    for end in range(len(data)):
        with pytest.raises(wire.WireError):
            wire.loads(data[:end])


def test_random_corruption_never_raises_anything_but_a_wire_error() -> None:
    data = bytearray(wire.dumps(codec.to_plain(payload())))
    rng = random.Random(1234)
    for _ in range(1500):
        bad = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            bad[rng.randrange(len(wire.MAGIC), len(bad))] = rng.randrange(256)
        try:
            wire.loads(bytes(bad))
        except wire.WireError:
            pass


@pytest.mark.parametrize("body, why", [
    (b"L\xff\xff\xff\xff", "a count larger than the data"),
    (b"X\x00\x01\x00\x00\x00" + (4).to_bytes(8, "little", signed=True) + (1).to_bytes(8, "little", signed=True)
     + (2 ** 40).to_bytes(8, "little"), "elements with"),
    (b"X\x00\x41\x00\x00\x00", "too many dimensions"),
    (b"Y\xee", "unknown dtype code"),
    (b"M\x01\x00\x00\x00" + b"D" + bytes(8) + b"N", "not an int or a str"),
    (b"N" + b"N", "bytes after the value"),
    (b"Q", "unknown tag"),
    (b"J\x03\x00\x00\x00abc", "malformed integer"),
    (b"V" + b"S\x05\x00\x00\x00nope!", "malformed device"),
    (b"L\x01\x00\x00\x00" * 40 + b"N", "nested too deeply"),
])
def test_hostile_headers_are_named(body: bytes, why: str) -> None:
    with pytest.raises(wire.WireError, match=why):
        wire.loads(wire.MAGIC + body)


def test_a_file_without_the_header_is_not_probe_data() -> None:
    with pytest.raises(wire.WireError, match="no header"):
        wire.loads(b"\x80\x04junk")
