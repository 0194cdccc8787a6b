"""The catalogue: chapters > lessons > exercises, each exercise marked passed/attempted/new."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tutor.ui.marks import MARKS


def exercise_label(exercise: Any, state: str) -> Text:
    mark, style = MARKS.get(state, MARKS["new"])
    return Text.assemble((f"{mark} ", style), (exercise.title, ""), (f"  {exercise.ref}", "dim"))


def lesson_label(lesson: Any, progress: Any) -> Text:
    refs = [ex.ref for ex in lesson.exercises]
    passed = sum(progress.state(r) == "passed" for r in refs)
    style = "green" if passed == len(refs) else ""
    return Text.assemble((f"{lesson.id}  ", "bold"), (lesson.title, ""), (f"  {passed}/{len(refs)}", style or "dim"))


def chapter_label(chapter: Any, progress: Any) -> Text:
    refs = [ex.ref for lesson in chapter.lessons for ex in lesson.exercises]
    passed = sum(progress.state(r) == "passed" for r in refs)
    style = "green" if refs and passed == len(refs) else "dim"
    return Text.assemble((f"{chapter.number}. {chapter.title}", "bold"), (f"  {passed}/{len(refs)} passed", style))


class CatalogueTree(Tree[Any]):
    """Node data: a Lesson or an Exercise (chapters carry None)."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", show=True, id="open"),
        Binding("right", "unfold", "Unfold", show=False),
        Binding("left", "fold", "Fold", show=False),
    ]

    def action_unfold(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand and not node.is_expanded:
            node.expand()

    def action_fold(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def __init__(self, course: Any, progress: Any, **kwargs: Any) -> None:
        super().__init__("Course", **kwargs)
        self.course = course
        self.progress = progress
        self.show_root = False
        self.auto_expand = False  # enter opens; space (or right/left) folds
        self.guide_depth = 3
        self._exercise_nodes: dict[str, TreeNode[Any]] = {}
        self._lesson_nodes: dict[str, TreeNode[Any]] = {}
        self._chapter_nodes: list[tuple[Any, TreeNode[Any]]] = []
        self.build()

    def build(self) -> None:
        self.clear()
        self._exercise_nodes.clear()
        self._lesson_nodes.clear()
        self._chapter_nodes = []
        for chapter in self.course.chapters:
            chapter_node = self.root.add(chapter_label(chapter, self.progress), expand=True)
            self._chapter_nodes.append((chapter, chapter_node))
            for lesson in chapter.lessons:
                lesson_node = chapter_node.add(lesson_label(lesson, self.progress), data=lesson)
                self._lesson_nodes[lesson.id] = lesson_node
                for exercise in lesson.exercises:
                    node = lesson_node.add_leaf(exercise_label(exercise, self.progress.state(exercise.ref)),
                                                data=exercise)
                    self._exercise_nodes[exercise.ref] = node

    def refresh_marks(self) -> None:
        """Relabel every node from the progress store (after a check, a hint, ...)."""
        for chapter, chapter_node in self._chapter_nodes:
            chapter_node.set_label(chapter_label(chapter, self.progress))
        for lesson in self.course.lessons:
            node = self._lesson_nodes.get(lesson.id)
            if node is not None:
                node.set_label(lesson_label(lesson, self.progress))
            for exercise in lesson.exercises:
                ex_node = self._exercise_nodes.get(exercise.ref)
                if ex_node is not None:
                    ex_node.set_label(exercise_label(exercise, self.progress.state(exercise.ref)))

    def reveal(self, ref: str | None) -> None:
        """Expand the exercise's lesson and put the cursor on it (or on the first exercise)."""
        node = self._exercise_nodes.get(ref or "")
        if node is None:
            node = next(iter(self._exercise_nodes.values()), None)
        if node is None:
            return
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        self.get_node_at_line(0)  # lays the lines out again, so the node knows its line
        self.move_cursor(node)
