"""Session recordings: every run and check, written as versioned JSON lines, and read back.

A *session* is one tutor process (one CLI command, or one TUI session). Its log lives in the
user data dir as ``sessions/YYYYmmdd-HHMMSS-PID.jsonl`` (format in ``docs/recording.md``):

* line 1, the header: ``{"type": "session", "format": 1, "id": ..., "started": ..., ...}``;
* then one ``{"type": "run", ...}`` record per run or check: the time, lesson and exercise,
  a copy of the code, the device and isolation level, the events (capped), the artifacts
  and the verdict.

Why nothing is lost: the file is born complete — header and first record are written to a
temporary file and *linked* into place (never over an existing file) — and every later
record is one ``os.write`` of one line on an ``O_APPEND`` descriptor, then ``fsync``. A crash
can at worst cut the last line short; the reader keeps every complete record and says that
the last one was cut off. Shipped lesson recordings use the same format.

This module never imports torch, and neither does anything it imports.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from sandbox.protocol import RunRequest, RunResult
from tutor.storage import fsync_dir

#: Version of the session file format. Readers refuse files with a larger number.
SESSION_FORMAT = 1
SUFFIX = ".jsonl"

#: Output kept per record: stdout/stderr/metric/log events past this many bytes are dropped
#: (and counted). Check and final events are always kept: they are the verdict.
EVENTS_CAP_BYTES = 256 * 1024
#: Artifacts kept per record; past it an artifact is replaced by a short placeholder.
ARTIFACTS_CAP_BYTES = 4 * 1024 * 1024
#: Largest copy of the learner's code kept per record.
CODE_CAP_BYTES = 512 * 1024
#: Event types that are always kept whatever their size.
_ESSENTIAL = ("started", "check", "final")
RECORD_KINDS = ("run", "check")
STATUSES = ("pass", "fail", "error")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _line(obj: dict[str, Any]) -> bytes:
    """One record as one line of strict JSON (NaN/inf made safe by the protocol encoder)."""
    from sandbox.protocol import encode

    return encode(obj)


def _write_all(fd: int, data: bytes) -> None:
    # A regular file takes the whole buffer in one write; the loop only guards odd filesystems.
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


# --- writing ---------------------------------------------------------------------------------


class SessionRecorder:
    """Appends this process's runs to one session file, created on the first record.

    Recording never breaks a run: a write that fails (disk full, read-only data dir) is
    remembered in :attr:`error` for the UI to show, and the run's result is returned as usual.
    """

    def __init__(self, sessions_dir: Path, argv: list[str] | None = None,
                 device: str | None = None, extra: dict[str, Any] | None = None) -> None:
        self.sessions_dir = Path(sessions_dir)
        self.argv = list(sys.argv[1:] if argv is None else argv)
        self.device = device
        self.extra = dict(extra or {})
        self.started = _now()
        self.id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
        self.path: Path | None = None
        self.error: str | None = None
        self.count = 0
        self._fd: int | None = None
        self._lock = threading.Lock()   # the TUI may finish runs on more than one thread
        # fsync happens off the learner's path: once os.write returns, the line is in the
        # kernel and survives the process being killed; fsync only guards against power loss.
        self._dirty = threading.Event()
        self._syncer: threading.Thread | None = None

    def header(self) -> dict[str, Any]:
        from tutor import __version__

        head = {"type": "session", "format": SESSION_FORMAT, "id": self.id, "started": self.started,
                "tutor": __version__, "pid": os.getpid(), "argv": self.argv}
        if self.device:
            head["device"] = self.device
        head.update(self.extra)
        return head

    def begin(self, request: RunRequest) -> "RunRecording":
        """Start recording ``request``; call :meth:`RunRecording.finish` when it is over."""
        return RunRecording(self, request)

    def write(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        try:
            if self._fd is None:
                self._create(_line(self.header()) + _line(record))
            else:
                _write_all(self._fd, _line(record))
                self._request_fsync()
            self.count += 1
        except OSError as exc:
            self.error = f"could not record this run in {self.sessions_dir}: {exc.strerror or exc}"

    def _create(self, first: bytes) -> None:
        """Publish a complete file (header + first record), never over an existing one."""
        self.sessions_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.id}.", suffix=".tmp", dir=self.sessions_dir)
        try:
            _write_all(fd, first)
            os.fsync(fd)
            os.close(fd)
            n = 1
            while True:
                name = self.id if n == 1 else f"{self.id}-{n}"
                target = self.sessions_dir / f"{name}{SUFFIX}"
                try:
                    os.link(tmp, target)   # fails if the name exists: nothing is overwritten
                    break
                except FileExistsError:
                    n += 1
                except OSError:
                    # A filesystem without hard links: exclusive create, then one write.
                    try:
                        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                    except FileExistsError:
                        n += 1
                        continue
                    try:
                        _write_all(out, first)
                        os.fsync(out)
                    finally:
                        os.close(out)
                    break
            self.id = name
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        fsync_dir(self.sessions_dir)
        self.path = target
        self._fd = os.open(target, os.O_WRONLY | os.O_APPEND)

    def _request_fsync(self) -> None:
        self._dirty.set()
        if self._syncer is None:
            self._syncer = threading.Thread(target=self._sync_loop, name="session-fsync", daemon=True)
            self._syncer.start()

    def _sync_loop(self) -> None:
        while True:
            self._dirty.wait()
            self._dirty.clear()
            with self._lock:   # so close() cannot close the descriptor under us
                if self._fd is None:
                    return
                try:
                    os.fsync(self._fd)
                except OSError:
                    pass

    def close(self) -> None:
        """Flush to disk and close (the tutor calls this on exit)."""
        with self._lock:
            fd, self._fd = self._fd, None
            self._dirty.set()   # wakes the syncer, which sees the descriptor gone and ends
            if fd is not None:
                try:
                    os.fsync(fd)
                except OSError:
                    pass
                try:
                    os.close(fd)
                except OSError:
                    pass


def _split_ref(ref: str) -> tuple[str | None, str | None]:
    """``"1.3/standardize"`` -> ``("1.3", "1.3/standardize")``; a bare lesson id -> ``("1.3", None)``."""
    if not ref:
        return None, None
    if "/" in ref:
        return ref.split("/", 1)[0], ref
    return ref, None


def _read_code(path: str) -> tuple[str | None, bool]:
    try:
        with open(path, "rb") as fh:
            data = fh.read(CODE_CAP_BYTES + 1)
    except OSError:
        return None, False
    truncated = len(data) > CODE_CAP_BYTES
    return data[:CODE_CAP_BYTES].decode("utf-8", errors="replace"), truncated


class RunRecording:
    """One run being recorded: a copy of the code now, the events as they come, the verdict last."""

    def __init__(self, recorder: SessionRecorder, request: RunRequest) -> None:
        self.recorder = recorder
        self.request = request
        self.time = _now()
        # The copy is taken before the run: the file the learner checked, not a later save.
        self.code, self.code_truncated = _read_code(request.file)
        self.events: list[dict[str, Any]] = []
        self.artifacts: list[dict[str, Any]] = []
        self.events_bytes = 0
        self.artifacts_bytes = 0
        self.dropped_events = 0
        self.dropped_bytes = 0
        self.omitted_artifacts = 0

    def add(self, event: dict[str, Any]) -> None:
        """Keep ``event`` if it fits the caps (never raises: it runs inside the engine)."""
        try:
            self._add(event)
        except Exception:  # noqa: BLE001 - an odd event must not break the run
            self.dropped_events += 1

    def _add(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "hello":
            return
        size = len(_line(event))
        if kind == "artifact":
            if self.artifacts_bytes + size > ARTIFACTS_CAP_BYTES:
                self.omitted_artifacts += 1
                event = {"type": "artifact", "kind": event.get("kind"), "title": event.get("title", ""),
                         "omitted": f"{size:,} bytes, over the recording's {ARTIFACTS_CAP_BYTES:,}-byte cap",
                         "data": None}
                size = len(_line(event))
            self.artifacts_bytes += size
            self.artifacts.append(event)
            self.events.append({"type": "artifact", "ref": len(self.artifacts) - 1})
            return
        if kind not in _ESSENTIAL and self.events_bytes + size > EVENTS_CAP_BYTES:
            self.dropped_events += 1
            self.dropped_bytes += size
            return
        self.events_bytes += size
        self.events.append(event)

    def finish(self, result: RunResult, worker: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Write the record; returns it (``None`` if it could not even be built)."""
        try:
            record = self.build(result, worker or {})
        except Exception as exc:  # noqa: BLE001
            self.recorder.error = f"could not record this run: {exc}"
            return None
        self.recorder.write(record)
        return record

    def build(self, result: RunResult, worker: dict[str, Any]) -> dict[str, Any]:
        req = self.request
        lesson, exercise = _split_ref(req.exercise)
        summary = result.to_json(req.kind if req.kind in RECORD_KINDS else "run")
        for key in ("stdout", "stderr", "artifacts", "metrics", "isolation"):
            summary.pop(key, None)   # they are in the events and artifacts already
        isolation = result.isolation or dict(worker.get("isolation") or {})
        return {
            "type": "run",
            "seq": self.recorder.count + 1,
            "time": self.time,
            "kind": req.kind,
            "lesson": lesson,
            "exercise": exercise,
            "file": req.file,
            "code": self.code,
            "code_truncated": self.code_truncated,
            "seed": req.seed,
            "device": req.device,
            "worker": {k: worker[k] for k in ("python", "torch", "executable") if k in worker},
            "isolation": {"level": isolation.get("level", "unknown"), "off": list(isolation.get("off") or [])},
            "status": result.status,
            "result": summary,
            "events": self.events,
            "events_dropped": self.dropped_events,
            "events_dropped_bytes": self.dropped_bytes,
            "artifacts": self.artifacts,
            "artifacts_omitted": self.omitted_artifacts,
        }


