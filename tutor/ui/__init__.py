"""The full-screen tutor (Textual). ``tutor.ui.app.run_app(ctx)`` opens it.

Nothing in this package imports torch: learner code runs in the sandbox worker, reached
only through ``ctx.engine``.
"""
