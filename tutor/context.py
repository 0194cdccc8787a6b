"""What every command needs, built lazily: paths, the course, progress, the engine."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tutor.course.model import Course, Exercise, Lesson
from tutor.paths import Paths
from tutor.progress import Progress


@dataclass
class Context:
    workspace: str | None = None
    lesson_dirs: list[str] = field(default_factory=list)
    python: str | None = None
    device: str = "auto"
    builtin_lessons: bool = True
    #: Run code in the user's shared warm worker daemon (tutor/workerd) rather than in a
    #: worker of this process's own (the CLI sets it unless --no-worker; the TUI does not).
    use_worker: bool = False
    #: Lessons read from their own cache files before the course was loaded (``lesson``).
    _early_lessons: dict[str, Lesson | None] = field(default_factory=dict, init=False, repr=False, compare=False)

    @cached_property
    def paths(self) -> Paths:
        return Paths.resolve(self.workspace)

    @cached_property
    def course(self) -> Course:
        from tutor.coursecache import load_cached

        def load() -> Course:
            from tutor.course.loader import load_course  # YAML and the schema: only on a cache miss

            return load_course([Path(d) for d in self.lesson_dirs], include_builtin=self.builtin_lessons)

        return load_cached(self._lesson_dirs(), self.paths.data / "cache", load, self._cache_key)

    def find_exercise(self, ref: str) -> Exercise | None:
        """``course.find_exercise(ref)``; a ``LESSON/SLUG`` ref is read from that lesson's own
        cache file when it is current, so one command (or the TUI's first screen) need not
        decode the whole course."""
        lesson_id, sep, slug = ref.strip().partition("/")
        if sep and "course" not in self.__dict__:
            lesson = self.lesson(lesson_id)
            exercise = lesson.exercise(slug) if lesson is not None else None
            if exercise is not None:
                return exercise
        return self.course.find_exercise(ref)

    def lesson(self, lesson_id: str) -> Lesson | None:
        """``course.lesson(lesson_id)``; before the course is loaded, from the lesson's own
        cache file when that is current (equal to the course's lesson, not the same object)."""
        if "course" not in self.__dict__:
            if lesson_id not in self._early_lessons:
                from tutor.coursecache import load_cached_lesson

                self._early_lessons[lesson_id] = load_cached_lesson(
                    self._lesson_dirs(), self.paths.data / "cache", lesson_id, self._cache_key)
            lesson = self._early_lessons[lesson_id]
            if lesson is not None:
                return lesson
        return self.course.lesson(lesson_id)

    def exercise_refs(self) -> list[str]:
        """Every exercise's ref in course order; before the course is loaded, from the cache."""
        if "course" not in self.__dict__:
            from tutor.coursecache import load_cached_refs

            refs = load_cached_refs(self._lesson_dirs(), self.paths.data / "cache", self._cache_key)
            if refs is not None:
                return refs
        return [exercise.ref for exercise in self.course.exercises]

    @cached_property
    def _cache_key(self) -> str | None:
        """The course cache's key for this context's lessons, computed once (a walk of every
        lesson file); None when it cannot be (each cache function then tries itself)."""
        from tutor.coursecache import cache_key

        try:
            return cache_key(self._lesson_dirs())
        except OSError:
            return None

    def _lesson_dirs(self) -> list[Path]:
        from tutor.coursecache import builtin_lessons_dir

        extra = [Path(d) for d in self.lesson_dirs]
        return ([builtin_lessons_dir()] if self.builtin_lessons else []) + extra

    @cached_property
    def progress(self) -> Progress:
        return Progress.load(self.paths.progress_file)

    @cached_property
    def resolved_device(self) -> str:
        """``device`` with ``auto`` resolved (cpu, cuda or mps; see tutor/devices.py)."""
        from tutor.devices import resolve

        return resolve(self.device, self.python, self.paths.data)

    @cached_property
    def recorder(self) -> Any:
        """This process's session log (created on the first run; see tutor/record.py)."""
        from tutor.record import SessionRecorder

        return SessionRecorder(self.paths.sessions_dir, device=self.resolved_device)

    @cached_property
    def engine(self) -> Any:
        if self.use_worker:
            from tutor.workerd.client import RemoteEngine

            return RemoteEngine(python=self.python, device=self.resolved_device, runs_dir=self.paths.runs_dir,
                                recorder=self.recorder, on_wait=_say_waiting, on_notice=_say,
                                data_dir=self.paths.data)
        from tutor.engine import Engine

        return Engine(python=self.python, device=self.resolved_device, runs_dir=self.paths.runs_dir,
                      recorder=self.recorder)

    def request(self, exercise: Exercise, file: Path, seed: int | None = None, timeout: float | None = None) -> Any:
        """The check request for ``exercise`` on ``file``."""
        from sandbox.protocol import RunRequest
        from tutor.engine import limits_for

        return RunRequest(
            kind="check", file=str(file), seed=seed if seed is not None else random.randrange(1, 2**31),
            limits=limits_for(exercise.time_budget, exercise.limits, timeout), checks=exercise.checks,
            solution=exercise.solution, exercise=exercise.ref, setup=exercise.setup,
            device=self.resolved_device, format_version=exercise.format_version, assets=dict(exercise.assets),
        )

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.close()
        if "recorder" in self.__dict__:
            self.recorder.close()


def _say(message: str) -> None:
    import sys

    print(f"pytorch-tutor: {message}", file=sys.stderr, flush=True)


def _say_waiting(position: int) -> None:
    ahead = "another request" if position <= 1 else f"{position} other requests"
    _say(f"the shared worker is busy with {ahead}; waiting…")
