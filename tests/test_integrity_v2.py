"""Format v2 on the sandbox side (issue 11 items 1, 2, 5-9, 12): import mode, per-check
budgets, statistical helpers, files to the judge, servers, devices, messages, verdicts.

Engine tests run the real sandbox; the rest call the judging code in-process, as the judge does.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from sandbox.judging import checks, helpers, verdict
from sandbox.judging.compare import CheckFailed, CheckSkipped, expect_close
from sandbox.protocol import CheckResult, Limits, RunRequest
from tutor.engine import Engine

SOLUTION = """
import torch

def double(x):
    return x * 2

def spin(x):
    return x

def mean_of(xs):
    return sum(xs) / len(xs)
"""


def v2(**check: object) -> dict:
    base = {"format_version": 2, "file": "<test>", "cases_line": 1, "probe_line": 1, "judge_line": 1}
    base.update(check)
    return base


DOUBLE = v2(name="doubles", kind="function", function="double",
            cases="for n in (1, 3, 4):\n    yield (torch.randn(n, generator=gen),)\n")


def submit(engine: Engine, tmp_path: Path, body: str, check_list: list[dict], seed: int = 99, timeout: float = 20,
           name: str = "attempt.py"):
    src = tmp_path / name
    src.write_text(textwrap.dedent(body), encoding="utf-8")
    req = RunRequest(kind="check", file=str(src), seed=seed, limits=Limits(timeout_s=timeout), checks=check_list,
                     solution=SOLUTION, exercise="test/v2")
    return engine.submit(req)


def text(result) -> str:
    return "\n".join(f"{c.status}: {c.message}" for c in result.checks) + "\n" + result.error


# --- 1. import mode --------------------------------------------------------------------------

DEMO_BLOCK = """
import time, torch
def double(x):
    return x * 2
if __name__ == "__main__":
    print("demo ran")
    time.sleep(10_000)
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_v2_checks_import_the_file_so_a_sleeping_demo_block_does_not_run(engine, tmp_path):
    result = submit(engine, tmp_path, DEMO_BLOCK, [DOUBLE], timeout=15)
    assert result.status == "pass", text(result)
    assert "demo ran" not in result.stdout
    # Format v1 keeps running the file as __main__ (the demo block runs, so it times out).
    v1 = dict(DOUBLE, format_version=1, cases="for n in (1, 3):\n    yield (torch.randn(n, generator=gen),)\n")
    old = submit(engine, tmp_path, DEMO_BLOCK.replace("time.sleep(10_000)", "pass"), [v1])
    assert "demo ran" in old.stdout and old.status == "pass", text(old)


PICKLING = """
import pickle, torch
from torch.utils.data import DataLoader, Dataset

class Squares(Dataset):
    def __len__(self):
        return 6
    def __getitem__(self, i):
        return torch.tensor(float(i * i))

def double(x):
    return x * 2

def loader_sum():
    total = 0.0
    for batch in DataLoader(Squares(), batch_size=2, num_workers=2):
        total += float(batch.sum())
    return total

def round_trip():
    return pickle.loads(pickle.dumps((Squares(), double)))[1](torch.ones(1))

if __name__ == "__main__":
    raise SystemExit("the demo block must not run during checks")
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_imported_functions_and_classes_pickle_and_work_in_dataloader_workers(engine, tmp_path):
    check = v2(name="workers", kind="custom",
               probe="return {'sum': learner.loader_sum(), 'rt': learner.round_trip()}\n",
               judge="expect_close(outputs[0]['sum'], 55.0, 'sum over the loader')\n"
                     "expect_close(outputs[0]['rt'], torch.full((1,), 2.0), 'unpickled double')\n")
    result = submit(engine, tmp_path, PICKLING, [check], timeout=60)
    assert result.status == "pass", text(result) + result.stderr


# --- 7. budgets per check --------------------------------------------------------------------

SLOW = """
import torch
def spin(x):
    while True:
        pass
def double(x):
    return x * 2
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_check_that_runs_out_of_budget_says_so_and_the_others_still_report(engine, tmp_path):
    spin = v2(name="spins", kind="function", function="spin", budget=1,
              cases="yield (torch.ones(2),)\nyield (torch.zeros(3),)\n")
    result = submit(engine, tmp_path, SLOW, [spin, DOUBLE], timeout=30)
    assert [c.status for c in result.checks] == ["fail", "pass"], text(result)
    assert "1 s budget" in result.checks[0].message and "`spin(" in result.checks[0].message


