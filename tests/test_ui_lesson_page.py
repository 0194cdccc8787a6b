"""The lesson page, the focus model and the rest of issue 12, against the fake engine:
Enter on a lesson opens its page; examples run with one key and show their output under
them; the exercise list shows states; one key back from an exercise; results belong to their
exercise; alt+1..4, f6 and e; the progress view; a crash leaves a report and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

from ui_fakes import FakeEngine, fixture_context, screen_text, wait_for

from tutor.progress import Progress
from tutor.ui.app import TutorApp, write_crash_report
from tutor.ui.screens.catalogue import CatalogueScreen
from tutor.ui.screens.lesson import LessonScreen
from tutor.ui.screens.lesson_page import ExampleBlock, ExerciseRow, LessonPageScreen
from tutor.ui.screens.modals import ConfirmScreen
from tutor.ui.screens.progress_view import ProgressScreen, progress_table
from tutor.ui.widgets.code_editor import CodeEditor
from tutor.ui.widgets.output_pane import ChecksView, OutputPane, plain_text

SOLUTION = "import torch\n\n\ndef ones():\n    return torch.ones(2, 3)\n"


def make_app(**kwargs) -> TutorApp:
    return TutorApp(fixture_context(), engine=kwargs.pop("engine", None) or FakeEngine(), cursor_blink=False, **kwargs)


async def open_page(app: TutorApp, pilot) -> LessonPageScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
    await pilot.pause()
    await pilot.press("up", "enter")  # the cursor starts on the first exercise; up is its lesson
    await wait_for(pilot, lambda: isinstance(app.screen, LessonPageScreen))
    await pilot.pause()
    return app.screen  # type: ignore[return-value]


async def test_enter_on_a_lesson_row_opens_its_page_with_prose_examples_and_exercises(isolated_dirs):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        page = await open_page(app, pilot)
        assert page.lesson.id == "1.1"
        text = screen_text(app)
        assert "Lesson 1.1" in text and "A tensor is an n-dimensional array" in text
        assert "Example 1: Ones" in text and "print(torch.ones(2, 2))" in text
        rows = list(page.query(ExerciseRow))
        assert [r.exercise.ref for r in rows] == ["1.1/ones", "1.1/zeros"]
        assert all("new" in plain_text(r.content) for r in rows)


async def test_an_example_runs_with_one_key_and_its_output_shows_under_it(isolated_dirs):
    engine = FakeEngine()
    app = make_app(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        page = await open_page(app, pilot)
        await pilot.press("1")
        await wait_for(pilot, lambda: page.finished_runs == 1)
        await pilot.pause()
        assert engine.requests[-1].kind == "run"
        assert Path(engine.requests[-1].file).read_text() == page.lesson.examples[0].code
        block = page.query_one(ExampleBlock)
        shown = plain_text(block.query_one(".example-output").content)
        assert "hello from your code" in shown and "ran to the end" in shown
        # No attempt is recorded for an example.
        assert app.progress.data.get("exercises", {}) == {}


async def test_start_resumes_at_the_first_open_exercise_and_esc_comes_back_to_the_same_page(isolated_dirs):
    Progress.load(Path(isolated_dirs["data"]) / "progress.json").record_attempt("1.1/ones", passed=True)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen))  # a returning learner
        await pilot.press("escape", "escape")  # leave the editor, then back to the lesson's page
        await wait_for(pilot, lambda: isinstance(app.screen, LessonPageScreen))
        page = app.screen
        assert "✓ 1. A tensor of ones" in screen_text(app)
        page.query_one("#page").scroll_end(animate=False)
        await pilot.pause()
        scrolled = page.query_one("#page").scroll_y
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen))
        assert app.screen.exercise.ref == "1.1/zeros"  # the first one not passed
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: app.screen is page)  # the same page, where it was left
        assert page.query_one("#page").scroll_y == scrolled
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))


async def test_editor_is_at_least_60_columns_at_80x24_and_the_prompt_fits(isolated_dirs):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen) and bool(app.screen.query(OutputPane)))
        await pilot.pause()
        screen = app.screen
        assert screen.editor.size.width >= 60
        prompt = screen.query_one("#prompt")
        assert prompt.size.width >= 60 and prompt.virtual_size.width <= prompt.size.width + 1


async def test_focus_keys_alt_tabs_f6_and_e_and_tab_still_indents(isolated_dirs):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen) and bool(app.screen.query(OutputPane)))
        await pilot.pause()
        screen = app.screen
        assert isinstance(app.focused, CodeEditor)
        assert "✎ editing" in screen_text(app) and "f6 Pane" in screen_text(app)
        # alt+N from the editor, as pressed and as terminals deliver it (ESC N -> ¡ ™ £ ¢).
        for key, tab in (("alt+3", "visuals"), ("alt+4", "loss"), ("alt+2", "checks"), ("alt+1", "output"),
                         ("pound_sign", "visuals"), ("cent_sign", "loss"), ("trade_mark_sign", "checks"),
                         ("inverted_exclamation_mark", "output")):
            await pilot.press(key)
            await pilot.pause()
            assert screen.output.active_tab == tab, key
            assert isinstance(app.focused, CodeEditor)
        assert "¡" not in screen.editor.text and "£" not in screen.editor.text
        await pilot.press("f6")
        await pilot.pause()
        assert not isinstance(app.focused, CodeEditor) and "✎ editing" not in screen_text(app)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.focused, CodeEditor)
        before = screen.editor.text
        screen.editor.move_cursor((0, 0))
        await pilot.press("tab")
        await pilot.pause()
        assert screen.editor.text != before and isinstance(app.focused, CodeEditor)  # Tab indents


async def test_results_belong_to_their_exercise(isolated_dirs):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen) and bool(app.screen.query(OutputPane)))
        screen = app.screen
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: screen.finished_runs == 1)
        await pilot.pause()
        assert "not yet" in screen.query_one(ChecksView).plain
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.exercise.ref == "1.1/zeros"
        assert screen.query_one(ChecksView).plain == ""       # not the previous exercise's checks
        assert "Check your code" in screen_text(app) or screen.output.active_tab == "output"
        await pilot.press("f3")
        await pilot.pause()
        assert "not yet" in screen.query_one(ChecksView).plain  # its own result comes back


async def test_hints_go_in_the_pane_not_in_a_toast(isolated_dirs):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen) and bool(app.screen.query(OutputPane)))
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert "Hint 1/2" in plain_text(app.screen.query_one("#hints").content)
        assert not app._notifications  # no toast over the check message


async def test_progress_view_per_chapter(isolated_dirs):
    data = Path(isolated_dirs["data"])
    progress = Progress.load(data / "progress.json")
    progress.record_attempt("1.1/ones", passed=True)
    progress.record_attempt("1.1/zeros", passed=False)
    progress.record_hint("1.1/zeros", 2)
    progress.record_solution_viewed("1.1/zeros")
    from tutor.ui import time_spent

    time_spent.add(data, "1.1/ones", 125)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen))
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonPageScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
        await pilot.pause()
    table = plain_text(progress_table(app.course, app.progress, time_spent.load(data)), width=100)
    row = next(line for line in table.splitlines() if "Fixture Fundamentals" in line)
    assert row.split()[-6:] == ["1/3", "1", "2", "1", "2", "min"]


async def test_catalogue_at_120x40_shows_summaries_and_chapter_progress(isolated_dirs):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "0/3 passed" in text.splitlines()[8] or "Fixture Fundamentals  0/3 passed" in text
        assert "A small, stable lesson for the TUI" in text  # the highlighted lesson's summary


async def test_cuda_without_a_gpu_is_said_at_once_and_cpu_offered(isolated_dirs, monkeypatch):
    import tutor.devices

    monkeypatch.setattr(tutor.devices, "gpu_hints", lambda: False)
    ctx = fixture_context()
    ctx.device = "cuda"
    engine = FakeEngine()
    app = TutorApp(ctx, engine=engine, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.2)
        assert "no usable GPU" in app.screen.question and not engine.started
        await pilot.press("y")
        await wait_for(pilot, lambda: engine.started)
        assert ctx.resolved_device == "cpu" and "cpu" in screen_text(app)


async def test_a_crash_exits_non_zero_and_leaves_a_report(isolated_dirs):
    app = make_app()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))

            def boom() -> None:
                raise RuntimeError("a bug in the tutor")

            app.call_later(boom)
            await pilot.pause(0.3)
    except RuntimeError:
        pass
    assert app.return_code == 1
    report = app.crash_report
    assert report is not None and report.parent == Path(isolated_dirs["data"]) / "crashes"
    text = report.read_text()
    assert "RuntimeError: a bug in the tutor" in text and "textual:" in text and "python:" in text


def test_crash_report_names_versions(tmp_path: Path):
    try:
        raise ValueError("x")
    except ValueError as exc:
        path = write_crash_report(tmp_path, exc)
    assert path.exists() and "ValueError: x" in path.read_text() and "pytorch-tutor" in path.read_text()


# --- format v2: predict questions and needs.extras ------------------------------------------

V2_LESSONS = Path(__file__).resolve().parent / "fixtures" / "format_v2"


def v2_app(engine: FakeEngine) -> TutorApp:
    from tutor.context import Context

    return TutorApp(Context(lesson_dirs=[str(V2_LESSONS)], builtin_lessons=False), engine=engine, cursor_blink=False)


async def test_a_predict_question_is_answered_with_a_digit_on_the_lesson_page(isolated_dirs):
    from tutor.ui.screens.predict import PredictScreen

    engine = FakeEngine()
    app = v2_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        page = await open_page(app, pilot)
        rows = {r.exercise.id: r for r in page.query(ExerciseRow)}
        assert "(predict)" in plain_text(rows["predict_keepdim"].content)
        rows["predict_keepdim"].focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PredictScreen))
        question = app.screen
        await pilot.pause()
        assert "torch.Size([1, 4])" in screen_text(app) and "1. torch.Size([4])" in screen_text(app)
        await pilot.press("1")  # wrong
        await wait_for(pilot, lambda: question.finished_runs == 1)
        await pilot.pause()
        shown = plain_text(question.query_one("#predict-result").content)
        assert "not quite" in shown and "torch.Size([1, 4])" in shown and "keepdim" in shown  # the explanation
        assert engine.requests[-1].kind == "run"
        await pilot.press("2")  # right
        await wait_for(pilot, lambda: question.finished_runs == 2)
        await pilot.pause()
        assert "✓ right" in plain_text(question.query_one("#predict-result").content)
        assert app.progress.state("9.5/predict_keepdim") == "passed"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is page)
        assert "passed" in plain_text(rows["predict_keepdim"].content)


async def test_an_exercise_whose_extras_are_missing_is_marked_with_the_install_command(isolated_dirs, monkeypatch):
    import tutor.course.extras as extras

    monkeypatch.setattr(extras, "missing_extras", lambda exercise, python=None: list(exercise.extras))
    engine = FakeEngine()
    app = v2_app(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        page = await open_page(app, pilot)
        needing = [r for r in page.query(ExerciseRow) if r.exercise.extras]
        if not needing:  # the fixture lesson names no extras: give one exercise some
            row = next(iter(page.query(ExerciseRow)))
            row.exercise.extras = ["onnx"]
            page.refresh_marks()
            needing = [row]
        shown = plain_text(needing[0].content)
        assert "needs" in shown and "pip install 'pytorch-tutor[" in shown


async def test_the_editor_follows_the_light_theme(isolated_dirs):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen))
        editor = app.screen.editor
        assert editor.theme == "css"
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert not app.current_theme.dark and editor.theme == "github_light"
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert editor.theme == "css"
