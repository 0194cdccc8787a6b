"""The TUI against the real sandbox engine: a failing check with its teaching message, then a
pass. Slow (the worker imports torch), so just this one flow; the rest uses the fake engine."""

from __future__ import annotations

import pytest

from ui_fakes import fixture_context, wait_for

from tutor.ui.app import TutorApp
from tutor.ui.screens.catalogue import CatalogueScreen
from tutor.ui.screens.lesson import LessonScreen
from tutor.ui.widgets.output_pane import ChecksView, OutputPane


async def open_first_exercise(app: TutorApp, pilot) -> LessonScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
    await pilot.pause()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen) and bool(app.screen.query(OutputPane)))
    return app.screen


@pytest.mark.slow
async def test_real_engine_fail_then_pass(isolated_dirs, engine):
    ctx = fixture_context()
    app = TutorApp(ctx, engine=engine, cursor_blink=False)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_first_exercise(app, pilot)
            assert screen.exercise.ref == "1.1/ones"

            await pilot.press("ctrl+t")
            await wait_for(pilot, lambda: screen.finished_runs == 1, timeout=120)
            failed = screen.query_one(ChecksView).plain
            assert "✗ returns a (2, 3) tensor of ones" in failed
            assert "NoneType" in failed  # the checker's teaching message names what came back
            assert app.progress.state("1.1/ones") == "attempted"

            screen.editor.load_text("import torch\n\n\ndef ones():\n    return torch.ones(2, 3)\n")
            await pilot.press("ctrl+t")
            await wait_for(pilot, lambda: screen.finished_runs == 2, timeout=60)
            assert "✓ passed" in screen.query_one(ChecksView).plain
            assert app.progress.state("1.1/ones") == "passed"
            assert app.engine.state == "ready"
        # (That the TUI process never imports torch is proven in a fresh process by
        # test_boundaries and the bench; here other tests may have imported it already.)
    finally:
        ctx.close()


@pytest.mark.slow
async def test_live_metrics_reach_the_curve_while_the_run_is_still_going(isolated_dirs, engine):
    """Real sandbox, real protocol: show.metric events are drawn before the program ends."""
    from ui_fakes import screen_text

    from tutor.ui.widgets.output_pane import LossCurve

    ctx = fixture_context()
    app = TutorApp(ctx, engine=engine, cursor_blink=False)
    program = ("import time\nfrom sandbox import show\n"
               "for step in range(200):\n"
               "    show.metric('train_loss', 1.0 / (step + 1), step=step)\n"
               "    time.sleep(0.05)\n")
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_first_exercise(app, pilot)
            screen.editor.load_text(program)
            await pilot.press("ctrl+r")
            curve = screen.query_one(LossCurve)
            await wait_for(pilot, lambda: len(curve.metrics) >= 5, timeout=120)
            # The program sleeps 10 s in all: the points arrived while it was still running.
            assert screen.running
            assert [m["step"] for m in curve.metrics[:5]] == [0, 1, 2, 3, 4]
            await wait_for(pilot, lambda: "train_loss" in screen_text(app))
            await pilot.press("escape")
            await wait_for(pilot, lambda: not screen.running, timeout=30)
            assert len(curve.metrics) < 200, "the run was stopped, not finished"
    finally:
        ctx.close()