# --- 8. statistical helpers ------------------------------------------------------------------

def test_threshold_helpers_name_the_value_the_bounds_and_the_seed():
    helpers.expect_between(0.5, 0.0, 1.0, "accuracy", seed=7)
    with pytest.raises(CheckFailed, match=r"accuracy is 0\.42, expected at least 0\.9 \(seed 7\)"):
        helpers.expect_at_least(0.42, 0.9, "accuracy", seed=7)
    with pytest.raises(CheckFailed, match=r"loss is 3, expected between 0 and 1 \(seed 3\)"):
        helpers.expect_between(torch.tensor(3.0), 0, 1, "loss", seed=3)
    with pytest.raises(CheckFailed, match="NaN"):
        helpers.expect_at_most(float("nan"), 1.0, "loss")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_statistical_check_reports_the_runs_seed(engine, tmp_path):
    check = v2(name="mean is close", kind="custom",
               cases="return [{'xs': [float(v) for v in torch.rand(50, generator=gen)]}]\n",
               probe="return learner.mean_of(case['xs'])\n",
               judge="expect_between(outputs[0], 0.3, 0.7, 'the mean of 50 uniform draws')\n")
    assert submit(engine, tmp_path, "def mean_of(xs):\n    return sum(xs) / len(xs)\n", [check], seed=31).status == "pass"
    wrong = submit(engine, tmp_path, "def mean_of(xs):\n    return max(xs)\n", [check], seed=31)
    assert wrong.status == "fail" and "(seed 31)" in wrong.checks[0].message, text(wrong)


# --- 5. files and bytes to the judge ---------------------------------------------------------

