"""Handing one job (JSON plus its pipes) to a waiting spare over a Unix socket pair."""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

_HEADER = struct.Struct("!Q")


def send_job(sock: socket.socket, job: dict[str, Any], fds: list[int]) -> None:
    data = json.dumps(job).encode()
    payload = _HEADER.pack(len(data)) + data
    socket.send_fds(sock, [payload[:4096]], fds)
    if len(payload) > 4096:
        sock.sendall(payload[4096:])


def recv_job(sock: socket.socket) -> tuple[dict[str, Any], list[int]] | None:
    """Block for one job; ``None`` when the zygote went away."""
    try:
        data, fds, _, _ = socket.recv_fds(sock, 4096, 4)
    except OSError:
        return None
    if len(data) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(data[:_HEADER.size])
    body = bytearray(data[_HEADER.size:])
    while len(body) < size:
        chunk = sock.recv(min(1 << 20, size - len(body)))
        if not chunk:
            return None
        body.extend(chunk)
    return json.loads(body), list(fds)
