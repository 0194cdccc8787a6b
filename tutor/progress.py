"""The learner's progress: a versioned JSON file, written atomically.

Shape (version 1)::

    {"version": 1,
     "last": "1.3/standardize",                 # where the learner left off
     "exercises": {"1.3/standardize": {"state": "passed"|"attempted",
                                       "attempts": 3, "passes": 1,
                                       "hints_shown": 2, "solution_viewed": false,
                                       "first_passed": "2026-...", "last_attempt": "2026-..."}}}

An exercise missing from the file is ``new``. The same shape is what ``progress export``
writes and ``progress import`` reads (docs/recording.md).

Two tutor processes may share the file (the TUI open while ``check`` runs in another
terminal): every change takes a lock, re-reads the file and applies only its own change, so
neither overwrites the other's progress.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from tutor.storage import (atomic_write_json, atomic_write_text, read_versioned_json, remove_stale_temps,
                           set_aside)

PROGRESS_VERSION = 1
STATES = ("new", "attempted", "passed")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass
class Progress:
    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    notice: str | None = None   # set when a broken file was set aside on load

    @classmethod
    def load(cls, path: Path) -> "Progress":
        remove_stale_temps(path)
        data, notice = _read(path)
        return cls(path, data if data is not None else empty_progress(), notice)

    def save(self) -> None:
        self.data["version"] = PROGRESS_VERSION
        atomic_write_json(self.path, self.data)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on ``progress.json.lock`` (a no-op where ``fcntl`` is missing)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)   # closing releases the lock (so does being killed)

    def _update(self, change: Any) -> None:
        """Re-read the file under the lock, apply ``change(data)``, save: no lost updates."""
        with self._locked():
            fresh, notice = _read(self.path)
            if notice:
                self.notice = notice
            if fresh is not None:
                self.data = fresh
            change(self.data)
            self.save()

    def backup(self) -> Path | None:
        """Copy the file to ``progress.json.bak-TIMESTAMP`` (before a reset or an import)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.bak-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.bak-{stamp}-{n}")
        atomic_write_text(target, text)
        return target

    def reset(self, prefix: str | None = None) -> list[str]:
        """Forget ``prefix`` (a lesson id, an exercise ref) or everything; returns the refs removed."""
        removed: list[str] = []

        def change(data: dict[str, Any]) -> None:
            refs = [r for r in data["exercises"] if prefix is None or r == prefix or r.startswith(prefix + "/")]
            for ref in refs:
                del data["exercises"][ref]
            if data.get("last") in refs:
                data["last"] = None
            removed[:] = refs

        self._update(change)
        return removed

    def import_data(self, incoming: dict[str, Any], replace: bool = False) -> None:
        """Merge ``incoming`` (a validated progress document) into this one, or replace it."""
        def change(data: dict[str, Any]) -> None:
            merged = normalized(incoming) if replace else merge_progress(data, incoming)
            data.clear()
            data.update(merged)

        self._update(change)

    def entry(self, ref: str) -> dict[str, Any]:
        return self.data["exercises"].setdefault(ref, {"state": "attempted", "attempts": 0, "passes": 0,
                                                       "hints_shown": 0, "solution_viewed": False})

    def state(self, ref: str) -> str:
        item = self.data["exercises"].get(ref)
        return item.get("state", "attempted") if item else "new"

    @property
    def last(self) -> str | None:
        return self.data.get("last")

    def record_attempt(self, ref: str, passed: bool) -> None:
        def change(data: dict[str, Any]) -> None:
            item = self.entry(ref)
            item["attempts"] = int(item.get("attempts", 0)) + 1
            item["last_attempt"] = _now()
            if passed:
                item["passes"] = int(item.get("passes", 0)) + 1
                item["state"] = "passed"
                item.setdefault("first_passed", _now())
            data["last"] = ref

        self._update(change)

    def record_answer(self, ref: str, choice: int, correct: bool) -> None:
        """A predict question answered: an attempt (a pass when right); the first answer is kept
        apart, because the first prediction is the one that says what the learner expected."""
        self.record_attempt(ref, correct)

        def change(data: dict[str, Any]) -> None:
            item = self.entry(ref)
            item.setdefault("first_answer", choice)
            item["last_answer"] = choice

        self._update(change)

    def record_hint(self, ref: str, level: int) -> None:
        def change(data: dict[str, Any]) -> None:
            item = self.entry(ref)
            item["hints_shown"] = max(int(item.get("hints_shown", 0)), level)

        self._update(change)

    def record_solution_viewed(self, ref: str) -> None:
        self._update(lambda data: self.entry(ref).__setitem__("solution_viewed", True))

    def set_last(self, ref: str) -> None:
        if self.data.get("last") != ref:
            self._update(lambda data: data.__setitem__("last", ref))

    def counts(self, refs: list[str]) -> dict[str, int]:
        out = {s: 0 for s in STATES}
        for ref in refs:
            out[self.state(ref)] += 1
        return out