# --- reading ---------------------------------------------------------------------------------


class SessionError(Exception):
    """A session file that cannot be replayed at all (no header, or a newer format)."""

    def __init__(self, path: Path, reason: str, future: bool = False) -> None:
        self.path = path
        self.reason = reason
        self.future = future
        super().__init__(f"{path.name}: {reason}")


@dataclass
class Session:
    """A session file as read: its header, its complete records, and what was wrong with it."""

    path: Path
    header: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # skipped lines, a cut-off last line
    torn: bool = False                                    # the last line was cut short
    shipped: bool = False                                 # a recording shipped with a lesson

    @property
    def id(self) -> str:
        return str(self.header.get("id") or self.path.stem)

    @property
    def started(self) -> str:
        return str(self.header.get("started", ""))

    @property
    def lessons(self) -> list[str]:
        seen: list[str] = []
        for rec in self.records:
            if rec.get("lesson") and rec["lesson"] not in seen:
                seen.append(rec["lesson"])
        return seen

    def title(self) -> str:
        what = "shipped recording" if self.shipped else "session"
        return f"{what} {self.id}" + (f" ({self.started})" if self.started else "")


def validate_record(rec: Any) -> list[str]:
    """What is wrong with one ``run`` record (empty when it can be replayed)."""
    if not isinstance(rec, dict):
        return ["not a JSON object"]
    problems = []
    if rec.get("kind") not in RECORD_KINDS:
        problems.append(f"kind must be one of {', '.join(RECORD_KINDS)}, not {rec.get('kind')!r}")
    if rec.get("status") not in STATUSES:
        problems.append(f"status must be one of {', '.join(STATUSES)}, not {rec.get('status')!r}")
    for key, kind in (("time", str), ("result", dict), ("events", list), ("artifacts", list)):
        if not isinstance(rec.get(key), kind):
            problems.append(f"{key} is missing or not {kind.__name__}")
    for key in ("lesson", "exercise", "code", "device"):
        if rec.get(key) is not None and not isinstance(rec.get(key), str):
            problems.append(f"{key} must be a string")
    if isinstance(rec.get("events"), list):
        n_art = len(rec["artifacts"]) if isinstance(rec.get("artifacts"), list) else 0
        for i, ev in enumerate(rec["events"]):
            if not isinstance(ev, dict) or not isinstance(ev.get("type"), str):
                problems.append(f"events[{i}] is not an event")
                break
            if ev["type"] == "artifact" and not (isinstance(ev.get("ref"), int) and 0 <= ev["ref"] < n_art):
                problems.append(f"events[{i}] refers to a missing artifact")
                break
    if isinstance(rec.get("artifacts"), list):
        for i, art in enumerate(rec["artifacts"]):
            if not isinstance(art, dict) or not isinstance(art.get("kind"), str):
                problems.append(f"artifacts[{i}] has no kind")
                break
    if isinstance(rec.get("result"), dict) and not isinstance(rec["result"].get("checks", []), list):
        problems.append("result.checks must be a list")
    return problems


