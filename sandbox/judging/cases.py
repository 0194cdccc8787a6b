"""Trusted cases: generated in the judge, sent to the learner's process as data.

Format v2 checks draw their inputs in the judge (``cases(gen, seed, device)``), where
learner code never runs. Each case travels to the learner child pickled on its own (so
cases never share a tensor the learner could mutate for the next one), in an order
shuffled per run; the child answers with one output per case in that order and the judge
puts them back. The child never sees the seed, the permutation, the reference, or the
keys of a dict case that start with ``_`` (judge-only ground truth, e.g. the slope the
data was drawn from).

The direction is judge -> child, so a pickle is safe here (a learner who planted a file
would only run code in its own process); the reverse direction never unpickles freely
(:mod:`sandbox.judging.codec`).

Hand-over: the judge writes ``cases.pkl`` into the run's output folder (atomically: a
temporary name, then ``os.replace``); the child waits for it after importing the file.
"""

from __future__ import annotations

import io
import os
import pickle
import secrets
import time
from typing import Any

CASES_FILE = "cases.pkl"
#: Keys of a dict case that start with this stay in the judge.
PRIVATE_PREFIX = "_"
#: What a case file may weigh: cases are inputs, not datasets.
MAX_CASES_BYTES = 256 * 1024 * 1024


class CaseError(Exception):
    """A case that cannot travel to the learner's process (a lesson bug)."""


def _rebuild_tensor_with_grad(tensor: Any, grad: Any) -> Any:
    tensor.grad = grad
    return tensor


class _CasePickler(pickle.Pickler):
    """``pickle`` that keeps ``.grad`` on leaf tensors and parameters (a model after
    ``backward()`` is a common case) — plain tensor pickling drops it."""

    def reducer_override(self, obj: Any) -> Any:
        import torch

        if isinstance(obj, torch.Tensor) and obj.is_leaf and obj.grad is not None:
            # A copy without .grad (pickled the ordinary way), the grad re-attached on load.
            if isinstance(obj, torch.nn.Parameter):
                bare = torch.nn.Parameter(obj.detach().clone(), requires_grad=obj.requires_grad)
            else:
                bare = obj.detach().clone().requires_grad_(obj.requires_grad)
            return _rebuild_tensor_with_grad, (bare, obj.grad.detach().clone())
        return NotImplemented


def pack(value: Any) -> bytes:
    buf = io.BytesIO()
    _CasePickler(buf, protocol=4).dump(value)
    return buf.getvalue()


def unpack(data: bytes) -> Any:
    return pickle.loads(data)  # noqa: S301 - written by the judge (see the module docstring)


def public(case: Any) -> Any:
    """What the learner's process gets of a case: dict keys starting with ``_`` removed."""
    if isinstance(case, dict):
        return {k: v for k, v in case.items() if not (isinstance(k, str) and k.startswith(PRIVATE_PREFIX))}
    return case


def shuffled_order(n: int) -> list[int]:
    """A per-run order (from the OS's randomness, not the seed); never the authored order
    when there are two cases or more, so answers replayed by call count always fail."""
    order = list(range(n))
    if n < 2:
        return order
    rng = secrets.SystemRandom()
    while order == sorted(order):
        rng.shuffle(order)
    return order


class Plan:
    """The judge's side of one check's cases: the originals, the order they were sent in."""

    def __init__(self, cases: list[Any]) -> None:
        self.cases = cases
        self.order = shuffled_order(len(cases))
        try:
            self.packed = [pack(public(cases[i])) for i in self.order]
        except Exception as exc:  # noqa: BLE001 - said as a lesson bug by the caller
            raise CaseError(f"a case cannot be sent to the learner's process ({type(exc).__name__}: {exc}); "
                            "cases must be picklable data (tensors, numbers, lists, dicts, modules)") from exc

    def fresh(self, authored_index: int) -> Any:
        """A fresh copy of a case as the learner saw it (for the reference to run on)."""
        return unpack(self.packed[self.order.index(authored_index)])

    def in_authored_order(self, outputs: list[Any]) -> list[Any]:
        """Outputs received in sent order -> outputs by authored case index."""
        back: list[Any] = [None] * len(self.order)
        for sent_pos, authored in enumerate(self.order):
            back[authored] = outputs[sent_pos]
        return back


def write(out_dir: str, payload: dict[str, Any]) -> None:
    """The judge hands the child its cases (``{"checks": {index: [bytes...]}, "error": ...}``)."""
    tmp = os.path.join(out_dir, f".{CASES_FILE}.{os.getpid()}")
    with open(tmp, "wb") as fh:
        pickle.dump(payload, fh, protocol=4)
    os.replace(tmp, os.path.join(out_dir, CASES_FILE))


def wait_and_read(out_dir: str, timeout_s: float) -> dict[str, Any]:
    """The child's side: wait for the judge's cases (the judge is started alongside)."""
    path = os.path.join(out_dir, CASES_FILE)
    deadline = time.monotonic() + timeout_s
    pause = 0.0005
    while True:
        try:
            if os.path.getsize(path) > MAX_CASES_BYTES:
                return {"error": "the cases are too large to send"}
            with open(path, "rb") as fh:
                payload = pickle.load(fh)  # noqa: S301 - see the module docstring
            return payload if isinstance(payload, dict) else {"error": "unreadable cases"}
        except FileNotFoundError:
            pass
        if time.monotonic() >= deadline:
            return {"error": "the checker did not send the cases in time"}
        time.sleep(pause)
        pause = min(pause * 2, 0.01)