# --- the document: validation, normalisation, merging (also used by import/export) ----------

_COUNTERS = ("attempts", "passes", "hints_shown")
_STAMPS = ("first_passed", "last_attempt")


def empty_progress() -> dict[str, Any]:
    return {"version": PROGRESS_VERSION, "exercises": {}, "last": None}


def progress_problems(data: Any) -> list[str]:
    """What is wrong with a progress document, one line each, naming the field (empty: valid)."""
    if not isinstance(data, dict):
        return ["the file is not a JSON object"]
    problems: list[str] = []
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append("version: missing or not a positive integer")
    elif version > PROGRESS_VERSION:
        problems.append(f"version: {version} is newer than this pytorch-tutor reads ({PROGRESS_VERSION})")
    if data.get("last") is not None and not isinstance(data.get("last"), str):
        problems.append("last: must be an exercise id or null")
    exercises = data.get("exercises", {})
    if not isinstance(exercises, dict):
        return problems + ["exercises: must be an object keyed by exercise id"]
    for ref, item in exercises.items():
        where = f"exercises[{ref!r}]"
        if "/" not in ref:
            problems.append(f"{where}: the key must be an exercise id such as 1.3/standardize")
        if not isinstance(item, dict):
            problems.append(f"{where}: must be an object")
            continue
        if item.get("state", "attempted") not in STATES[1:]:
            problems.append(f"{where}.state: must be 'attempted' or 'passed', not {item.get('state')!r}")
        for key in _COUNTERS:
            value = item.get(key, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems.append(f"{where}.{key}: must be a whole number >= 0, not {value!r}")
        for key in ("first_answer", "last_answer"):   # predict questions: the choice's number
            value = item.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                problems.append(f"{where}.{key}: must be a choice number >= 1, not {value!r}")
        if not isinstance(item.get("solution_viewed", False), bool):
            problems.append(f"{where}.solution_viewed: must be true or false")
        for key in _STAMPS:
            if item.get(key) is not None and not isinstance(item.get(key), str):
                problems.append(f"{where}.{key}: must be a timestamp string")
    return problems


def normalized(data: dict[str, Any]) -> dict[str, Any]:
    """A valid document with the defaults filled in (a deep copy)."""
    import copy

    out = copy.deepcopy(data)
    out["version"] = PROGRESS_VERSION
    out.setdefault("exercises", {})
    out.setdefault("last", None)
    return out


def merge_progress(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Combine two progress documents without losing anything either knows.

    Per exercise: passed wins over attempted; counters take the larger value (so importing
    the same export twice changes nothing); ``solution_viewed`` is true if either says so;
    ``first_passed`` keeps the earlier time, ``last_attempt`` the later. ``last`` stays ours
    unless we have none.
    """
    out = normalized(ours)
    for ref, item in normalized(theirs)["exercises"].items():
        mine = out["exercises"].get(ref)
        if mine is None:
            out["exercises"][ref] = _with_defaults(item)
            continue
        merged = _with_defaults({**item, **mine})
        if "passed" in (mine.get("state"), item.get("state")):
            merged["state"] = "passed"
        for key in _COUNTERS:
            merged[key] = max(int(mine.get(key, 0)), int(item.get(key, 0)))
        merged["solution_viewed"] = bool(mine.get("solution_viewed")) or bool(item.get("solution_viewed"))
        stamps = [s for s in (mine.get("first_passed"), item.get("first_passed")) if s]
        if stamps:
            merged["first_passed"] = min(stamps)
        stamps = [s for s in (mine.get("last_attempt"), item.get("last_attempt")) if s]
        if stamps:
            merged["last_attempt"] = max(stamps)
        out["exercises"][ref] = merged
    if not out.get("last"):
        out["last"] = theirs.get("last")
    return out


def _with_defaults(item: dict[str, Any]) -> dict[str, Any]:
    """An exercise entry with every field present, so merging the same data twice is a no-op."""
    return {"state": "attempted", "attempts": 0, "passes": 0, "hints_shown": 0, "solution_viewed": False, **item}


def _read(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Load a valid progress file; a broken one (bad JSON, bad shape, newer) is set aside."""
    data, notice = read_versioned_json(path, PROGRESS_VERSION)
    if data is None:
        return None, notice
    problems = progress_problems(data)
    if problems:
        try:
            moved = set_aside(path)
        except OSError:
            return None, f"{path.name} could not be read ({problems[0]})"
        return None, f"{path.name} could not be read ({problems[0]}); it was moved to {moved} and a fresh one started"
    return normalized(data), None
