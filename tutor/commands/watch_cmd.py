"""``pytorch-tutor watch [EXERCISE]``: re-check on every save, rustlings style.

Edit the exercise's workspace file in any editor; each save is checked at once through the
shared warm worker and answered in a few lines. After a pass, watch moves on to the next
exercise not yet passed (creating its file from the starter). Without EXERCISE it starts where the learner
is: the exercise they last worked on, or the first one not yet passed. Keys: ``h`` the next
hint, ``r`` check again now, ``n`` skip to the next exercise, ``q`` quit. Without a terminal
on stdin the same letters are read as lines (``echo q``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import select
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from rich.padding import Padding
from rich.text import Text

from tutor.display import safe_text
from tutor.plain import plain_console as console

#: Lines of a traceback shown in a compact verdict (the end of it says what went wrong).
TRACEBACK_LINES = 6
#: Lines of one check message shown.
MESSAGE_LINES = 4


def register(sub: Any) -> None:
    p = sub.add_parser("watch", help="re-check an exercise on every save of its file; next exercise after a pass")
    p.add_argument("exercise", metavar="EXERCISE", nargs="?",
                   help="where to start (default: where you are in the course)")
    p.add_argument("--poll", action="store_true", help="notice saves by polling (network file systems)")
    p.add_argument("--seed", type=int, help="the checker's seed (default: a fresh one each check)")
    p.set_defaults(handler=run)


def course_order(ctx: Any) -> list[Any]:
    """The code exercises, in course order: questions are answered (``answer``), not watched."""
    return [ex for ex in ctx.course.exercises if ex.kind != "predict"]


def questions_between(ctx: Any, current: Any, following: Any) -> list[Any]:
    """The prediction questions not yet answered right that sit between two watched exercises
    (in course order), so moving on can point at them instead of stepping over them silently."""
    every = list(ctx.course.exercises)
    refs = [ex.ref for ex in every]
    if current.ref not in refs or following.ref not in refs:
        return []
    start, end = refs.index(current.ref), refs.index(following.ref)
    between = every[start + 1:end] if start < end else []
    return [ex for ex in between if ex.kind == "predict" and ctx.progress.state(ex.ref) != "passed"]


def starting_point(ctx: Any, ref: str | None) -> Any:
    """The exercise named, else the one last worked on if not passed, else the first not passed."""
    from tutor.cli import UserError
    from tutor.commands.check_cmd import find_exercise

    if ref:
        exercise = find_exercise(ctx, ref)
        if exercise.kind == "predict":
            raise UserError(f"{exercise.ref} is a prediction question, answered rather than watched: see it with "
                            f"`pytorch-tutor answer {exercise.ref}`, answer with `pytorch-tutor answer {exercise.ref} NUMBER`")
        return exercise
    order = course_order(ctx)
    if not order:
        raise UserError("no exercises loaded (see `pytorch-tutor list`)")
    last = ctx.progress.last
    refs = [ex.ref for ex in order]
    start = refs.index(last) if last in refs else 0
    for ex in order[start:] + order[:start]:
        if ctx.progress.state(ex.ref) != "passed":
            return ex
    return order[start]


def next_exercise(ctx: Any, current: Any) -> Any | None:
    """The next exercise after ``current`` not yet passed that this device can run (course
    order, then from the start: ones skipped earlier); None when every one is passed."""
    order = course_order(ctx)
    refs = [ex.ref for ex in order]
    index = refs.index(current.ref) if current.ref in refs else -1
    for ex in order[index + 1:] + order[:max(index, 0)]:
        if ex.ref != current.ref and runnable(ctx, ex) and ctx.progress.state(ex.ref) != "passed":
            return ex
    return None


def saved_at(path: Path) -> float:
    """When ``path`` was written, on the ``time.monotonic()`` clock: the wait shown after a
    save counts from the save itself, not from when the change was noticed."""
    now = time.monotonic()
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return now
    # A file copied in with an old mtime (or a clock step) is timed from when it was noticed.
    return now - age if 0.0 <= age <= 60.0 else now


def runnable(ctx: Any, exercise: Any) -> bool:
    return exercise.device not in ("cuda", "mps") or ctx.resolved_device.startswith(exercise.device)


class Keys:
    """Single key presses from a terminal (cbreak mode), or lines from a pipe."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        try:
            self.fd: int | None = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = None
        self.tty = self.fd is not None and os.isatty(self.fd)
        self.closed = self.fd is None
        self._saved: Any = None

    @contextmanager
    def active(self) -> Iterator["Keys"]:
        if self.tty:
            import termios
            import tty

            assert self.fd is not None
            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        try:
            yield self
        finally:
            if self._saved is not None:
                import termios

                termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)

    def read(self) -> str:
        """What was typed (call when ``fd`` is readable); '' at end of input."""
        assert self.fd is not None
        try:
            data = os.read(self.fd, 1024).decode(errors="replace")
        except OSError:
            data = ""
        if not data:
            self.closed = True
        return data.lower()


