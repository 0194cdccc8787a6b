"""The wire protocol between the tutor (client) and the sandbox worker.

This is the one module that both sides import, so it uses only the standard library and
must never import torch or textual.

Everything crosses process boundaries as **JSON lines**: one JSON object per line, UTF-8,
each with a ``"type"`` field. Three streams use it:

* client -> worker: one *request* per line (``{"type": "run", ...}``).
* worker -> client: *events* about that request, ending with exactly one ``final`` event.
  Every event of a request carries the request's ``run_id``; a client ignores events whose
  ``run_id`` is not the one it is waiting for (protocol 2).
* learner child -> worker: events written by learner-side helpers (``show``, metrics) on a
  dedicated file descriptor, never on stdout, so ``print`` cannot forge them. The worker
  re-validates and forwards only the event types a child may send (``CHILD_EVENT_TYPES``).

Versioning: ``PROTOCOL_VERSION`` is bumped only for incompatible changes; new event types
and new optional fields are compatible additions, and readers ignore what they do not know.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterator

PROTOCOL_VERSION = 2

#: Version of the JSON printed by ``check --json`` / ``run --json`` and friends.
RESULT_FORMAT = 1

# --- outcomes and statuses ---------------------------------------------------------------

#: How the learner's process ended.
OUTCOMES = ("ok", "exception", "timeout", "memory", "signal", "exit")
#: The verdict of a whole run or check.
#: ``pass``  - the code ran and every check passed (for ``run``: the code ran to the end);
#: ``fail``  - the learner's code ran but a check failed, or the code crashed or hung;
#: ``error`` - the tutor could not reach a verdict (broken check, worker failure, bad input).
STATUSES = ("pass", "fail", "error")
CHECK_STATUSES = ("pass", "fail", "error", "skip")

# --- event types ----------------------------------------------------------------------------

#: worker -> client
EVENT_TYPES = (
    "hello",      # the worker is up: {"protocol", "python", "torch", "pid", "isolation"}
    "started",    # the learner's child started: {"run_id", "pid"}
    "stdout",     # {"text", "truncated"}: a chunk of the learner's standard output
    "stderr",     # {"text", "truncated"}
    "metric",     # {"name", "value", "step"}
    "artifact",   # {"kind", "data", "title"}: something to draw (tensor, graph, curve, ...)
    "check",      # {"name", "status", "message"}: one check's result
    "final",      # the run is over: see ``Final`` below
    "log",        # {"level", "message"}: worker diagnostics, not learner output
)
#: What the learner's side may send on its event descriptor.
CHILD_EVENT_TYPES = ("metric", "artifact")

#: Kinds of ``artifact`` events that ``sandbox.show`` sends and ``tutor.render`` draws; the
#: ``data`` schema of each is documented in docs/visuals.md. Readers skip unknown kinds.
ARTIFACT_KINDS = ("tensor", "graph", "module", "curve", "image", "heatmap", "profile",
                  "tensorboard", "text")
#: ``show`` replaces an artifact whose encoded event would exceed this by a short note.
MAX_ARTIFACT_BYTES = 4 * 1024 * 1024

#: Default cap on learner output kept per stream (bytes). Past it, output is dropped and
#: counted; the final event says how many bytes were dropped.
DEFAULT_OUTPUT_CAP = 64 * 1024
#: Cap on one event line from a child; longer lines are dropped whole.
MAX_CHILD_EVENT_BYTES = 16 * 1024 * 1024
#: Caps on the learner events of one run, per type, and on their bytes in all. Past them,
#: events are dropped and counted; the final event says how many (``dropped_events``).
MAX_CHILD_EVENTS = {"metric": 10000, "artifact": 200}
MAX_CHILD_EVENT_TOTAL = 64 * 1024 * 1024


def _clean(value: Any) -> Any:
    """Make ``value`` strict-JSON safe: NaN and infinities become strings."""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def encode(event: dict[str, Any]) -> bytes:
    """One event as one line of JSON, newline-terminated."""
    return (json.dumps(_clean(event), ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def decode(line: bytes | str) -> dict[str, Any] | None:
    """Parse one line; ``None`` for anything that is not a JSON object with a string type."""
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        return None
    return obj


def iter_lines(data: bytes) -> Iterator[dict[str, Any]]:
    for line in data.splitlines():
        event = decode(line)
        if event is not None:
            yield event


# --- requests -------------------------------------------------------------------------------


@dataclass
class Limits:
    """Per-run resource limits. Every field has a documented default (docs/sandbox.md)."""

    timeout_s: float = 10.0          # wall clock, enforced from outside the child
    cpu_s: float | None = None       # RLIMIT_CPU; None means "same as the wall timeout"
    memory_mb: int = 2048            # RLIMIT_DATA headroom above the worker's own data size
    file_size_mb: int = 64           # RLIMIT_FSIZE
    open_files: int = 256            # RLIMIT_NOFILE
    processes: int = 256             # RLIMIT_NPROC (the kernel ignores it for root)
    output_bytes: int = DEFAULT_OUTPUT_CAP
    network: bool = False            # False: a private network namespace with loopback only
    gpu_memory_fraction: float = 0.5

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Limits":
        data = dict(data or {})
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class RunRequest:
    """What the client asks the worker to do.

    ``kind`` is ``"run"`` (execute ``file`` and report) or ``"check"`` (execute ``file``,
    probe it with ``checks``, then judge the data in a clean process against
    ``solution``). ``checks`` is the list of check specs exactly as the lesson loader
    produced them (plain dicts); ``setup`` is lesson-provided code run before the checks.
    """

    kind: str
    file: str
    run_id: str = ""
    device: str = "cpu"
    seed: int = 0
    limits: Limits = field(default_factory=Limits)
    checks: list[dict[str, Any]] = field(default_factory=list)
    solution: str = ""
    exercise: str = ""
    workdir: str = ""
    #: Exercise-level helper code shared by cases, probes and judges: {"code", "file", "line"}.
    setup: dict[str, Any] | None = None
    #: Extra environment variables for the learner's process (``run --env NAME=VALUE``).
    env: dict[str, str] = field(default_factory=dict)
    #: Lesson format of the checks: 2 imports the learner file as a module during checks and
    #: uses the v2 signatures of cases/probe/judge (docs/lesson-format.md); 1 is the old way.
    format_version: int = 1
    #: The lesson's assets, name -> absolute path, to be readable (read-only) by learner and judge.
    assets: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "request",
            "protocol": PROTOCOL_VERSION,
            "kind": self.kind,
            "file": self.file,
            "run_id": self.run_id,
            "device": self.device,
            "seed": self.seed,
            "limits": self.limits.to_dict(),
            "checks": self.checks,
            "solution": self.solution,
            "exercise": self.exercise,
            "workdir": self.workdir,
            "setup": self.setup,
            "env": dict(self.env),
            "format_version": self.format_version,
            "assets": self.assets,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunRequest":
        if data.get("protocol") != PROTOCOL_VERSION:
            raise ValueError(f"protocol version {data.get('protocol')!r}, expected {PROTOCOL_VERSION}")
        kind = data.get("kind")
        if kind not in ("run", "check"):
            raise ValueError(f"unknown request kind {kind!r}")
        return cls(
            kind=kind,
            file=str(data["file"]),
            run_id=str(data.get("run_id", "")),
            device=str(data.get("device", "cpu")),
            seed=int(data.get("seed", 0)),
            limits=Limits.from_dict(data.get("limits")),
            checks=list(data.get("checks") or []),
            solution=str(data.get("solution", "")),
            exercise=str(data.get("exercise", "")),
            workdir=str(data.get("workdir", "")),
            setup=data.get("setup") or None,
            env={str(k): str(v) for k, v in (data.get("env") or {}).items()} if isinstance(data.get("env"), dict) else {},
            format_version=int(data.get("format_version", 1) or 1),
            assets={str(k): str(v) for k, v in (data.get("assets") or {}).items()},
        )


# --- results --------------------------------------------------------------------------------


@dataclass
class CheckResult:
    name: str
    status: str
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "message": self.message}


@dataclass
class RunResult:
    """Everything the client learned about one run, assembled from the event stream."""

    status: str = "error"
    outcome: str = "ok"
    detail: str = ""                      # e.g. the signal name, the exit code, the exception
    checks: list[CheckResult] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    dropped_bytes: int = 0
    duration_ms: float = 0.0
    child_ms: float = 0.0                 # how long the learner's process ran (no judging)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    isolation: dict[str, Any] = field(default_factory=dict)
    error: str = ""                       # why the tutor could not reach a verdict
    #: One-line messages from the sandbox about this run (dropped variables, files kept...):
    #: ``log`` events with level ``note``, shown beside the output.
    notes: list[str] = field(default_factory=list)
    #: Learner events dropped past the caps, by type (``MAX_CHILD_EVENTS``, ``MAX_CHILD_EVENT_TOTAL``).
    dropped_events: dict[str, int] = field(default_factory=dict)
    #: Where the worker's time went, in ms (prepare, launch, confine, child, judge): the
    #: worker's own account, for ``bench``; never shown as the learner's wait.
    timing: dict[str, float] = field(default_factory=dict)

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one event into the result (the client calls this for every event)."""
        kind = event.get("type")
        if kind in ("stdout", "stderr"):
            text = str(event.get("text", ""))
            setattr(self, kind, getattr(self, kind) + text)
            if event.get("truncated"):
                self.truncated = True
        elif kind == "metric":
            self.metrics.append(event)
        elif kind == "artifact":
            self.artifacts.append(event)
        elif kind == "log" and event.get("level") == "note":
            self.notes.append(str(event.get("message", "")))
        elif kind == "check":
            self.checks.append(
                CheckResult(str(event.get("name", "")), str(event.get("status", "error")),
                            str(event.get("message", "")))
            )
        elif kind == "final":
            self.status = str(event.get("status", "error"))
            self.outcome = str(event.get("outcome", "ok"))
            self.detail = str(event.get("detail", ""))
            self.truncated = bool(event.get("truncated", self.truncated))
            self.dropped_bytes = int(event.get("dropped_bytes", 0) or 0)
            self.duration_ms = float(event.get("duration_ms", 0.0) or 0.0)
            self.child_ms = float(event.get("child_ms", 0.0) or 0.0)
            self.isolation = dict(event.get("isolation") or {})
            self.error = str(event.get("error", ""))
            timing = event.get("timing")
            if isinstance(timing, dict):
                self.timing = {str(k): float(v) for k, v in timing.items() if isinstance(v, (int, float))}
            dropped = event.get("dropped_events")
            if isinstance(dropped, dict):
                self.dropped_events = {str(k): int(v) for k, v in dropped.items() if isinstance(v, int)}

    def to_json(self, kind: str = "check") -> dict[str, Any]:
        """The documented ``--json`` shape (docs/json.md), format ``RESULT_FORMAT``."""
        out: dict[str, Any] = {
            "format": RESULT_FORMAT,
            "status": self.status,
            "outcome": self.outcome,
            "detail": self.detail,
        }
        if kind == "check":
            out["checks"] = [c.to_dict() for c in self.checks]
        out.update(
            stdout=self.stdout,
            stderr=self.stderr,
            truncated=self.truncated,
            dropped_bytes=self.dropped_bytes,
            duration_ms=round(self.duration_ms, 1),
            artifacts=[{k: v for k, v in a.items() if k != "type"} for a in self.artifacts],
            metrics=[{k: v for k, v in m.items() if k != "type"} for m in self.metrics],
            isolation=self.isolation,
        )
        if self.notes:
            out["notes"] = list(self.notes)
        if self.error:
            out["error"] = self.error
        return out
