"""Read scalar summaries from TensorBoard event files, with the standard library only.

An event file is a TFRecord stream (``uint64 length, uint32 crc, payload, uint32 crc``) of
protobuf ``Event`` messages. We decode just the fields scalars live in — this is a reader
for ``SummaryWriter.add_scalar`` output (``simple_value``) and TF2-style scalar tensors,
not a general protobuf parser — so neither tensorboard, protobuf nor torch is needed.

It is used on the learner's side by ``show.tensorboard(logdir)`` (the log folder lives in
the run's working directory, deleted after the run, so the scalars travel in the artifact).
"""

from __future__ import annotations

import os
import struct
from typing import Iterator

Scalars = dict[str, list[tuple[int, float]]]

_MAX_FILE_BYTES = 256 * 1024 * 1024


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ValueError("varint too long")


def _fields(buf: bytes) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) for each field of one protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield field, wire, value


def _tensor_scalar(buf: bytes) -> float | None:
    dtype = 0
    content = b""
    floats: list[float] = []
    for field, wire, value in _fields(buf):
        if field == 1 and wire == 0:
            dtype = int(value)  # type: ignore[arg-type]
        elif field == 4 and wire == 2:
            content = value  # type: ignore[assignment]
        elif field == 5:  # float_val, packed or not
            raw = value if wire == 2 else value
            floats.extend(struct.unpack(f"<{len(raw) // 4}f", raw))  # type: ignore[arg-type]
        elif field == 6:  # double_val
            raw = value
            floats.extend(struct.unpack(f"<{len(raw) // 8}d", raw))  # type: ignore[arg-type]
    if floats:
        return float(floats[0])
    if dtype == 1 and len(content) >= 4:
        return float(struct.unpack("<f", content[:4])[0])
    if dtype == 2 and len(content) >= 8:
        return float(struct.unpack("<d", content[:8])[0])
    return None


def _event_scalars(buf: bytes) -> Iterator[tuple[str, int, float]]:
    step = 0
    summaries = []
    for field, wire, value in _fields(buf):
        if field == 2 and wire == 0:
            step = int(value)  # type: ignore[arg-type]
            if step >= 1 << 63:
                step -= 1 << 64
        elif field == 5 and wire == 2:
            summaries.append(value)
    for summary in summaries:
        for field, wire, value in _fields(summary):  # type: ignore[arg-type]
            if field != 1 or wire != 2:
                continue
            tag, scalar = "", None
            for vf, vw, vv in _fields(value):  # type: ignore[arg-type]
                if vf == 1 and vw == 2:
                    tag = bytes(vv).decode("utf-8", "replace")  # type: ignore[arg-type]
                elif vf == 2 and vw == 5:
                    scalar = struct.unpack("<f", vv)[0]  # type: ignore[arg-type]
                elif vf == 8 and vw == 2:
                    scalar = _tensor_scalar(vv)  # type: ignore[arg-type]
            if tag and scalar is not None:
                yield tag, step, float(scalar)


def read_records(path: str) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        data = fh.read(_MAX_FILE_BYTES)
    pos = 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[pos:pos + 8])
        start = pos + 12
        end = start + length
        if end + 4 > len(data):
            break  # a record still being written
        yield data[start:end]
        pos = end + 4


def event_files(logdir: str) -> list[str]:
    """Event files under ``logdir`` (recursively), in a stable order."""
    found = []
    for root, _dirs, files in os.walk(logdir):
        for name in files:
            if "tfevents" in name:
                found.append(os.path.join(root, name))
    return sorted(found)


def read_scalars(logdir: str) -> Scalars:
    """``{tag: [(step, value), ...]}`` for every scalar under ``logdir``; runs in
    subfolders get their folder as a tag prefix (``run/tag``), as TensorBoard shows them."""
    scalars: Scalars = {}
    if os.path.isfile(logdir):
        files, base = [logdir], os.path.dirname(logdir)
    else:
        files, base = event_files(logdir), logdir
    for path in files:
        run = os.path.relpath(os.path.dirname(path), base)
        prefix = "" if run in (".", "") else run.replace(os.sep, "/") + "/"
        try:
            for record in read_records(path):
                try:
                    for tag, step, value in _event_scalars(record):
                        scalars.setdefault(prefix + tag, []).append((step, value))
                except (ValueError, struct.error):
                    continue  # one odd record should not hide the others
        except OSError:
            continue
    for points in scalars.values():
        points.sort(key=lambda p: p[0])
    return scalars
