"""The learner's progress: a versioned JSON file, written atomically.

Shape (version 1)::

    {"version": 1,
     "last": "1.3/standardize",                 # where the learner left off
     "exercises": {"1.3/standardize": {"state": "passed"|"attempted",
                                       "attempts": 3, "passes": 1,
                                       "hints_shown": 2, "solution_viewed": false,
                                       "first_passed": "2026-...", "last_attempt": "2026-..."}}}

An exercise missing from the file is ``new``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.storage import atomic_write_json, read_versioned_json

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
        data, notice = read_versioned_json(path, PROGRESS_VERSION)
        if data is None:
            data = {"version": PROGRESS_VERSION, "exercises": {}, "last": None}
        data.setdefault("exercises", {})
        data.setdefault("last", None)
        return cls(path, data, notice)

    def save(self) -> None:
        self.data["version"] = PROGRESS_VERSION
        atomic_write_json(self.path, self.data)

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
        item = self.entry(ref)
        item["attempts"] = int(item.get("attempts", 0)) + 1
        item["last_attempt"] = _now()
        if passed:
            item["passes"] = int(item.get("passes", 0)) + 1
            item["state"] = "passed"
            item.setdefault("first_passed", _now())
        self.data["last"] = ref
        self.save()

    def record_hint(self, ref: str, level: int) -> None:
        item = self.entry(ref)
        item["hints_shown"] = max(int(item.get("hints_shown", 0)), level)
        self.save()

    def record_solution_viewed(self, ref: str) -> None:
        item = self.entry(ref)
        item["solution_viewed"] = True
        self.save()

    def set_last(self, ref: str) -> None:
        if self.data.get("last") != ref:
            self.data["last"] = ref
            self.save()

    def counts(self, refs: list[str]) -> dict[str, int]:
        out = {s: 0 for s in STATES}
        for ref in refs:
            out[self.state(ref)] += 1
        return out
