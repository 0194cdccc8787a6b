"""Widgets used by the screens: the code editor, the output pane, the status bar, ..."""
