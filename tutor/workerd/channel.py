"""JSON lines over a Unix socket: the same encoding as the worker protocol (one object per
line, ``sandbox.protocol.encode``/``decode``), with timeouts and a cap on one line."""

from __future__ import annotations

import collections
import select
import socket
import time
from typing import Any

from sandbox import protocol

#: Longer than any event the worker may send (artifacts are capped at a few MB).
MAX_LINE_BYTES = 64 * 1024 * 1024


class ChannelClosed(ConnectionError):
    pass


class Channel:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = b""
        #: Messages read ahead by one reader and handed back for the next ``recv``.
        self._pending: collections.deque[dict[str, Any]] = collections.deque()

    def push_back(self, message: dict[str, Any]) -> None:
        """Return a message read too early: the next ``recv`` gives it first."""
        self._pending.appendleft(message)

    def send(self, message: dict[str, Any]) -> None:
        self.sock.sendall(protocol.encode(message))

    def recv(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next message; None when the other end closed. ``TimeoutError`` past ``timeout``."""
        if self._pending:
            return self._pending.popleft()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line, self._buf = self._buf[:nl], self._buf[nl + 1:]
                message = protocol.decode(line)
                if message is not None:
                    return message
                continue
            if len(self._buf) > MAX_LINE_BYTES:
                raise ChannelClosed("a message over the size limit")
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.sock], [], [], wait)
            if not ready:
                raise TimeoutError
            try:
                data = self.sock.recv(1 << 16)
            except (ConnectionResetError, OSError):
                return None
            if not data:
                return None
            self._buf += data

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
