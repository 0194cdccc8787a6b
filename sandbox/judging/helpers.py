"""Helpers that check code (cases, probes, judges) can call, beyond ``expect_close``.

* statistical thresholds with the seed in the message: ``expect_between``, ``expect_at_least``
  (and ``expect_at_most``) — a threshold that fails on one seed in twenty is a lesson bug that
  ``lint --seeds N`` finds, and the seed in the message lets an author replay it;
* devices: ``expect_on_device`` (a check may require the learner's tensors on the run's device);
* files and bytes from the probe to the judge: ``send_file`` / ``send_bytes`` in the probe,
  a :class:`Blob` in the judge (``.data``, ``.path()`` for loaders that want a file);
* servers: ``AsgiClient`` drives the learner's ASGI app (FastAPI, Starlette) in-process with
  requests the judge chose; the probe returns the responses as plain data;
* optional packages: ``require_module`` skips the check, with the install command, when a
  package is missing (``extra`` is the pyproject group: fastapi/httpx -> ``serve``);
* assets: ``asset_path(name)``, the lesson's data file of that name (read-only).
"""

from __future__ import annotations

import json as _json
import math
import os
from typing import Any

from sandbox.judging.codec import BLOB_KEY, Blob, Outgoing
from sandbox.judging.compare import CheckFailed, CheckSkipped, fail

#: What one file or byte string from the probe may weigh, unless the probe asks for less.
MAX_BLOB_BYTES = 32 * 1024 * 1024


# --- statistical thresholds -----------------------------------------------------------------


def _number(value: Any, what: str) -> float:
    try:
        import torch

        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                fail(f"{what}: expected a single number, got a tensor of shape {tuple(value.shape)}")
            value = value.item()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"{what}: expected a number, got {type(value).__name__}")
    if math.isnan(float(value)):
        fail(f"{what} is NaN — the computation diverged (a learning rate too high? a log of zero?)")
    return float(value)


def _seed_note(seed: Any) -> str:
    return f" (seed {seed})" if seed is not None else ""


def expect_between(value: Any, low: float, high: float, what: str = "the value", *, seed: Any = None) -> float:
    """Fail unless ``low <= value <= high``; the message names the seed of this run."""
    v = _number(value, what)
    if not low <= v <= high:
        fail(f"{what} is {v:.4g}, expected between {low:g} and {high:g}{_seed_note(seed)}")
    return v


def expect_at_least(value: Any, low: float, what: str = "the value", *, seed: Any = None) -> float:
    v = _number(value, what)
    if v < low:
        fail(f"{what} is {v:.4g}, expected at least {low:g}{_seed_note(seed)}")
    return v


def expect_at_most(value: Any, high: float, what: str = "the value", *, seed: Any = None) -> float:
    v = _number(value, what)
    if v > high:
        fail(f"{what} is {v:.4g}, expected at most {high:g}{_seed_note(seed)}")
    return v


# --- devices --------------------------------------------------------------------------------


def device_type(device: Any) -> str:
    return str(device).split(":")[0]


def expect_on_device(value: Any, device: Any, what: str = "the result") -> None:
    """Fail unless every tensor in ``value`` (probe data) lived on ``device``'s type."""
    from sandbox.judging.compare import TensorInfo, unwrap

    want = device_type(device)

    def walk(v: Any, name: str) -> None:
        info = unwrap(v)
        if isinstance(info, TensorInfo):
            if device_type(info.device) != want:
                fail(f"{name} is on {info.device}, expected it on {device} — move it with `.to(device)` "
                     f"(or create it there with `device=`)")
        elif isinstance(v, dict):
            for k, item in v.items():
                walk(item, f"{name}[{k!r}]")
        elif isinstance(v, (list, tuple)):
            for i, item in enumerate(v):
                walk(item, f"{name}[{i}]")

    walk(value, what)


# --- files and bytes ------------------------------------------------------------------------


