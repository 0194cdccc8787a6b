"""The TUI against the real sandbox engine: a failing check with its teaching message, then a
pass. Slow (the worker imports torch), so just this one flow; the rest uses the fake engine."""

from __future__ import annotations

import pytest

from ui_fakes import fixture_context, wait_for

from tutor.ui.app import TutorApp
from tutor.ui.screens.catalogue import CatalogueScreen
from tutor.ui.screens.lesson import LessonScreen
from tutor.ui.widgets.output_pane import ChecksView, OutputPane


@pytest.mark.slow
async def test_real_engine_fail_then_pass(isolated_dirs):
    ctx = fixture_context()
    app = TutorApp(ctx, cursor_blink=False)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, CatalogueScreen))
            await pilot.pause()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen) and bool(app.screen.query(OutputPane)))
            screen = app.screen
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