class Watch:
    def __init__(self, ctx: Any, args: argparse.Namespace, out: Any = None) -> None:
        self.ctx = ctx
        self.args = args
        self.out = out or console()
        self.hint_level: dict[str, int] = {}
        self.last_digest: str | None = None

    # --- printing ---------------------------------------------------------------------------

    def say(self, *parts: Any) -> None:
        self.out.print(*parts)

    def header(self, exercise: Any, path: Path, method: str) -> None:
        self.say(Text.assemble(("▶ ", "bold cyan"), (exercise.ref, "bold"), "  ", exercise.title))
        self.say(Text(f"  edit {path}", style="dim"))
        self.say(Text(f"  checks on every save ({method}) · h hint · r re-check · n next · q quit", style="dim"))

    def verdict(self, result: Any, waited: float) -> None:
        from tutor.display import outcome_line

        marks = {"pass": ("✓", "green"), "fail": ("✗", "red"), "error": ("!", "magenta"), "skip": ("-", "dim")}
        line = outcome_line(result)
        line.append(f"  ({waited:.2f} s)", style="dim")
        self.say(line)
        if result.outcome != "ok" and result.stderr.strip():
            tail = safe_text(result.stderr.rstrip()).splitlines()[-TRACEBACK_LINES:]
            for row in tail:
                self.say(Text("  " + row, style="red"))
        for check in result.checks:
            if check.status == "pass":
                continue
            mark, style = marks.get(check.status, ("?", ""))
            self.say(Text.assemble((f"  {mark} ", f"bold {style}"), (check.name, "bold")))
            lines = safe_text(check.message).splitlines()[:MESSAGE_LINES]
            if lines:
                self.say(Padding(Text("\n".join(lines)), (0, 0, 0, 6)))

    def hint(self, exercise: Any) -> None:
        level = self.hint_level.get(exercise.ref, 0)
        if level >= len(exercise.hints):
            self.say(Text("  no more hints for this one" if exercise.hints else "  this exercise has no hints",
                          style="dim"))
            return
        level += 1
        self.hint_level[exercise.ref] = level
        self.ctx.progress.record_hint(exercise.ref, level)
        self.say(Text.assemble((f"  hint {level}/{len(exercise.hints)}: ", "bold yellow"),
                               safe_text(exercise.hints[level - 1].strip())))

    # --- checking ---------------------------------------------------------------------------

    def check(self, exercise: Any, path: Path, since: float, force: bool = False) -> Any | None:
        """Check ``path`` unless its content is what was checked last (an editor's no-op save)."""
        from tutor.commands.check_cmd import check_file

        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return None  # mid-save (renamed away): the next event brings it back
        if digest == self.last_digest and not force:
            return None
        self.last_digest = digest
        result = check_file(self.ctx, exercise, path, seed=self.args.seed, quiet=True)
        if result.status != "error":
            self.ctx.progress.record_attempt(exercise.ref, result.status == "pass")
        self.verdict(result, time.monotonic() - since)
        return result

    def loop(self, exercise: Any, keys: Keys) -> int:
        from tutor.filewatch import FileWatcher
        from tutor.workspace import ensure_exercise_file

        while exercise is not None:
            path = ensure_exercise_file(self.ctx.paths.workspace, exercise)
            self.ctx.progress.set_last(exercise.ref)
            watcher = FileWatcher(path, poll=self.args.poll)
            self.last_digest = None
            try:
                self.header(exercise, path, watcher.method)
                result = self.check(exercise, path, time.monotonic())
                move = result is not None and result.status == "pass"
                while not move:
                    sources: list[Any] = [watcher.fileno()] + ([keys.fd] if not keys.closed else [])
                    ready, _, _ = select.select(sources, [], [])
                    if watcher.fileno() in ready:
                        since = saved_at(path)
                        watcher.drain()
                        result = self.check(exercise, path, since)
                        move = result is not None and result.status == "pass"
                        continue
                    for key in keys.read():
                        if key == "q":
                            self.say(Text("bye — your file stays where it is", style="dim"))
                            return 0
                        if key == "h":
                            self.hint(exercise)
                        elif key == "r":
                            result = self.check(exercise, path, time.monotonic(), force=True)
                            move = result is not None and result.status == "pass"
                        elif key == "n":
                            move = True
                        if move:
                            break
            finally:
                watcher.close()
            following = next_exercise(self.ctx, exercise)
            if following is None:
                self.say(Text("✓ every exercise here is passed — well done", style="bold green"))
                return 0
            self.say(Text(f"→ next: {following.ref}", style="bold cyan"))
            for question in questions_between(self.ctx, exercise, following):
                self.say(Text(f"  (question {question.ref} comes first: pytorch-tutor answer {question.ref})",
                              style="dim"))
            self.say()
            exercise = following
        return 0


def run(args: argparse.Namespace, ctx: Any) -> int:
    from tutor.cli import UserError

    exercise = starting_point(ctx, args.exercise)
    if not runnable(ctx, exercise):
        raise UserError(f"{exercise.ref} needs a {exercise.device.upper()} device, and the worker here has none")
    ctx.engine.start_in_background()  # warm (or reach) the worker while the file is prepared
    keys = Keys(sys.stdin)
    with keys.active():
        try:
            return Watch(ctx, args).loop(exercise, keys)
        except KeyboardInterrupt:
            console().print(Text("stopped", style="dim"))
            return 0
