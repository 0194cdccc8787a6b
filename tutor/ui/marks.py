"""Progress marks, shared by the catalogue, the lesson title and the command palette.

They differ in shape, not only in colour, so they read the same with ``NO_COLOR``.
"""

#: Progress state -> (mark, style).
MARKS = {"passed": ("✓", "green"), "attempted": ("●", "yellow"), "new": ("·", "dim")}
