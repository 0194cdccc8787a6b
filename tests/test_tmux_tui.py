"""The real program in a real terminal: tmux runs ``python -m tutor``; the test types like a
learner (send-keys) and reads the screen (capture-pane). Opens the first exercise, types its
reference solution, checks it, and sees it pass — with the real sandbox and torch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from tutor.context import Context

pytestmark = [pytest.mark.tmux, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20)
        return out.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "tutor")

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the screen shows:\n{screen}")
            time.sleep(0.2)


@pytest.fixture
def tmux(isolated_dirs, subprocess_env):
    socket = f"pytorch-tutor-test-{os.getpid()}"
    t = Tmux(socket)
    env = dict(subprocess_env, TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    command = " ".join([
        f"PYTORCH_TUTOR_WORKSPACE={isolated_dirs['workspace']}", f"PYTORCH_TUTOR_DATA={isolated_dirs['data']}",
        f"PYTHONPATH={env['PYTHONPATH']}", sys.executable, "-m", "tutor",
    ])
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "tutor", "-x", "100", "-y", "30", command],
                   check=True, env=env, timeout=20)
    try:
        yield t
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=20)


def test_open_type_a_solution_check_and_pass_in_tmux(tmux, isolated_dirs):
    exercise = Context().course.exercises[0]
    tmux.wait_for("Welcome to pytorch-tutor")
    tmux.wait_for(exercise.title)
    tmux("send-keys", "-t", "tutor", "Enter")  # the cursor starts on the first exercise
    tmux.wait_for("Exercise 1/")
    tmux.wait_for(f"{exercise.ref}.py")
    tmux.wait_for("Your program's output appears here.")  # the screen is complete
    time.sleep(0.5)
    # Select everything in the editor (f7) and type the reference solution over it.
    tmux("send-keys", "-t", "tutor", "F7")
    for line in exercise.solution.rstrip("\n").split("\n"):
        if line:
            tmux("send-keys", "-t", "tutor", "-l", line)
        tmux("send-keys", "-t", "tutor", "Enter")
    path = isolated_dirs["workspace"] / exercise.lesson_id / f"{exercise.id}.py"
    deadline = time.monotonic() + 10
    while path.read_text() != exercise.solution.rstrip("\n") + "\n" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.read_text() == exercise.solution.rstrip("\n") + "\n"  # saved automatically
    tmux("send-keys", "-t", "tutor", "C-t")
    screen = tmux.wait_for("✓ passed", timeout=120)
    assert "1/" in screen and "passed" in screen
    tmux("send-keys", "-t", "tutor", "C-q")
    deadline = time.monotonic() + 10
    while "tutor" in tmux("list-sessions") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "tutor" not in tmux("list-sessions")  # quit cleanly, the session ended with it
