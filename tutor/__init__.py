"""pytorch-tutor: the learner's program (CLI, TUI, lessons, progress, renderers).

This package never imports torch: learner code runs in the sandbox worker (``sandbox``),
possibly under another interpreter. ``tests/test_boundaries.py`` enforces it.
"""

__version__ = "0.1.0"
