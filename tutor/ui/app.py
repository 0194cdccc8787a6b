"""The Textual app: ``run_app(ctx)`` opens it; ``TutorApp`` is what tests drive.

The app holds what the screens share — the context (paths, course, progress), the engine
(injected, so tests can pass a fake), watch mode — and keeps the status bar current. The
screens do the work: ``screens/catalogue.py`` and ``screens/lesson.py``.
"""

from __future__ import annotations

import os
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding

from tutor.ui.commands import AppCommands, CourseCommands
from tutor.ui.course_cache import load_course_cached
from tutor.ui.messages import ProgressChanged
from tutor.ui.widgets.status_bar import StatusBar, status_text

# The screens are imported where they are first needed: a returning learner's first screen
# is the lesson, a new learner's the catalogue, and neither should pay for the other.

#: Wall-clock limit for a plain run (not a check) of an exercise file, at least.
RUN_TIMEOUT_S = 30.0
#: The sandbox's per-stream output cap for TUI runs. Larger than the sandbox default so
#: the end of a long output reaches the tutor, which keeps its beginning and its end.
OUTPUT_CAP_BYTES = 1024 * 1024
#: When set, the app writes timings to this file once the first screen is drawn (bench.py).
BENCH_ENV = "PYTORCH_TUTOR_UI_BENCH"
DARK_THEME, LIGHT_THEME = "textual-dark", "textual-light"


