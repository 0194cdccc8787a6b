"""Progress marks for the TUI: the shared set in ``tutor/marks.py`` (one set everywhere)."""

from tutor.marks import PROGRESS_MARKS as MARKS  # noqa: F401  (state -> (mark, style))
