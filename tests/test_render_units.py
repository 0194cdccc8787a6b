"""Renderer behaviour beyond the golden files: metrics grouping, robustness to bad data,
NO_COLOR, the stdlib TensorBoard reader, the profile parsers, and the no-torch boundary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from render_fixtures import artifacts, metrics
from tutor.render import render_artifact, render_metrics
from tutor.render.curve import metrics_series

ROOT = Path(__file__).resolve().parents[1]


def text_of(renderable: object, width: int = 80, **console_kw: object) -> str:
    console = Console(width=width, record=True, file=open(os.devnull, "w"), **console_kw)  # type: ignore[arg-type]
    console.print(renderable)
    return console.export_text()


def test_metrics_are_grouped_by_name_and_missing_steps_count_on() -> None:
    events = [{"type": "metric", "name": "loss", "value": 3.0, "step": None},
              {"type": "metric", "name": "acc", "value": 0.1, "step": 10},
              {"type": "metric", "name": "loss", "value": 2.0, "step": None},
              {"type": "metric", "name": "loss", "value": "nan", "step": 5},
              {"type": "metric", "name": "loss", "value": "oops", "step": 6}]
    series = {s["label"]: s for s in metrics_series(events)}
    assert series["loss"]["x"] == [0, 1, 5] and series["loss"]["y"][:2] == [3.0, 2.0]
    assert series["acc"] == {"label": "acc", "x": [10], "y": [0.1]}


def test_render_metrics_draws_every_series_within_the_size() -> None:
    text = text_of(render_metrics(metrics(), width=60, height=12), no_color=True)
    assert "loss (last" in text and "val_loss (last" in text
    lines = text.splitlines()
    assert len(lines) <= 12 and max(len(line) for line in lines) <= 60


def test_render_metrics_with_nothing_yet_says_so() -> None:
    assert "no metrics yet" in text_of(render_metrics([], width=40, height=8))


@pytest.mark.parametrize("artifact", [
    {"kind": "tensor", "title": "t", "data": {"shape": [2], "values": "not a list"}},
    {"kind": "image", "title": "i", "data": {"images": [{"height": 2, "width": 2, "channels": 3, "pixels": [1]}]}},
    {"kind": "heatmap", "title": "h", "data": {"values": 5}},
    {"kind": "curve", "title": "c", "data": {}},
    {"kind": "profile", "title": "p", "data": {"trace": "nope"}},
    {"kind": "nonsense", "title": "n", "data": {}},
    {"kind": "tensor", "title": "x", "data": None},
    "not even a dict",
])
def test_bad_artifacts_become_a_note_never_an_exception(artifact: object) -> None:
    text = text_of(render_artifact(artifact, width=80))  # type: ignore[arg-type]
    assert text.startswith("(") and ("could not draw" in text or "skipped" in text or "no data" in text)


def test_learner_strings_cannot_inject_markup_or_escape_codes() -> None:
    art = {"kind": "text", "title": "[bold red]x\x1b]0;pwned\x07", "data": {"text": "[link=x]y[/link]\x1b[2J"}}
    text = text_of(render_artifact(art), force_terminal=True, color_system="truecolor")
    assert "[bold red]x" in text and "[link=x]y[/link]" in text
    assert "\x1b]0" not in text and "\x1b[2J" not in text


def test_no_color_env_gives_plain_output_with_a_ramp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    console = Console(width=80, force_terminal=True, record=True, file=open(os.devnull, "w"))
    console.print(render_artifact(artifacts()["heatmap_attention"]))
    out = console.export_text(styles=True)
    assert "48;2" not in out and "38;2" not in out  # no colour codes at all
    assert "@" in out and "#" in out                # magnitude carried by characters


def test_narrow_console_never_overflows() -> None:
    for name, art in artifacts().items():
        text = text_of(render_artifact(art, width=100), width=50, no_color=True)
        assert max(len(line) for line in text.splitlines()) <= 50, name


def test_tfevents_reader_matches_tensorboard(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    from sandbox.learner.tfevents import read_scalars

    logdir = tmp_path / "logs"  # (not the tmp_path itself: its name contains "tfevents")
    writer = EventFileWriter(str(logdir))
    for step in range(12):
        for tag, value in (("loss/train", 1.0 / (step + 1)), ("acc", step / 12)):
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
            writer.add_event(event_pb2.Event(step=step, wall_time=1.0 + step, summary=summary))
    writer.close()
    ours = read_scalars(str(logdir))
    acc = event_accumulator.EventAccumulator(str(logdir))
    acc.Reload()
    assert sorted(ours) == sorted(acc.Tags()["scalars"])
    for tag in ours:
        assert ours[tag] == [(e.step, e.value) for e in acc.Scalars(tag)]


def test_profile_fallback_parser_agrees_with_torch_tb_profiler() -> None:
    from tutor.render.profile import summarize_fallback, summarize_with_tb_profiler

    trace = artifacts()["profile"]["data"]["trace"]
    ours, theirs = summarize_fallback(trace), summarize_with_tb_profiler(trace)
    assert [(o["name"], o["calls"], round(o["self_us"])) for o in ours["ops"]] == \
        [(o["name"], o["calls"], round(o["self_us"])) for o in theirs["ops"]]
    assert ours["ops"][0] == {"name": "aten::addmm", "calls": 2, "self_us": 700.0, "total_us": 700.0}


def test_importing_and_rendering_everything_never_imports_torch() -> None:
    code = (
        "import sys, os\n"
        "sys.path.insert(0, 'tests')\n"
        "from rich.console import Console\n"
        "from render_fixtures import artifacts, metrics\n"
        "import tutor.render as r\n"
        "c = Console(file=open(os.devnull, 'w'), width=80)\n"
        "for a in artifacts().values(): c.print(r.render_artifact(a, 80))\n"
        "c.print(r.render_metrics(metrics(), 80, 12))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_importing_tutor_render_is_light() -> None:
    code = ("import sys; import tutor.render; "
            "print(json.dumps([m for m in ('rich', 'plotext', 'torch_tb_profiler') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", "import json; " + code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
