"""Small modal screens: a yes/no question, the reference solution."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True only on an explicit yes."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="question")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="warning")
                yield Button(f"{self.no} (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class SolutionScreen(ModalScreen[None]):
    """The reference solution, read-only, highlighted."""

    BINDINGS = [Binding("escape,q,ctrl+o", "dismiss", "Close")]

    def __init__(self, ref: str, solution: str) -> None:
        super().__init__()
        self.ref = ref
        self.solution = solution

    def compose(self) -> ComposeResult:
        from rich.syntax import Syntax  # pygments: only when a solution is shown

        with Vertical(classes="dialog wide"):
            yield Static(Text.assemble(("Reference solution ", "bold"), (self.ref, ""),
                                       ("   esc closes", "dim")), classes="question")
            with VerticalScroll(id="solution-scroll"):
                yield Static(Syntax(self.solution.rstrip(), "python", theme="ansi_dark", line_numbers=True,
                                    word_wrap=False, background_color="default"), id="solution")

    def on_mount(self) -> None:
        self.query_one("#solution-scroll").focus()


class CompareScreen(ModalScreen[None]):
    """After a pass: the learner's solution beside the reference, to learn from the difference.
    Side by side when there is room (100 columns or more), one above the other otherwise."""

    BINDINGS = [Binding("escape,q,ctrl+o", "dismiss", "Close"),
                Binding("ctrl+n", "next", "Next exercise")]

    def __init__(self, ref: str, mine: str, reference: str) -> None:
        super().__init__()
        self.ref = ref
        self.mine = mine
        self.reference = reference

    def compose(self) -> ComposeResult:
        from rich.syntax import Syntax

        def code(text: str) -> Syntax:
            return Syntax(text.rstrip(), "python", theme="ansi_dark", line_numbers=True, word_wrap=True,
                          background_color="default")

        with Vertical(classes="dialog full"):
            yield Static(Text.assemble(("Passed ", "bold green"), (self.ref, "bold"),
                                       ("   yours beside the reference · ctrl+n next exercise · esc closes", "dim")),
                         classes="question")
            with VerticalScroll(id="compare-scroll"):
                with Horizontal(id="compare"):
                    with Vertical(classes="compare-side"):
                        yield Static(Text("your code", style="bold"))
                        yield Static(code(self.mine), id="compare-mine")
                    with Vertical(classes="compare-side"):
                        yield Static(Text("the reference", style="bold"))
                        yield Static(code(self.reference), id="compare-reference")

    def on_mount(self) -> None:
        self.query_one("#compare-scroll").focus()
        self._layout(self.app.size.width)

    def on_resize(self, event) -> None:  # type: ignore[no-untyped-def]
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        self.query_one("#compare").set_class(width < 100, "stacked")

    def action_next(self) -> None:
        self.dismiss()
        screen = self.app.screen
        if hasattr(screen, "action_next"):
            screen.action_next()
