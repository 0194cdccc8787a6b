"""Code the sandbox compiles — the learner's file, the reference solution, an exercise's set-up —
behaves as under plain ``python``: it never inherits the sandbox modules' own
``from __future__ import annotations`` (which turned a FastAPI body model's annotation into a
string, so the route answered 422; found writing lesson 9.2)."""

from __future__ import annotations

import types

from sandbox.judging import checks, loading

SOURCE = "def f(x: int) -> list:\n    return x\nANNOTATIONS = f.__annotations__\n"


def test_the_learner_file_keeps_real_annotations() -> None:
    module = types.ModuleType("learner_under_test")
    loading.execute(module, SOURCE, "<learner>")
    assert module.ANNOTATIONS == {"x": int, "return": list}


def test_set_up_code_keeps_real_annotations() -> None:
    ns = checks.run_setup(SOURCE, "<lesson setup>", 1)
    assert ns["ANNOTATIONS"] == {"x": int, "return": list}