EXPORTER = """
import torch
def export(path):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    torch.save(model.state_dict(), path)
    return model(torch.ones(1, 3)).detach()
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_probe_hands_a_file_to_the_judge_which_loads_it_in_its_clean_process(engine, tmp_path):
    check = v2(name="checkpoint loads", kind="custom",
               probe="out = learner.export('model.pt')\nreturn {'file': send_file('model.pt'), 'out': out}\n",
               judge=("state = torch.load(outputs[0]['file'].path(), weights_only=True)\n"
                      "model = torch.nn.Linear(3, 2)\nmodel.load_state_dict(state)\n"
                      "expect_close(outputs[0]['out'], model(torch.ones(1, 3)).detach(), 'the saved model')\n"
                      "return f\"{len(outputs[0]['file'])} bytes\"\n"))
    result = submit(engine, tmp_path, EXPORTER, [check])
    assert result.status == "pass", text(result)
    capped = dict(check, probe="learner.export('model.pt')\nreturn {'file': send_file('model.pt', max_bytes=16), 'out': 0}\n")
    small = submit(engine, tmp_path, EXPORTER, [capped])
    assert small.status == "fail" and "at most" in small.checks[0].message, text(small)


def test_blobs_survive_the_codec(tmp_path):
    from sandbox.judging import codec

    path = tmp_path / "probe.pt"
    codec.save({"f": helpers.send_bytes(b"\x00abc\xff", "x.bin"), "empty": helpers.send_bytes(b"")}, str(path))
    data = codec.load(str(path))
    assert isinstance(data["f"], codec.Blob) and data["f"].data == b"\x00abc\xff" and data["f"].name == "x.bin"
    assert Path(data["f"].path()).read_bytes() == b"\x00abc\xff" and data["empty"].data == b""


# --- 6. servers --------------------------------------------------------------------------------

ASGI_APP = """
import json

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = (await receive())["body"]
    xs = json.loads(body)["xs"]
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps({"sum": SUM(xs)}).encode()})
"""

SERVER_CHECK = v2(name="answers the judge's requests", kind="custom",
                  cases="for n in (1, 4, 7):\n    yield {'xs': [randint(gen, -9, 9) for _ in range(n)]}\n",
                  probe="with AsgiClient(learner.app) as client:\n    return client.request('POST', '/sum', json=case)\n",
                  judge=("for response, case in zip(outputs, cases):\n"
                         "    if response['status'] != 200:\n        fail(f\"status {response['status']}\")\n"
                         "    expect_close(response['json']['sum'], sum(case['xs']), f\"POST /sum {case}\")\n"))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_server_is_driven_in_process_by_requests_the_judge_chose(engine, tmp_path):
    assert submit(engine, tmp_path, ASGI_APP.replace("SUM", "sum"), [SERVER_CHECK]).status == "pass"
    wrong = submit(engine, tmp_path, ASGI_APP.replace("SUM", "max"), [SERVER_CHECK])
    assert wrong.status == "fail" and "POST /sum" in wrong.checks[0].message, text(wrong)


def test_a_missing_package_skips_the_check_with_the_install_command():
    with pytest.raises(CheckSkipped, match=r"pip install 'pytorch-tutor\[deploy\]'"):
        helpers.require_module("surely_not_installed_pkg", extra="deploy")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_skipped_check_is_reported_and_never_makes_a_pass_alone(engine, tmp_path):
    check = v2(name="needs a package", kind="custom",
               probe="require_module('surely_not_installed_pkg', extra='deploy')\n", judge="return 'ok'\n")
    result = submit(engine, tmp_path, "x = 1\n", [check])
    assert [c.status for c in result.checks] == ["skip"], text(result)
    assert "pytorch-tutor[deploy]" in result.checks[0].message
    # The run's status comes from sandbox.judging.verdict (the worker's final event is built
    # with it once the runtime calls it in place of protocol.verdict).
    assert verdict.of_run(result.outcome, result.checks, "check") != "pass"


# --- 9. devices --------------------------------------------------------------------------------

def test_expect_on_device_names_the_tensor_that_is_elsewhere():
    helpers.expect_on_device({"a": torch.ones(1)}, "cpu")
    record = {"__tensor__": torch.ones(2), "device": "cuda:0", "requires_grad": False, "__tensor_subclass__": ""}
    with pytest.raises(CheckFailed, match=r"the result\['b'\]\[0\] is on cuda:0, expected it on cpu"):
        helpers.expect_on_device({"b": [record]}, "cpu")
    helpers.expect_on_device(record, "cuda")


def test_on_device_checks_move_the_cases_and_require_outputs_there():
    # The probe side: with on_device, tensors in a case are moved to the run's device.
    moved = checks._to_device({"x": torch.ones(2, requires_grad=True), "n": 3}, "meta")
    assert moved["x"].device.type == "meta" and moved["x"].requires_grad and moved["n"] == 3


# --- 12. messages ------------------------------------------------------------------------------

def test_messages_never_show_internal_records():
    record = {"__tensor__": torch.ones(2), "device": "cpu", "requires_grad": True, "__tensor_subclass__": ""}
    for expected in ("abc", 3, None, [1, 2]):
        with pytest.raises(CheckFailed) as info:
            expect_close(record if expected != [1, 2] else [record, "x"], expected, "`f()`")
        assert "__tensor__" not in str(info.value) and "requires_grad" not in str(info.value), str(info.value)
    with pytest.raises(CheckFailed) as info:
        expect_close({"k": record}, "text", "`f()`")
    assert "__tensor__" not in str(info.value) and "tensor of shape (2,)" in str(info.value)


def test_long_exception_text_is_shortened_at_a_sentence_and_says_so():
    long = "First sentence. " + "word " * 400 + "end."
    shown = checks.exc_text(ValueError(long))
    assert shown.startswith("ValueError: First sentence.") and shown.endswith("left out]")
    assert len(shown) < len(long) and "wor [" not in shown
    short = checks.exc_text(RuntimeError("shape mismatch: (2, 3) vs (3, 2). Transpose one."))
    assert short == "RuntimeError: shape mismatch: (2, 3) vs (3, 2). Transpose one."


RAISES = """
import torch
def double(x):
    scale = torch.ones(5)
    return x * scale
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_learner_exception_names_the_call_the_file_and_the_line(engine, tmp_path):
    result = submit(engine, tmp_path, RAISES, [DOUBLE], name="doubler.py")
    message = result.checks[0].message
    assert result.status == "fail", text(result)
    assert "`double(" in message and "raised RuntimeError" in message, message
    assert "line 5 of doubler.py, in `double`" in message and "`return x * scale`" in message, message


