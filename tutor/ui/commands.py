"""Command palette: search every exercise and lesson by id or title; a few app commands."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tutor.ui.marks import MARKS


class _ListedCommands(Provider):
    """A provider over a fixed list of ``(text, help, callback)`` items."""

    def _items(self) -> list[tuple[str, str, Any]]:
        raise NotImplementedError

    async def discover(self) -> Hits:
        for text, help_text, callback in self._items():
            yield DiscoveryHit(text, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, callback in self._items():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, help=help_text)


class CourseCommands(_ListedCommands):
    """Exercises and lessons: ``1.3 standardize``, ``tensor``, ``fit line`` all find things."""

    def _items(self) -> list[tuple[str, str, Any]]:
        app: Any = self.app
        items: list[tuple[str, str, Any]] = []
        for lesson in app.course.lessons:
            if lesson.exercises:
                items.append((f"{lesson.id} {lesson.title}", f"lesson · {len(lesson.exercises)} exercise(s)",
                              partial(app.open_lesson, lesson)))
            for ex in lesson.exercises:
                state = app.progress.state(ex.ref)
                mark = MARKS.get(state, MARKS["new"])[0]
                items.append((f"{mark} {ex.ref} {ex.title}", f"exercise in {lesson.id} {lesson.title} · {state}",
                              partial(app.open_exercise, ex)))
        return items



class AppCommands(_ListedCommands):
    """Catalogue, help, theme, watch mode."""

    def _items(self) -> list[tuple[str, str, Any]]:
        app: Any = self.app
        return [
            ("Catalogue", "all chapters, lessons and exercises", app.show_catalogue),
            ("Help: keys", "every key of the tutor", app.action_help),
            ("Light / dark theme", "switch between the light and the dark theme", app.action_toggle_theme),
            ("Watch mode on/off", "check automatically whenever the exercise file changes on disk",
             app.action_toggle_watch),
        ]
