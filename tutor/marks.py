"""One set of marks and colours for progress and outcomes, used everywhere: the TUI, the
replay viewer, the headless commands (``list``, ``check``, ``run``) and the README.

Marks differ in shape, not only in colour, so they read the same with ``NO_COLOR``. Failing
is red wherever it appears; "attempted" is a progress state (tried, not passed yet), yellow.
"""

#: Progress state of an exercise -> (mark, style).
PROGRESS_MARKS: dict[str, tuple[str, str]] = {
    "passed": ("✓", "green"),
    "attempted": ("●", "yellow"),
    "new": ("·", "dim"),
}

#: Status of one check, or of a whole run -> (mark, style).
OUTCOME_MARKS: dict[str, tuple[str, str]] = {
    "pass": ("✓", "green"),
    "fail": ("✗", "red"),
    "error": ("!", "magenta"),
    "skip": ("-", "dim"),
    "stopped": ("■", "yellow"),
}


def progress_mark(state: str) -> tuple[str, str]:
    return PROGRESS_MARKS.get(state, PROGRESS_MARKS["new"])


def outcome_mark(status: str) -> tuple[str, str]:
    return OUTCOME_MARKS.get(status, ("?", ""))