# --- the verdict module ------------------------------------------------------------------------

def test_the_verdict_rules():
    ok, bad, skip, err = (CheckResult("a", s) for s in ("pass", "fail", "skip", "error"))
    assert verdict.of_run("ok", [ok, skip], "check") == "pass"
    assert verdict.of_run("ok", [skip], "check") == "error"       # nothing was checked
    assert verdict.of_run("ok", [], "check") == "error"
    assert verdict.of_run("ok", [ok, bad], "check") == "fail"
    assert verdict.of_run("timeout", [ok], "check") == "fail"
    assert verdict.of_run("ok", [ok, err], "check") == "error"
    assert verdict.of_run("ok", [ok], "check", error="the checker stopped early") == "error"
    assert verdict.of_run("ok", [], "run") == "pass"
    assert [verdict.of_check(e) for e in (None, CheckFailed("x"), CheckSkipped("y"), KeyError("z"))] == \
        ["pass", "fail", "skip", "error"]
    results, error = verdict.collect([{"name": "a"}, {"name": "b"}], [{"type": "check", "name": "a", "status": "pass"}],
                                     timed_out=True)
    assert [r.status for r in results] == ["pass", "error"] and "ran out of time" in error


# --- 3. assets, by name (sandbox side) ---------------------------------------------------------

def test_assets_are_found_by_name_in_check_code_and_in_learner_code(tmp_path, monkeypatch):
    from sandbox.judging import harness
    from sandbox.learner import assets

    data = tmp_path / "points.csv"
    data.write_text("x,y\n1,2\n")
    monkeypatch.setenv(assets.ENV, "")
    monkeypatch.setattr(helpers, "ASSETS", {})
    harness._share_assets({"assets": {"points": str(data)}})
    assert helpers.asset_path("points") == str(data) and assets.path("points") == str(data)
    with pytest.raises(LookupError, match="its assets: points"):
        helpers.asset_path("digits")
    with pytest.raises(LookupError, match="this lesson has: points"):
        assets.path("digits")
    monkeypatch.setenv(assets.ENV, "")
    with pytest.raises(LookupError, match="pytorch-tutor run"):
        assets.path("points")


SPAWN = """
import torch, torch.multiprocessing as mp
def square(v):
    return v * v
def run_pool():
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.map(square, [1, 2, 3])
if __name__ == "__main__":
    raise SystemExit("the demo block must not run, here or in the spawned child")
"""


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_imported_functions_reach_spawned_children(engine, tmp_path):
    # A spawned child re-imports the file (as __mp_main__, demo block skipped) to find `square`.
    check = v2(name="spawn", kind="custom", probe="return learner.run_pool()\n",
               judge="expect_close(outputs[0], [1, 4, 9], 'pool.map(square, [1, 2, 3])')\n")
    result = submit(engine, tmp_path, SPAWN, [check], timeout=120)
    assert result.status == "pass", text(result) + result.stderr


FASTAPI_APP = """
from fastapi import FastAPI
app = FastAPI()

@app.post("/sum")
def total(body: dict):
    return {"sum": sum(body["xs"])}
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_fastapi_app_is_driven_in_process(engine, tmp_path):
    pytest.importorskip("fastapi")
    assert submit(engine, tmp_path, FASTAPI_APP, [SERVER_CHECK]).status == "pass"
    broken = submit(engine, tmp_path, FASTAPI_APP.replace('sum(body["xs"])', 'body["missing"]'), [SERVER_CHECK])
    assert broken.status == "fail" and "status 500" in broken.checks[0].message, text(broken)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_judge_that_overruns_its_budget_errors_that_check_alone(engine, tmp_path):
    slow_judge = v2(name="slow judge", kind="custom", budget=1, probe="return 1\n",
                    judge="while True:\n    pass\n")
    result = submit(engine, tmp_path, "import torch\ndef double(x):\n    return x * 2\n", [slow_judge, DOUBLE], timeout=30)
    assert [c.status for c in result.checks] == ["error", "pass"], text(result)
    assert "1 s budget" in result.checks[0].message
