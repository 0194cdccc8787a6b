"""The real program in a real terminal: tmux (80x24) runs ``python -m tutor`` on the real
curriculum with the real sandbox and torch; the tests type like a learner (send-keys) and
read the screen (capture-pane).

* ``test_every_screen_tab_modal_and_key`` visits every screen, output tab, modal and key
  binding of the app, and fails on any crash: the app's exit, a crash report in the data
  directory, or a traceback of the tutor itself on the screen.
* ``test_walk_a_lesson_end_to_end`` walks lessons 1.1, 1.3 and 2.1 as a learner would: read
  the page, run an example, start the exercise, fail, take a hint, fix, pass, look at the
  visuals and the curve, compare with the reference, go to the next exercise. With
  ``PYTORCH_TUTOR_SCREENS=DIR`` it saves each screen there as text (capture-pane -p).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tutor.context import Context

pytestmark = [pytest.mark.long, pytest.mark.serial, pytest.mark.tmux, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]

COLUMNS, ROWS = 80, 24
EXIT_MARK = "TUTOR-EXITED-WITH="
#: How long the first run may take: the worker imports torch (seconds; more on a loaded box).
FIRST_RUN_S = 240.0
RUN_S = 90.0
#: What only the tutor's own crash prints (Rich's traceback box); a learner's traceback in
#: the output pane is plain text and does not match.
CRASH_SIGNS = ("─ Traceback (most recent call last) ─", "pytorch-tutor crashed")


class TutorInTmux:
    """One tmux server (``tmux -L tui-...``) with the tutor in its only pane."""

    def __init__(self, socket: str, data: Path, screens: Path | None, name: str) -> None:
        self.socket = socket
        self.data = data
        self.screens = screens
        self.name = name
        self.expect_exit = False

    def tmux(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        return out.stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        wrapped = f"{command}; echo {EXIT_MARK}$?; sleep 600"
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-s", "t", "-x", str(COLUMNS), "-y",
                        str(ROWS), "sh", "-c", wrapped], check=True, env=env, timeout=30)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def crashed(self, screen: str) -> str | None:
        crashes = sorted((self.data / "crashes").glob("*")) if (self.data / "crashes").exists() else []
        if crashes:
            return f"crash report {crashes[0]}:\n{crashes[0].read_text()}"
        if EXIT_MARK in screen and not self.expect_exit:
            return "the tutor exited"
        if any(sign in screen for sign in CRASH_SIGNS):
            return "a traceback of the tutor is on the screen"
        return None

    def check(self) -> str:
        screen = self.screen()
        problem = self.crashed(screen)
        if problem:
            raise AssertionError(f"{problem}; the screen shows:\n{screen}")
        return screen

    def keys(self, *keys: str, pause: float = 0.25) -> str:
        for key in keys:
            self.tmux("send-keys", "-t", "t", key)
            # Escape needs a pause of its own: the app waits a moment to tell it from alt+key.
            time.sleep(0.45 if key == "Escape" else pause)
        return self.check()

    def type(self, text: str) -> None:
        """Type ``text`` into the focused widget, line by line (Enter between lines)."""
        lines = text.rstrip("\n").split("\n")
        for i, line in enumerate(lines):
            if line:
                self.tmux("send-keys", "-t", "t", "-l", line)
            if i < len(lines) - 1:
                self.tmux("send-keys", "-t", "t", "Enter")
        time.sleep(0.3)

    def wait_for(self, *texts: str, timeout: float = 30.0) -> str:
        """Until every one of ``texts`` is on the screen; fails at once on a crash."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.check()
            if all(t in screen for t in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts!r} never appeared; the screen shows:\n{screen}")
            time.sleep(0.2)

    def wait_gone(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.check()
            if text not in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never went away; the screen shows:\n{screen}")
            time.sleep(0.2)

    def save(self, step: str) -> None:
        if self.screens is not None:
            self.screens.mkdir(parents=True, exist_ok=True)
            (self.screens / f"{self.name}-{step}.txt").write_text(self.screen())

    def quit(self) -> None:
        self.expect_exit = True
        self.tmux("send-keys", "-t", "t", "C-q")
        screen = self.wait_for(EXIT_MARK, timeout=20)
        status = screen.split(EXIT_MARK, 1)[1].split()[0]
        assert status == "0", f"the tutor exited with {status}:\n{screen}"


def launch(isolated_dirs, subprocess_env, name: str, *args: str) -> TutorInTmux:
    screens = os.environ.get("PYTORCH_TUTOR_SCREENS")
    t = TutorInTmux(f"tui-{os.getpid()}-{name}", isolated_dirs["data"], Path(screens) if screens else None, name)
    env = dict(subprocess_env, TERM="xterm-256color", EDITOR="true", VISUAL="true")
    env.pop("NO_COLOR", None)
    command = " ".join([
        f"PYTORCH_TUTOR_WORKSPACE={isolated_dirs['workspace']}", f"PYTORCH_TUTOR_DATA={isolated_dirs['data']}",
        f"PYTHONPATH={env['PYTHONPATH']}", "EDITOR=true", "VISUAL=true", sys.executable, "-m", "tutor", *args,
    ])
    t.start(command, env)
    return t


@pytest.fixture
def tutor_tmux(isolated_dirs, subprocess_env, request):
    started: list[TutorInTmux] = []

    def start(name: str, *args: str) -> TutorInTmux:
        t = launch(isolated_dirs, subprocess_env, name, *args)
        started.append(t)
        return t

    yield start
    for t in started:
        subprocess.run(["tmux", "-L", t.socket, "kill-server"], capture_output=True, timeout=30)


def select_all_and_type(t: TutorInTmux, code: str) -> None:
    if "✎ editing" not in t.screen():
        t.keys("e")  # back into the editor from another pane
        t.wait_for("✎ editing")
    t.keys("F7")  # the editor's select-all; typing replaces the selection
    t.type(code)


# Programs typed into the editor while visiting everything. Each exercises one outcome or
# one kind of visual, through the real sandbox.
VISUALS_PROGRAM = """import torch
from sandbox import show
x = torch.arange(12.0).reshape(3, 4)
show(x)
w = torch.ones(4, requires_grad=True)
loss = (x @ w).sum()
show.graph(loss)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
show(model, torch.zeros(1, 4))
show.image(torch.linspace(0, 1, 64).reshape(8, 8))
show.heatmap(torch.eye(4), labels=["a", "b", "c", "d"])
with torch.profiler.profile() as prof:
    model(torch.zeros(16, 4)).sum()
show.profile(prof)
for step in range(12):
    show.metric("loss", 1.0 / (step + 1), step)
print("drew everything")
"""
PROGRESS_BAR_PROGRAM = """import sys
for i in range(0, 101, 10):
    sys.stderr.write(f"\\r{i:3d}%|" + "#" * (i // 10))
    sys.stderr.flush()
sys.stderr.write("\\n")
print("\\x1b[1mbold\\x1b[0m done")
"""
INPUT_PROGRAM = 'name = input("your name? ")\n'
EXCEPTION_PROGRAM = 'def f():\n    raise ValueError("boom")\nf()\n'
LOOP_PROGRAM = 'print("looping")\nwhile True:\n    pass\n'


@pytest.mark.timeout(1200)  # the first run waits for the worker to import torch; a loaded box is slow
def test_every_screen_tab_modal_and_key(tutor_tmux):
    course = Context().course
    first = course.exercises[0]
    t = tutor_tmux("visit")
    # --- the catalogue and its modals ----------------------------------------------------
    t.wait_for("Welcome to pytorch-tutor", first.title)
    t.keys("Down", "Up", "Up")  # onto the lesson 1.1 row
    t.keys("Space")
    t.wait_gone(first.title)  # folded
    t.keys("Right")
    t.wait_for(first.title)  # unfolded
    t.keys("Left", "Right")
    t.keys("p")
    t.wait_for("Your progress", "attempted")
    t.keys("Escape")
    t.wait_gone("Your progress")
    t.keys("?")
    t.wait_for("In the catalogue")
    t.keys("Escape")
    t.keys("F1")
    t.wait_for("In the catalogue")
    t.keys("Escape")
    t.wait_gone("In the catalogue")
    t.keys("/")
    t.wait_for("Search for")  # the search's own prompt (the footer also says "Search")
    t.keys("Escape")
    t.wait_gone("Search for")  # the search is closed: the next keys go to the catalogue
    t.keys("C-l")
    t.keys("C-l")
    # --- the lesson page -------------------------------------------------------------------
    t.keys("Enter")
    t.wait_for(f"Lesson {first.lesson_id}", "Start exercises")
    t.keys("PageDown", "PageUp", "End", "Home")
    t.keys("Tab")
    t.keys("Enter")
    t.wait_for("ran to the end", timeout=FIRST_RUN_S)
    t.keys("1")
    t.wait_for("ran to the end", timeout=RUN_S)
    t.keys("C-r")
    t.wait_for("ran to the end", timeout=RUN_S)
    t.keys("?")
    t.wait_for("On a lesson's page")
    t.keys("Escape")
    t.keys("Tab", "Tab")
    t.keys("s")
    # --- the exercise screen ---------------------------------------------------------------
    t.wait_for("Exercise 1/", f"{first.id}.py")
    t.keys("F1")
    t.wait_for("In an exercise")
    t.keys("Escape")
    t.wait_gone("In an exercise")
    t.keys("C-r")
    t.wait_for("ran to the end", timeout=RUN_S)
    t.keys("C-t")
    t.wait_for("not yet", timeout=RUN_S)
    for tab, shown in (("M-1", "Output"), ("M-2", "not yet"), ("M-3", "Visuals"), ("M-4", "Loss")):
        t.keys(tab)
        t.wait_for(shown)
    t.keys("M-2")
    t.keys("C-g")
    t.wait_for("Hint 1/")
    t.keys("F6")
    t.wait_gone("✎ editing")
    t.keys("F6", "F6")
    t.wait_for("✎ editing")
    t.keys("S-F6", "F6")
    t.keys("F9")  # zoom the output pane, and back
    t.wait_gone(f"{first.id}.py")
    t.keys("F9")
    t.wait_for(f"{first.id}.py")
    t.keys("C-f")
    t.wait_for("watching")
    t.keys("C-f")
    t.keys("C-s")
    t.keys("F2")  # $EDITOR is `true`: the app suspends, comes back, reloads the file
    t.wait_for(f"{first.id}.py")
    # (each answer waits for its dialog to close: a key pressed before that goes to the dialog)
    t.keys("F8")
    t.wait_for("Reset (y)")
    t.keys("n")
    t.wait_gone("Reset (y)")
    t.keys("C-o")
    t.wait_for("Show it")
    t.keys("n")
    t.wait_gone("Show it")
    t.keys("C-o")
    t.wait_for("Show it")
    t.keys("y")
    t.wait_for("Reference solution")
    t.keys("Escape")
    t.wait_gone("Reference solution")
    t.keys("F8")
    t.wait_for("Reset (y)")
    t.keys("y")
    t.wait_gone("Reset (y)")
    # Outcomes, through the real sandbox: an exception, input(), a progress bar and colour
    # codes, every kind of visual and a curve, an endless loop stopped with esc, a timeout.
    select_all_and_type(t, EXCEPTION_PROGRAM)
    t.keys("C-r")
    t.wait_for("raised an exception", timeout=RUN_S)
    t.wait_for("line 2")
    select_all_and_type(t, INPUT_PROGRAM)
    t.keys("C-r")
    t.wait_for("no keyboard input", timeout=RUN_S)
    select_all_and_type(t, PROGRESS_BAR_PROGRAM)
    t.keys("C-r")
    screen = t.wait_for("bold done", "100%|##########", timeout=RUN_S)
    # Only the final frame of the bar, no visible \r, and the bold codes dropped: the one
    # "\x1b[1mbold" on the screen is the source line in the editor.
    assert " 50%|#####" not in screen and "\\x0d" not in screen and screen.count("\\x1b[1mbold") == 1
    select_all_and_type(t, VISUALS_PROGRAM)
    t.keys("C-r")
    t.wait_for("ran to the end", timeout=RUN_S)
    t.keys("M-1")
    t.wait_for("drew everything")
    t.keys("M-3", "F9")
    t.wait_for("tensor x", "(3, 4)")
    for _ in range(8):
        t.keys("PageDown")
    t.keys("M-4")
    t.wait_for("loss")
    t.keys("F9")
    select_all_and_type(t, LOOP_PROGRAM)
    t.keys("C-r")
    t.wait_for("looping", timeout=RUN_S)
    t.keys("Escape")
    t.wait_for("stopped", timeout=RUN_S)
    t.keys("C-t")
    t.wait_for("time limit", timeout=RUN_S + first.time_budget)
    # --- pass, compare, move on ------------------------------------------------------------
    select_all_and_type(t, first.solution)
    t.keys("C-t")
    t.wait_for("✓ passed", timeout=RUN_S)
    t.keys("C-o")
    t.wait_for("the reference", "your code")
    t.keys("Escape")
    t.wait_gone("yours beside the reference")
    # The lesson's second exercise is a predict question (the v2 bar puts one before what it
    # prepares): ctrl+n opens it over the editor, a digit answers it, ctrl+n goes on past it.
    question = course.lesson(first.lesson_id).exercises[1]
    assert question.kind == "predict", question.ref
    t.keys("C-n")
    t.wait_for("Predict", question.title)
    t.keys("1")
    t.wait_for("it printed", timeout=RUN_S)
    t.keys("C-n")
    t.wait_for("Exercise 3/")
    t.keys("F3")
    t.wait_for("Predict", question.title)
    t.keys("F3")
    t.wait_for("Exercise 1/")
    t.keys("F4")
    t.wait_for("Predict", question.title)
    t.keys("Escape")
    t.wait_gone("a digit answers")
    t.wait_for("Exercise 1/")
    t.keys("C-p")
    t.wait_for("Search")
    t.keys("Escape")
    t.wait_gone("Search")
    t.keys("Escape")  # leave the editor
    t.keys("Escape")  # back to the lesson page
    t.wait_for(f"Lesson {first.lesson_id}", "✓ 1.")
    t.keys("Escape")  # the catalogue
    t.wait_for("1/", "passed")
    t.keys("p")
    t.wait_for("Your progress")
    t.keys("Escape")
    t.quit()
    # --- the replay viewer, on what was just recorded ------------------------------------
    r = tutor_tmux("replay", "replay", "--last")
    r.wait_for("replay (read-only)")
    r.keys("n", "n", "p", "Space", "b", "Down", "Up")
    r.wait_for("replay (read-only)")
    r.expect_exit = True
    r.keys("q")
    screen = r.wait_for(EXIT_MARK)
    assert f"{EXIT_MARK}0" in screen


#: lesson -> the lines a curious learner adds to the passing file to see a curve.
CURVE_LINES = {
    "1.1": "\nif __name__ == \"__main__\":\n    for step in range(10):\n        show.metric(\"loss\", 1 / (step + 1), step)\n",
    "1.3": "\nif __name__ == \"__main__\":\n    from sandbox import show\n    show(make_tensors()[\"identity\"])\n"
           "    for step in range(10):\n        show.metric(\"loss\", 1 / (step + 1), step)\n",
    "2.1": "\nif __name__ == \"__main__\":\n    for step in range(10):\n        show.metric(\"loss\", 1 / (step + 1), step)\n",
}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("lesson_id", ["1.1", "1.3", "2.1"])
def test_walk_a_lesson_end_to_end(tutor_tmux, lesson_id):
    lesson = Context().course.lesson(lesson_id)
    assert lesson is not None and lesson.examples and len(lesson.exercises) > 1
    exercise = lesson.exercises[0]
    t = tutor_tmux(f"walk-{lesson_id}")
    t.wait_for("Welcome to pytorch-tutor")
    # The palette finds the lesson; enter opens its page.
    t.keys("C-p")
    t.wait_for("Search")
    t.tmux("send-keys", "-t", "t", "-l", f"{lesson_id} {lesson.title}")
    t.wait_for(lesson.title[:20])
    t.keys("Enter")
    t.wait_for(f"Lesson {lesson_id}", "Start exercises")
    t.save("1-page")
    t.keys("Tab")  # the first example
    t.keys("Enter")
    t.wait_for("ran to the end", timeout=FIRST_RUN_S)
    t.save("2-example")
    t.keys("s")
    t.wait_for("Exercise 1/", f"{exercise.id}.py")
    t.save("3-exercise")
    t.keys("C-t")  # the starter fails
    t.wait_for("not yet", timeout=RUN_S)
    t.save("4-fail")
    t.keys("C-g")
    t.wait_for("Hint 1/")
    t.save("5-hint")
    select_all_and_type(t, exercise.solution.rstrip("\n") + CURVE_LINES[lesson_id])
    t.keys("C-t")
    t.wait_for("✓ passed", timeout=RUN_S)
    t.save("6-pass")
    t.keys("C-r")  # run it: its visuals and its curve (the loss tab comes forward by itself)
    t.wait_for("┤", timeout=RUN_S)
    t.keys("M-1")
    t.wait_for("ran to the end", timeout=RUN_S)
    t.keys("M-3")
    t.wait_gone("Visuals your code produces")
    t.save("7-visuals")
    t.keys("M-4")
    t.wait_for("┤")
    t.save("8-curve")
    t.keys("C-o")
    t.wait_for("your code", "the reference")
    t.save("9-compare")
    t.keys("C-n")  # from the comparison straight to the next exercise: a predict question
    question = lesson.exercises[1]
    assert question.kind == "predict", question.ref
    t.wait_for("Predict", question.title)
    t.keys(str(len(question.choices)))
    t.wait_for("it printed", timeout=RUN_S)
    t.save("10-predict")
    t.keys("C-n")  # past the question, to the next code exercise
    t.wait_for("Exercise 3/")
    t.save("10-next")
    t.keys("Escape", "Escape")
    t.wait_for(f"Lesson {lesson_id}", "ran to the end")  # the page, where it was left: at the example
    t.save("11-back-on-the-page")
    t.keys("End")
    t.wait_for("✓ 1.")  # the exercise list shows the pass
    t.save("12-exercise-list")
    t.quit()
