"""Typed lesson objects, as the loader produces them. No torch, no textual."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Example:
    title: str
    code: str
    explanation: str = ""


@dataclass(frozen=True)
class Sample:
    """An authored ``mistake`` (with the words its failure must contain) or ``alternative``."""

    name: str
    code: str
    expect: tuple[str, ...] = ()
    line: int = 1
    code_line: int = 1


@dataclass(frozen=True)
class Asset:
    """A file shipped with a lesson; ``path`` is absolute (resolved against the lesson file)."""

    name: str
    path: str
    file: str                 # as written, relative to the lesson file
    sha256: str
    max_bytes: int
    source: str
    made_by: str
    line: int = 1


@dataclass
class Exercise:
    id: str                          # slug, unique in the lesson
    lesson_id: str
    title: str
    prompt: str
    starter: str
    solution: str
    hints: list[str]
    checks: list[dict[str, Any]]     # plain dicts, as the worker receives them
    time_budget: float = 10.0
    extras: list[str] = field(default_factory=list)
    device: str = "any"
    limits: dict[str, Any] = field(default_factory=dict)
    setup: dict[str, Any] | None = None   # {"code", "file", "line"}
    line: int = 1
    #: ``code`` (write a file that is checked) or ``predict`` (answer a question about ``snippet``).
    kind: str = "code"
    format_version: int = 1
    mistakes: list[Sample] = field(default_factory=list)
    alternatives: list[Sample] = field(default_factory=list)
    #: The lesson's assets, name -> absolute path (what the engine request carries).
    assets: dict[str, str] = field(default_factory=dict)
    # predict only: the snippet, the choices offered, what is compared, the text after answering.
    snippet: str = ""
    choices: list[str] = field(default_factory=list)
    observe: str = "last_line"
    explanation: str = ""

    @property
    def ref(self) -> str:
        """What ``check`` takes and progress is keyed by: ``"1.3/standardize"``."""
        return f"{self.lesson_id}/{self.id}"

    @property
    def check_names(self) -> list[str]:
        return [c["name"] for c in self.checks]


@dataclass
class Lesson:
    id: str
    title: str
    prose: str
    exercises: list[Exercise]
    examples: list[Example] = field(default_factory=list)
    summary: str = ""
    chapter_title: str = ""
    path: str = ""
    #: Shipped recordings (absolute paths), replayable with ``pytorch-tutor replay --lesson``.
    recordings: list[str] = field(default_factory=list)
    format_version: int = 1
    assets: list[Asset] = field(default_factory=list)

    @property
    def chapter(self) -> int:
        return int(self.id.split(".")[0])

    @property
    def number(self) -> int:
        return int(self.id.split(".")[1])

    def exercise(self, slug: str) -> Exercise | None:
        return next((e for e in self.exercises if e.id == slug), None)


@dataclass
class Chapter:
    number: int
    title: str
    lessons: list[Lesson]

    @property
    def id(self) -> str:
        return str(self.number)


@dataclass(frozen=True)
class LessonError:
    """A problem in a lesson file: where and what. ``str()`` is the one-line form."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


@dataclass
class Course:
    chapters: list[Chapter]
    errors: list[LessonError] = field(default_factory=list)

    @property
    def lessons(self) -> list[Lesson]:
        return [lesson for chapter in self.chapters for lesson in chapter.lessons]

    @property
    def exercises(self) -> list[Exercise]:
        return [ex for lesson in self.lessons for ex in lesson.exercises]

    def lesson(self, lesson_id: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.id == lesson_id), None)

    def find_exercise(self, ref: str) -> Exercise | None:
        """Accepts ``1.3/standardize``, ``1.3.standardize``, ``1.3.2`` (position) or a unique slug."""
        ref = ref.strip()
        for sep in ("/", ":"):
            if sep in ref:
                lesson_id, slug = ref.split(sep, 1)
                lesson = self.lesson(lesson_id)
                return lesson.exercise(slug) if lesson else None
        parts = ref.split(".")
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            lesson = self.lesson(f"{parts[0]}.{parts[1]}")
            if lesson is None:
                return None
            if parts[2].isdigit():
                index = int(parts[2]) - 1
                return lesson.exercises[index] if 0 <= index < len(lesson.exercises) else None
            return lesson.exercise(parts[2])
        matches = [ex for ex in self.exercises if ex.id == ref]
        return matches[0] if len(matches) == 1 else None