class TutorApp(App[int]):
    """pytorch-tutor's full-screen interface."""

    CSS_PATH = "app.tcss"
    TITLE = "pytorch-tutor"
    COMMANDS = App.COMMANDS | {CourseCommands, AppCommands}
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", show=True, priority=True, id="quit"),
        Binding("f1", "help", "Help", show=False, priority=True, id="help-f1"),
        Binding("question_mark", "help", "Help", show=False, id="help"),
        Binding("ctrl+l", "toggle_theme", "Theme", show=False, priority=True, id="theme"),
    ]

    def __init__(self, ctx: Any, engine: Any = None, *, watch: bool = False, cursor_blink: bool = True,
                 start_engine: bool = True) -> None:
        super().__init__()
        self.ctx = ctx
        self._engine = engine
        self.cursor_blink = cursor_blink
        self.start_engine = start_engine
        self.watch_mode = watch
        self._status_cache: Any = None
        #: When the first screen was drawn: {"at": wall clock, "cpu_ms": CPU used by then}.
        self.first_paint: dict[str, float] | None = None
        #: Where the report of an unhandled exception was written (run_app prints it).
        self.crash_report: Path | None = None
        #: Exercise ref -> its latest run or check (LessonScreen's ``LastRun``).
        self.last_runs: dict[str, Any] = {}

    # --- shared state -------------------------------------------------------------------------

    @property
    def engine(self) -> Any:
        if self._engine is None:
            self._engine = self.ctx.engine  # through ctx, so session recording sees TUI runs
        return self._engine

    @property
    def course(self) -> Any:
        return self.ctx.course

    @property
    def progress(self) -> Any:
        return self.ctx.progress

    @property
    def paths(self) -> Any:
        return self.ctx.paths

    def build_request(self, kind: str, exercise: Any, path: Path) -> Any:
        """The sandbox request for checking or running ``exercise``'s file."""
        import dataclasses

        if kind == "check":
            request = self.ctx.request(exercise, path)
        else:
            request = self.run_request(path, max(exercise.time_budget, RUN_TIMEOUT_S), exercise.limits)
        request.limits = dataclasses.replace(request.limits, output_bytes=max(
            request.limits.output_bytes, OUTPUT_CAP_BYTES))
        return request

    def run_request(self, path: Path, timeout: float = RUN_TIMEOUT_S, limits: dict[str, Any] | None = None) -> Any:
        """A plain run of ``path`` (an exercise file or a lesson's example)."""
        from sandbox.protocol import RunRequest
        from tutor.engine import limits_for

        return RunRequest(kind="run", file=str(path), seed=random.randrange(1, 2**31), device=self.ctx.resolved_device,
                          limits=limits_for(timeout, limits or {}))

    # --- lifecycle ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        from tutor.ui.screens.catalogue import CatalogueScreen
        from tutor.ui.screens.lesson import LessonScreen

        progress = self.progress
        # A returning learner's first screen needs one lesson: it is read from its own cache
        # file and the whole course is loaded once that screen is drawn (``_after_first_paint``).
        last = self.ctx.find_exercise(progress.last) if progress.last else None
        if last is not None:
            # A returning learner: straight to the lesson; the catalogue is built on demand.
            self.push_screen(LessonScreen(last))
        else:
            load_course_cached(self.ctx)
            first_run = not progress.data.get("exercises")
            self.push_screen(CatalogueScreen(first_run=first_run))
        if progress.notice:
            self.notify(progress.notice, severity="warning", timeout=10)
        self.set_interval(0.3, self.refresh_status)
        # Warm the sandbox only after the first screen is on the terminal: on a small
        # machine, the worker importing torch would otherwise slow the first paint.
        self.call_after_refresh(self._after_first_paint)

    def _handle_exception(self, error: Exception) -> None:
        """An unhandled exception ends the app (Textual's rule); leave a report behind first,
        so the learner can send it, and make the exit status say it failed."""
        try:
            self.crash_report = write_crash_report(self.ctx.paths.data, error)
        except Exception:  # noqa: BLE001 - reporting must never hide the original error
            self.crash_report = None
        super()._handle_exception(error)

    def mark_first_paint(self) -> None:
        """Called by the first screen once it is on the terminal (the bench's stop watch)."""
        if self.first_paint is None:
            self.first_paint = first_paint_stamp()
            # What the first frame had to load (the bench's tests check it stays small).
            self.first_paint["loaded"] = sorted(name for name in ("course", "rich.markdown", "output_pane")
                                                if _loaded(self.ctx, name))

    def lesson(self, lesson_id: str) -> Any:
        """The lesson ``lesson_id`` (before the course is loaded: see ``Context.lesson``)."""
        return self.ctx.lesson(lesson_id)

    def _after_first_paint(self) -> None:
        load_course_cached(self.ctx)
        bench_file = os.environ.get(BENCH_ENV)
        if bench_file:  # measuring the TUI alone (tutor/ui/bench.py): no worker
            from tutor.ui.bench import report_from_app

            report_from_app(self, bench_file)
        elif self.start_engine:
            if not self.offer_cpu_if_no_gpu():
                self.engine.start_in_background()

    def offer_cpu_if_no_gpu(self) -> bool:
        """``--device cuda`` on a machine with no sign of a GPU: say so now, not after each
        check times out, and offer cpu. True when the question was asked (the engine is
        started once it is answered)."""
        from tutor.devices import gpu_hints

        device = self.ctx.resolved_device
        if not device.startswith("cuda") or gpu_hints():
            return False
        from tutor.ui.screens.modals import ConfirmScreen

        def answered(use_cpu: bool | None) -> None:
            if use_cpu:
                self.ctx.device = "cpu"
                self.ctx.__dict__["resolved_device"] = "cpu"
                self.notify("Using the cpu.", timeout=3)
            self._status_cache = None
            self.refresh_status()
            self.engine.start_in_background()

        self.push_screen(ConfirmScreen(
            f"You asked for --device {device}, but this machine shows no usable GPU (no /dev/nvidia*): "
            "code sent to it would fail.\nUse the cpu instead?", yes="Use cpu", no="Keep cuda"), answered)
        return True

    # --- navigation ---------------------------------------------------------------------------

    def open_exercise(self, exercise: Any) -> None:
        from tutor.ui.screens.lesson import LessonScreen

        if getattr(exercise, "kind", "code") == "predict":
            from tutor.ui.screens.predict import PredictScreen

            self.progress.set_last(exercise.ref)
            self.push_screen(PredictScreen(exercise))
            return

        for screen in self.screen_stack:
            if isinstance(screen, LessonScreen):
                while self.screen is not screen:
                    self.pop_screen()
                screen.show_exercise(exercise)
                return
        self.push_screen(LessonScreen(exercise))

    def open_lesson(self, lesson: Any) -> None:
        """The lesson's page: prose, runnable examples, the exercise list."""
        from tutor.ui.screens.lesson_page import LessonPageScreen

        for screen in self.screen_stack:
            if isinstance(screen, LessonPageScreen) and screen.lesson.id == lesson.id:
                while self.screen is not screen:
                    self.pop_screen()
                return
        self.push_screen(LessonPageScreen(lesson))

    def show_lesson_page(self, lesson_id: str) -> None:
        """From an exercise: back to its lesson's page (the one below it, where it was left)."""
        from tutor.ui.screens.lesson import LessonScreen
        from tutor.ui.screens.lesson_page import LessonPageScreen

        lesson = self.course.lesson(lesson_id)
        if isinstance(self.screen, LessonScreen) and len(self.screen_stack) > 1:
            self.pop_screen()
        if lesson is None:
            self.show_catalogue()
            return
        if not (isinstance(self.screen, LessonPageScreen) and self.screen.lesson.id == lesson.id):
            self.push_screen(LessonPageScreen(lesson))

    def next_open_exercise(self, lesson: Any) -> Any:
        """The exercise to start or resume in ``lesson``: its first one not passed yet."""
        open_ones = [ex for ex in lesson.exercises if self.progress.state(ex.ref) != "passed"]
        return (open_ones or lesson.exercises)[0]

    def show_catalogue(self) -> None:
        from tutor.ui.screens.catalogue import CatalogueScreen

        if not any(isinstance(screen, CatalogueScreen) for screen in self.screen_stack):
            while len(self.screen_stack) > 1:  # the catalogue is the root of every path
                self.pop_screen()
            self.push_screen(CatalogueScreen())
            return
        while len(self.screen_stack) > 1 and not isinstance(self.screen, CatalogueScreen):
            self.pop_screen()

    # --- status -------------------------------------------------------------------------------

    def device_label(self) -> str:
        device = self.ctx.resolved_device
        return f"{device} (auto)" if self.ctx.device == "auto" else device

    def status_text(self) -> Any:
        engine = self._engine
        state = getattr(engine, "state", "stopped") if engine is not None else "stopped"
        try:
            isolation = str((engine.isolation or {}).get("level", "")) if engine is not None else ""
        except Exception:  # noqa: BLE001 - the status bar must never fail
            isolation = ""
        refs = self.ctx.exercise_refs()
        passed = sum(self.progress.state(r) == "passed" for r in refs)
        return status_text(self.device_label(), state, isolation, passed, len(refs), self.watch_mode)

    def refresh_status(self) -> None:
        text = self.status_text()
        key = (text.plain, id(self.screen))
        if key == self._status_cache:
            return
        self._status_cache = key
        for bar in self.screen.query(StatusBar):
            bar.update(text)

    def on_progress_changed(self, message: ProgressChanged) -> None:
        for screen in self.screen_stack:
            if hasattr(screen, "refresh_marks"):
                screen.refresh_marks()
        self._status_cache = None
        self.refresh_status()

    # --- actions ------------------------------------------------------------------------------

    def action_help(self) -> None:
        from tutor.ui.screens.help import HelpScreen

        from tutor.ui.screens.catalogue import CatalogueScreen
        from tutor.ui.screens.lesson_page import LessonPageScreen

        if isinstance(self.screen, HelpScreen):
            return
        where = ("catalogue" if isinstance(self.screen, CatalogueScreen) else
                 "page" if isinstance(self.screen, LessonPageScreen) else "exercise")
        self.push_screen(HelpScreen(where))

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT_THEME if self.current_theme.dark else DARK_THEME

    def action_toggle_watch(self) -> None:
        if hasattr(self.screen, "action_toggle_watch"):
            self.screen.action_toggle_watch()
        else:
            self.watch_mode = not self.watch_mode
            self.refresh_status()
            self.notify("Watch mode on." if self.watch_mode else "Watch mode off.", timeout=3)


