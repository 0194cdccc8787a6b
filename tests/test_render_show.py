"""The learner-side ``show`` API (imports torch in the test process): artifacts are bounded,
layouts are understood, odd input never raises, and events go out on the event fd."""

from __future__ import annotations

import json
import os

import pytest

torch = pytest.importorskip("torch")

from sandbox.learner import events  # noqa: E402
from sandbox.learner.show import (MAX_IMAGES, graph_data, heatmap_data, image_data, module_data,  # noqa: E402
                          show, tensor_data)


@pytest.fixture
def captured():
    """Route show's events into a pipe and return a function that reads them back."""
    r, w = os.pipe()
    events.reset(w)

    def read() -> list[dict]:
        os.close(w)
        data = b""
        while chunk := os.read(r, 1 << 20):
            data += chunk
        os.close(r)
        return [json.loads(line) for line in data.splitlines()]

    yield read
    events.reset(None)


def test_small_tensor_is_sent_whole_and_large_one_summarised() -> None:
    small = tensor_data(torch.arange(6.0).reshape(2, 3))
    assert small["values"] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and small["strides"] == [3, 1]
    big = tensor_data(torch.ones(300, 400).t())
    assert big["values"] is None and big["contiguous"] is False
    assert sum(big["hist"]["counts"]) == 120000 and big["stats"]["mean"] == 1.0
    assert len(big["corner"]) == 8 and len(big["corner"][0]) == 12


def test_graph_names_leaves_from_the_callers_variables() -> None:
    weight = torch.randn(3, 2, requires_grad=True)
    x = torch.randn(4, 3)
    loss = (x @ weight).exp().sum()
    data = graph_data(loss)
    names = [n["name"] for n in data["nodes"]]
    assert names[:3] == ["SumBackward0", "ExpBackward0", "MmBackward0"]
    leaves = [n["leaf"] for n in data["nodes"] if n["leaf"]]
    assert leaves == [{"label": "weight", "shape": [3, 2], "dtype": "float32"}]


def test_module_tree_counts_frozen_parameters_and_traces_shapes() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2))
    model[0].requires_grad_(False)
    stats_before = model[1].running_mean.clone()
    data = module_data(model, torch.randn(5, 4))
    assert data["total_params"] == 40 + 16 + 18 and data["trainable_params"] == 16 + 18
    assert [c["out_shape"] for c in data["tree"]["children"]] == [[5, 8], [5, 8], [5, 2]]
    assert model.training and torch.equal(model[1].running_mean, stats_before)  # the probe changed nothing


@pytest.mark.parametrize("shape,expected", [((28, 28), (1, 28, 28, 1)), ((3, 32, 32), (1, 32, 32, 3)),
                                            ((32, 32, 3), (1, 32, 32, 3)), ((40, 1, 100, 80), (16, 32, 26, 1))])
def test_image_layouts_and_bounds(shape: tuple, expected: tuple) -> None:
    data = image_data(torch.rand(*shape))
    n, h, w, c = expected
    assert len(data["images"]) == n
    first = data["images"][0]
    assert (first["height"], first["width"], first["channels"]) == (h, w, c)
    assert len(first["pixels"]) == h * w * c and max(first["pixels"]) <= 255
    assert len(data["images"]) <= MAX_IMAGES


def test_heatmap_is_pooled_to_64_and_confusion_matrix_keeps_labels() -> None:
    big = heatmap_data(torch.rand(4, 200, 300))
    assert len(big["values"]) == 64 and len(big["values"][0]) == 64 and big["note"]
    cm = heatmap_data(torch.tensor([[3, 1], [0, 4]]), labels=["a", "b"])
    assert cm["integer"] and cm["row_labels"] == ["a", "b"] == cm["col_labels"]


def test_every_form_emits_one_event_and_odd_input_becomes_text(captured) -> None:
    t = torch.randn(2, 2, requires_grad=True)
    show(t)
    show.graph(t * 2)
    show.curve([1, 2, 3], label="a")
    show.metric("loss", torch.tensor(0.5), step=3)
    show.image(torch.rand(3, 8, 8))
    show.heatmap([[1, 2], [3, 4]])
    show.graph("not a tensor")
    show.image(object())
    show.metric("bad", "x")  # not a number: a message on stderr, no event
    got = captured()
    kinds = [(e["type"], e.get("kind")) for e in got]
    assert kinds == [("artifact", "tensor"), ("artifact", "graph"), ("artifact", "curve"),
                     ("metric", None), ("artifact", "image"), ("artifact", "heatmap"),
                     ("artifact", "text"), ("artifact", "text")]
    assert got[0]["title"] == "t" and got[3] == {"type": "metric", "name": "loss", "value": 0.5, "step": 3}
    assert "show.graph" in got[6]["data"]["note"]


def test_outside_the_sandbox_show_prints_a_text_rendering(capsys: pytest.CaptureFixture[str]) -> None:
    events.reset(None)
    x = torch.zeros(2, 3)
    show(x)
    show.metric("acc", 0.25, step=1)
    out = capsys.readouterr().out
    assert "tensor x" in out and "(2, 3)" in out and "acc (step 1): 0.25" in out