def read_session(path: Path, shipped: bool = False) -> Session:
    """Read a session file, keeping every complete, valid record.

    Raises :class:`SessionError` when there is no readable header or the file is of a newer
    format. A cut-off last line (a crash mid-write) and unreadable lines are skipped and
    listed in :attr:`Session.problems`.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SessionError(path, f"cannot read: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline, else a cut-off line
    if not lines and not tail:
        raise SessionError(path, "empty file")
    header: Any = None
    first = lines[0] if lines else tail
    try:
        header = json.loads(first)
    except (ValueError, UnicodeDecodeError):
        pass
    if not isinstance(header, dict) or header.get("type") != "session":
        raise SessionError(path, "not a session log (no session header on line 1)")
    fmt = header.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise SessionError(path, "the session header has no format number")
    if fmt > SESSION_FORMAT:
        raise SessionError(path, f"written by a newer pytorch-tutor (format {fmt}, this one reads "
                                 f"{SESSION_FORMAT})", future=True)
    session = Session(path, header, shipped=shipped)
    if not lines:   # the header itself has no newline: nothing else was written
        return session
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            session.problems.append(f"line {number}: not valid JSON; skipped")
            continue
        if not isinstance(rec, dict):
            session.problems.append(f"line {number}: not a JSON object; skipped")
            continue
        if rec.get("type") != "run":
            continue   # a record type from a newer minor version: readers ignore what they do not know
        wrong = validate_record(rec)
        if wrong:
            session.problems.append(f"line {number}: {wrong[0]}; skipped")
            continue
        session.records.append(rec)
    if tail.strip():
        session.torn = True
        session.problems.append(f"line {len(lines) + 1}: cut off (the tutor stopped while writing it); skipped")
    return session


def validate_session_file(path: Path) -> list[str]:
    """Strict check for shipped recordings: every problem, including a cut-off last line."""
    try:
        session = read_session(path, shipped=True)
    except SessionError as exc:
        return [exc.reason]
    problems = list(session.problems)
    if not session.records:
        problems.append("no run records")
    return problems


def record_result(rec: dict[str, Any]) -> RunResult:
    """Rebuild the :class:`RunResult` a record was made from (output, checks, visuals, verdict)."""
    result = RunResult()
    artifacts = rec.get("artifacts") or []
    for event in rec.get("events") or []:
        if event.get("type") == "artifact":
            ref = event.get("ref")
            if isinstance(ref, int) and 0 <= ref < len(artifacts):
                artifact = artifacts[ref]
                if artifact.get("omitted"):   # too big to keep: say so where it would be drawn
                    title = f"{artifact.get('title') or artifact.get('kind')} (not kept: {artifact['omitted']})"
                    artifact = {**artifact, "title": title}
                result.apply(artifact)
            continue
        if event.get("type") == "check":
            continue   # the summary below is authoritative
        try:
            result.apply(event)
        except (TypeError, ValueError):
            continue
    summary = rec.get("result") or {}
    result.status = str(rec.get("status") or summary.get("status") or "error")
    result.outcome = str(summary.get("outcome", result.outcome))
    result.detail = str(summary.get("detail", result.detail))
    from sandbox.protocol import CheckResult

    result.checks = [CheckResult(str(c.get("name", "")), str(c.get("status", "error")), str(c.get("message", "")))
                     for c in summary.get("checks") or [] if isinstance(c, dict)]
    result.duration_ms = float(summary.get("duration_ms", result.duration_ms) or 0.0)
    result.error = str(summary.get("error", result.error) or "")
    result.truncated = bool(summary.get("truncated", result.truncated))
    result.dropped_bytes = int(summary.get("dropped_bytes", result.dropped_bytes) or 0)
    iso = rec.get("isolation") or {}
    result.isolation = dict(iso) if isinstance(iso, dict) else {}
    return result


# --- finding sessions ------------------------------------------------------------------------


@dataclass
class Listing:
    """The sessions in a folder, newest last, and notices about files that were set aside."""

    sessions: list[Session]
    notices: list[str]


def session_files(sessions_dir: Path) -> list[Path]:
    try:
        return sorted(p for p in Path(sessions_dir).iterdir()
                      if p.suffix == SUFFIX and not p.name.startswith(".") and p.is_file())
    except OSError:
        return []


def list_sessions(sessions_dir: Path, set_aside_corrupt: bool = True) -> Listing:
    """Read every session in ``sessions_dir``.

    A file this version cannot replay — corrupt (no readable header) or written by a newer
    tutor — is moved aside (``NAME.broken-TIMESTAMP``, content untouched) so it stops
    showing up, with a notice naming where it went.
    """
    from tutor.storage import set_aside

    sessions: list[Session] = []
    notices: list[str] = []
    for path in session_files(sessions_dir):
        try:
            sessions.append(read_session(path))
        except SessionError as exc:
            if not set_aside_corrupt:
                notices.append(f"{path.name} skipped: {exc.reason}")
                continue
            try:
                moved = set_aside(path)
                notices.append(f"{path.name} could not be read ({exc.reason}); it was moved to {moved}")
            except OSError:
                notices.append(f"{path.name} could not be read ({exc.reason})")
    return Listing(sessions, notices)


def find_session(sessions_dir: Path, name: str) -> Session:
    """A session by file path, id, or unique id prefix. Raises ``LookupError`` with a clear message."""
    candidate = Path(name).expanduser()
    if candidate.suffix == SUFFIX and candidate.is_file():
        return read_session(candidate)
    files = session_files(sessions_dir)
    exact = [p for p in files if p.stem == name]
    matches = exact or [p for p in files if p.stem.startswith(name)]
    if not matches:
        raise LookupError(f"no recorded session {name!r} (see `pytorch-tutor replay --list`)")
    if len(matches) > 1:
        shown = ", ".join(p.stem for p in matches[:5]) + (", ..." if len(matches) > 5 else "")
        raise LookupError(f"{name!r} matches {len(matches)} sessions: {shown}")
    return read_session(matches[0])


def records_for(sessions: Iterable[Session], lesson_or_ref: str) -> list[tuple[Session, dict[str, Any]]]:
    """Every record about a lesson (``1.3``) or an exercise (``1.3/standardize``), in order."""
    out = []
    for session in sessions:
        for rec in session.records:
            if rec.get("lesson") == lesson_or_ref or rec.get("exercise") == lesson_or_ref:
                out.append((session, rec))
    return out


# --- what a replay shows ---------------------------------------------------------------------


@dataclass
class Attempt:
    """One recorded run or check, and the session it came from."""

    session: Session
    record: dict[str, Any]

    @property
    def label(self) -> str:
        rec = self.record
        what = rec.get("exercise") or rec.get("lesson") or Path(str(rec.get("file") or "?")).name
        return f"{rec.get('kind', 'run')} {what}"

    def result(self) -> RunResult:
        return record_result(self.record)

    def facts(self) -> str:
        """One line: when, where, how isolated (and that it was shipped, when it was)."""
        rec = self.record
        iso = rec.get("isolation") or {}
        worker = rec.get("worker") or {}
        parts = [str(rec.get("time", "")), f"device {rec.get('device') or '?'}",
                 f"isolation {iso.get('level', '?')}"]
        if worker.get("torch"):
            parts.append(f"torch {worker['torch']}")
        if self.session.shipped:
            parts.append("shipped with the lesson")
        return " · ".join(p for p in parts if p)


@dataclass
class Replay:
    """What ``replay`` shows: a title, the attempts in order, and notes about skipped data."""

    title: str
    attempts: list[Attempt]
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of_session(cls, session: Session) -> "Replay":
        return cls(session.title(), [Attempt(session, r) for r in session.records],
                   [f"{session.path.name}: {p}" for p in session.problems])


def shipped_recording_problems(lesson: Any) -> list[str]:
    """``lint``'s check of a lesson's ``recordings``: each file exists, is a valid session
    log with no cut-off or bad line, and is about this lesson's exercises."""
    problems: list[str] = []
    slugs = {ex.ref for ex in lesson.exercises}
    for file in lesson.recordings:
        path = Path(file)
        where = f"{lesson.path or lesson.id}: recordings: {path.name}"
        if not path.is_file():
            problems.append(f"{where}: no such file ({path})")
            continue
        wrong = validate_session_file(path)
        problems.extend(f"{where}: {p}" for p in wrong)
        if wrong:
            continue
        for n, rec in enumerate(read_session(path, shipped=True).records, start=1):
            if rec.get("lesson") != lesson.id:
                problems.append(f"{where}: record {n} is about lesson {rec.get('lesson')!r}, not {lesson.id}")
            elif rec.get("exercise") and rec["exercise"] not in slugs:
                problems.append(f"{where}: record {n} is about {rec['exercise']}, which this lesson does not have")
    return problems
