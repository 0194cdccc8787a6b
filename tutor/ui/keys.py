"""Every key of the lesson screen in one table: the bindings and the help are built from it.

Keys are chosen to survive tmux, SSH and the editor: plain ctrl+letter keys the text area
does not use (ctrl+r, ctrl+t, ctrl+g, ctrl+o, ctrl+n, ctrl+f), plus function keys. The
action keys are priority bindings, so they work while the editor has focus.
"""

from __future__ import annotations

from textual.binding import Binding

#: (keys, action, footer label, shown in the footer, description for the help)
LESSON_KEYS: list[tuple[str, str, str, bool, str]] = [
    ("ctrl+r,f5", "run", "Run", True, "run your file and show its output"),
    ("ctrl+t", "check", "Check", True, "check your file against the exercise's checks"),
    ("ctrl+g", "hint", "Hint", True, "reveal one more hint (they get more specific)"),
    ("ctrl+o", "solution", "Solution", True, "the reference solution (asks first if you have not passed; after a "
     "pass, your code beside it)"),
    ("ctrl+n,f4", "next", "Next", True, "go to the next exercise"),
    ("f3", "previous", "Prev", False, "go to the previous exercise"),
    ("escape,ctrl+c", "stop", "Stop", True, "stop the running code (only while it runs)"),
    ("escape", "back", "Lesson", True, "back to the lesson's page, where you left it (in the editor, esc first "
     "leaves the editor)"),
    ("f6", "next_pane", "Pane", True, "move to the next pane: prompt, editor, output (tab indents in the editor)"),
    ("shift+f6", "next_pane(-1)", "Prev pane", False, "move to the previous pane"),
    ("e", "focus_editor", "Edit", True, "back into the editor (when another pane has focus)"),
    ("f9", "zoom", "Zoom", False, "give the output pane the whole screen (again: back)"),
    # Terminals send alt+1..4 as ESC 1..4, which Textual reads as the characters macOS's
    # option key types (¡ ™ £ ¢): those names are bound too, so alt+N works in xterm and tmux.
    ("alt+1,inverted_exclamation_mark", "tab('output')", "Output", False, "show the output tab"),
    ("alt+2,trade_mark_sign", "tab('checks')", "Checks", False, "show the checks tab"),
    ("alt+3,pound_sign", "tab('visuals')", "Visuals", False, "show the visuals tab"),
    ("alt+4,cent_sign", "tab('loss')", "Loss", False, "show the loss-curve tab"),
    ("ctrl+f", "toggle_watch", "Watch", False, "watch mode: check automatically whenever the file changes on disk"),
    ("f2", "external_editor", "$EDITOR", False, "edit the file in your own editor ($VISUAL / $EDITOR)"),
    ("f8", "reset", "Reset", False, "reset the file to the starter code (asks first; your version is kept as a backup)"),
    ("ctrl+s", "save", "Save", False, "save now (the file is also saved automatically as you type)"),
]

#: Keys that work everywhere.
GLOBAL_KEYS: list[tuple[str, str]] = [
    ("ctrl+p or /", "command palette: search exercises and lessons, switch theme, ..."),
    ("? or f1", "this help (? works when the editor does not have focus)"),
    ("ctrl+l", "switch between the light and the dark theme"),
    ("ctrl+q", "quit (your work is saved as you type)"),
]

CATALOGUE_KEYS: list[tuple[str, str]] = [
    ("up / down", "move; right/left (or space) unfold and fold"),
    ("enter", "on a lesson: open its page; on an exercise: open it"),
    ("p", "your progress, per chapter"),
]

PAGE_KEYS: list[tuple[str, str]] = [
    ("up / down, pageup / pagedown", "scroll the page"),
    ("tab / shift+tab", "move between the examples and the exercises"),
    ("enter", "run the example (its output appears under it), or open the exercise"),
    ("1 … 9", "run example 1 … 9"),
    ("s", "start the exercises (or resume at the first one not passed)"),
    ("escape", "stop a running example; then back to the catalogue"),
]


#: Plain letters: not priority, so in the editor they type (the editor consumes them first).
_NOT_PRIORITY = {"e"}


def lesson_bindings() -> list[Binding]:
    return [Binding(keys, action, label, show=show, priority=keys not in _NOT_PRIORITY, id=f"{action}-{keys}")
            for keys, action, label, show, _ in LESSON_KEYS]


#: Key names that only stand in for another key (see the alt+N comment above).
_STAND_INS = {"inverted_exclamation_mark", "trade_mark_sign", "pound_sign", "cent_sign"}


def _pretty(keys: str) -> str:
    return " / ".join(k for k in keys.split(",") if k not in _STAND_INS)


def _table(rows: list[tuple[str, str]]) -> list[str]:
    return ["| key | what it does |", "|---|---|", *(f"| `{keys}` | {desc} |" for keys, desc in rows)]


def help_markdown(where: str = "exercise") -> str:
    """Every key, the section for ``where`` (exercise, page, catalogue) first."""
    from tutor.marks import PROGRESS_MARKS

    sections = {
        "exercise": ["## In an exercise", "", *_table([(_pretty(k), d) for k, _, _, _, d in LESSON_KEYS]), "",
                     "In the editor: arrows, home/end, pageup/pagedown, shift+arrows select, ctrl+z undo, "
                     "ctrl+y redo, ctrl+x/ctrl+c/ctrl+v cut/copy/paste, f7 selects all. Tab indents; f6 moves "
                     "to the next pane, esc leaves the editor."],
        "page": ["## On a lesson's page", "", *_table(PAGE_KEYS)],
        "catalogue": ["## In the catalogue", "", *_table(CATALOGUE_KEYS)],
    }
    order = [where] + [k for k in sections if k != where] if where in sections else list(sections)
    lines = ["# Keys", ""]
    for key in order:
        lines += [*sections[key], ""]
    lines += ["## Everywhere", "", *_table(GLOBAL_KEYS), ""]
    marks = ", ".join(f"{mark} {state}" for state, (mark, _) in PROGRESS_MARKS.items())
    lines += [f"Progress marks: {marks}. Esc closes this help."]
    return "\n".join(lines)