def _loaded(ctx: Any, what: str) -> bool:
    if what == "course":
        return "course" in ctx.__dict__
    return what in sys.modules or f"tutor.ui.widgets.{what}" in sys.modules


def first_paint_stamp() -> dict[str, Any]:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"at": time.time(), "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000}


def write_crash_report(data_dir: Path, error: BaseException) -> Path:
    """The traceback and the versions that matter, in ``<data>/crashes/``; returns the path."""
    import platform

    import rich
    import textual

    from tutor.storage import atomic_write_text

    try:
        from importlib.metadata import version
        tutor_version = version("pytorch-tutor")
    except Exception:  # noqa: BLE001
        tutor_version = "unknown"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(data_dir) / "crashes" / f"crash-{stamp}-{os.getpid()}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "pytorch-tutor crashed. Please send this file with your report.",
        "",
        f"when: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"pytorch-tutor: {tutor_version}",
        f"python: {sys.version.split()[0]} ({sys.executable})",
        f"textual: {getattr(textual, '__version__', '?')}  rich: {getattr(rich, '__version__', '?')}",
        f"platform: {platform.platform()}",
        f"terminal: TERM={os.environ.get('TERM', '')} COLORTERM={os.environ.get('COLORTERM', '')}",
        "",
        "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    ]
    atomic_write_text(path, "\n".join(lines))
    return path


def run_app(ctx: Any) -> int:
    """Open the tutor; returns the exit status (non-zero after a crash, with its report named)."""
    app = TutorApp(ctx)
    result = app.run()
    if app.crash_report is not None:
        print(f"\npytorch-tutor crashed; a report is in {app.crash_report}", file=sys.stderr)
    code = app.return_code
    if code:
        return int(code)
    return int(result or 0)