def send_bytes(data: bytes, name: str = "bytes", max_bytes: int = MAX_BLOB_BYTES) -> Outgoing:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        fail(f"expected bytes for {name}, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > min(max_bytes, MAX_BLOB_BYTES):
        fail(f"{name} is {len(data) / 1e6:.1f} MB; this check accepts at most {min(max_bytes, MAX_BLOB_BYTES) / 1e6:.1f} MB")
    return Outgoing(data, name)


def send_file(path: str, max_bytes: int = MAX_BLOB_BYTES) -> Outgoing:
    """In a probe: hand the judge a file the learner's code wrote (size-capped)."""
    limit = min(max_bytes, MAX_BLOB_BYTES)
    try:
        size = os.path.getsize(path)
    except OSError:
        fail(f"your code should have written `{path}`, but there is no such file")
    if size > limit:
        fail(f"`{path}` is {size / 1e6:.1f} MB; this check accepts at most {limit / 1e6:.1f} MB")
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    return send_bytes(data, os.path.basename(path), limit)


# --- assets ---------------------------------------------------------------------------------

#: The lesson's assets for this run (name -> absolute path); the harness fills it from the job.
ASSETS: dict[str, str] = {}


def asset_path(name: str) -> str:
    """In check code (cases, probe, judge): the file of the lesson's asset ``name``."""
    if name in ASSETS:
        return ASSETS[name]
    known = ", ".join(sorted(ASSETS)) or "none"
    raise LookupError(f"check code asked for the asset {name!r}, which this lesson does not declare "
                      f"(its assets: {known}) — a lesson bug")


# --- optional packages ----------------------------------------------------------------------


def require_module(name: str, extra: str = "") -> Any:
    """Import ``name`` or skip the check with the command that installs it."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        how = f"pip install 'pytorch-tutor[{extra}]'" if extra else f"pip install {name}"
        raise CheckSkipped(f"this check needs the `{name}` package, which is not installed: {how}") from None


# --- servers: an in-process ASGI client -----------------------------------------------------


class AsgiClient:
    """Drive an ASGI app (``learner.app``) in-process, without sockets or extra packages.

    ``with AsgiClient(learner.app) as client: r = client.request("POST", "/predict", json={...})``
    returns ``{"status": 200, "headers": {...}, "text": "...", "json": ...}`` — plain data
    a probe can return for the judge. Lifespan start-up/shut-down run on enter/exit.
    """

    def __init__(self, app: Any, timeout_s: float = 10.0) -> None:
        import asyncio

        if not callable(app):
            fail(f"expected an ASGI app (for example `app = FastAPI()`), got {type(app).__name__}")
        self.app = app
        self.timeout_s = timeout_s
        self.loop = asyncio.new_event_loop()
        self._lifespan: Any = None
        self._to_app: Any = None
        self._from_app: Any = None

    # lifespan ---------------------------------------------------------------------------
    def __enter__(self) -> "AsgiClient":
        import asyncio

        async def start() -> None:
            self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()

            async def run() -> None:
                try:
                    await self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                   self._to_app.get, self._from_app.put)
                except Exception as exc:  # noqa: BLE001 - an app without lifespan support
                    await self._from_app.put({"type": "lifespan.unsupported", "error": repr(exc)})

            self._lifespan = asyncio.ensure_future(run())
            await self._to_app.put({"type": "lifespan.startup"})
            message = await asyncio.wait_for(self._from_app.get(), self.timeout_s)
            if message.get("type") == "lifespan.startup.failed":
                fail(f"your app failed to start: {message.get('message', '')}")

        self.loop.run_until_complete(start())
        return self

    def __exit__(self, *exc: Any) -> None:
        import asyncio

        async def stop() -> None:
            if self._lifespan is not None and not self._lifespan.done():
                await self._to_app.put({"type": "lifespan.shutdown"})
                try:
                    await asyncio.wait_for(self._from_app.get(), self.timeout_s)
                except (asyncio.TimeoutError, Exception):  # noqa: BLE001
                    pass
                self._lifespan.cancel()

        try:
            self.loop.run_until_complete(stop())
        finally:
            self.loop.close()

    # requests ---------------------------------------------------------------------------
    def request(self, method: str, path: str, *, json: Any = None, body: bytes = b"",
                headers: dict[str, str] | None = None) -> dict[str, Any]:
        import asyncio

        path, _, query = path.partition("?")
        head = {k.lower(): v for k, v in (headers or {}).items()}
        if json is not None:
            body = _json.dumps(json).encode()
            head.setdefault("content-type", "application/json")
        head.setdefault("content-length", str(len(body)))
        head.setdefault("host", "testserver")
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method.upper(),
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
            "root_path": "", "headers": [(k.encode(), str(v).encode()) for k, v in head.items()],
            "client": ("127.0.0.1", 50000), "server": ("testserver", 80), "state": {},
        }
        sent = {"done": False}
        response: dict[str, Any] = {"status": None, "headers": {}, "chunks": []}

        async def receive() -> dict[str, Any]:
            if not sent["done"]:
                sent["done"] = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(self.timeout_s)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                response["status"] = int(message.get("status", 0))
                response["headers"] = {bytes(k).decode("latin-1"): bytes(v).decode("latin-1")
                                       for k, v in message.get("headers", [])}
            elif message.get("type") == "http.response.body":
                response["chunks"].append(bytes(message.get("body", b"")))

        async def call() -> None:
            await asyncio.wait_for(self.app(scope, receive, send), self.timeout_s)

        error = ""
        try:
            self.loop.run_until_complete(call())
        except asyncio.TimeoutError:
            fail(f"{method.upper()} {path} got no answer within {self.timeout_s:g} s")
        except Exception as exc:  # noqa: BLE001
            # Starlette answers 500 and then re-raises: the response is what a client sees.
            if response["status"] is None:
                raise
            error = f"{type(exc).__name__}: {exc}"
        text = b"".join(response["chunks"]).decode("utf-8", errors="replace")
        try:
            parsed = _json.loads(text) if text else None
        except ValueError:
            parsed = None
        result = {"status": response["status"], "headers": response["headers"], "text": text, "json": parsed}
        if error:
            result["error"] = error
        return result


__all__ = ["AsgiClient", "Blob", "asset_path", "CheckFailed", "CheckSkipped", "expect_at_least", "expect_at_most",
           "expect_between", "expect_on_device", "require_module", "send_bytes", "send_file"]
