"""A judge whose learner runs on a GPU may create a CUDA context (to compare on the device),
so it runs without the address-space limits a driver's reservations would break; nothing else
changes (sandbox/runtime/child.py, ``plan_for``)."""

from __future__ import annotations

import pytest

from sandbox.runtime.child import plan_for

PLAN = {"netns": True, "landlock": 6, "data_limit": True, "as_limit": True, "seccomp": True}


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:3", "mps"])
def test_a_judge_for_a_gpu_run_has_no_address_space_limits(device: str) -> None:
    plan = plan_for({"role": "judge", "device": "cpu", "learner_device": device}, PLAN)
    assert plan == dict(PLAN, data_limit=False, as_limit=False)
    assert PLAN["as_limit"] is True, "the shared plan is not changed"


@pytest.mark.parametrize("job", [
    {"role": "judge", "device": "cpu", "learner_device": "cpu"},
    {"role": "judge", "device": "cpu"},
    {"role": "child", "device": "cuda:0", "learner_device": "cuda:0"},  # the learner: never
    {"role": "child", "device": "cpu"},
])
def test_every_other_process_keeps_them(job: dict) -> None:
    assert plan_for(job, PLAN) == PLAN
