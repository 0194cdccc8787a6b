"""Renderers never crash: NaN, ±inf, ±1e308, empty and huge inputs, for every kind.

Each renderer module is called directly (not through ``render_artifact``, whose catch-all
would hide a crash behind a one-line note), and what it returns must print at several widths.
A renderer may say that it cannot draw something; it may not raise.
"""

from __future__ import annotations

import copy
import io
import math
from typing import Any

import pytest
from rich.console import Console

from render_fixtures import artifacts, metrics

from tutor.render import RENDERERS, render_artifact, render_metrics

NAN, INF, BIG = math.nan, math.inf, 1e308
ODD_NUMBERS = [NAN, INF, -INF, BIG, -BIG, 5e-324, 0.0, -0.0]


def printed(renderable: Any, width: int) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None, record=True)
    console.print(renderable)
    return console.export_text()


def odd_values(shape: list[int]) -> Any:
    """A nested list of ``shape`` cycling through NaN, ±inf, ±1e308, ..."""
    counter = iter(range(10**9))

    def build(dims: list[int]) -> Any:
        if not dims:
            return ODD_NUMBERS[next(counter) % len(ODD_NUMBERS)]
        return [build(dims[1:]) for _ in range(dims[0])]

    return build(shape)


def variants() -> list[tuple[str, dict[str, Any]]]:
    """(case name, artifact) for every kind: odd numbers, empty data, huge data."""
    base = artifacts()
    out: list[tuple[str, dict[str, Any]]] = []

    def add(name: str, key: str, change: Any) -> None:
        art = copy.deepcopy(base[key])
        change(art["data"])
        out.append((name, art))

    # tensors
    add("tensor-odd-values", "tensor_small", lambda d: d.update(values=odd_values([3, 4]), stats={
        "min": -BIG, "max": BIG, "mean": NAN, "std": INF, "nan": 3, "inf": 2, "zeros": 1}))
    add("tensor-empty", "tensor_small", lambda d: d.update(shape=[0, 4], numel=0, values=[], stats={}))
    add("tensor-scalar-nan", "tensor_small", lambda d: d.update(shape=[], numel=1, values=NAN, stats=None))
    add("tensor-huge-hist", "tensor_large", lambda d: d.update(
        hist={"lo": -BIG, "hi": BIG, "counts": [10**18] * 5000},
        stats={"min": -BIG, "max": BIG, "mean": NAN, "std": INF},
        corner=odd_values([8, 12]), shape=[10**9, 10**9], numel=10**18))
    add("tensor-hist-nan-bounds", "tensor_large", lambda d: d.update(hist={"lo": NAN, "hi": INF, "counts": []}))
    add("tensor-wide-row", "tensor_vector", lambda d: d.update(shape=[5000], numel=5000,
                                                               values=[BIG * (-1) ** i for i in range(5000)]))
    # graphs and modules
    add("graph-empty", "graph", lambda d: d.update(nodes=[], root=None))
    add("graph-cycle-and-dangling", "graph", lambda d: d.update(nodes=[
        {"id": 0, "name": "A", "next": [1, 99], "leaf": None}, {"id": 1, "name": "B", "next": [0], "leaf": None}]))
    add("graph-deep", "graph", lambda d: d.update(root=0, nodes=[
        {"id": i, "name": f"Op{i}Backward0", "next": [i + 1] if i < 2999 else [], "leaf": None} for i in range(3000)]))
    add("module-empty", "module", lambda d: d.update(tree={}, total_params=0, trainable_params=0))
    add("module-odd-counts", "module", lambda d: d["tree"].update(total=NAN, params=-1, out_shape=[INF]))

    def deep_module(d: dict[str, Any]) -> None:
        node: dict[str, Any] = {"name": "leaf", "type": "Linear", "children": []}
        for i in range(2000):
            node = {"name": str(i), "type": "Sequential", "children": [node]}
        d["tree"] = node

    add("module-deep", "module", deep_module)
    # curves
    add("curve-odd-values", "curve", lambda d: d.update(series=[{"label": "x", "x": list(range(8)), "y": ODD_NUMBERS}]))
    add("curve-empty", "curve", lambda d: d.update(series=[]))
    add("curve-huge", "curve", lambda d: d.update(series=[{"label": "big", "x": list(range(200_000)),
                                                            "y": [BIG * (-1) ** i for i in range(200_000)]}]))
    add("curve-log-of-nonpositive", "curve_log", lambda d: d.update(series=[{"label": "lr", "y": [0, -1, NAN]}]))
    add("curve-one-point-1e308", "curve", lambda d: d.update(series=[{"label": "p", "x": [BIG], "y": [-BIG]}]))
    # images
    add("image-odd-pixels", "image_single", lambda d: d["images"][0].update(pixels=[NAN, INF, -BIG, BIG] * 40))
    add("image-empty", "image_single", lambda d: d.update(images=[]))
    add("image-zero-size", "image_single", lambda d: d["images"][0].update(height=0, width=0, pixels=[]))
    add("image-short-pixels", "image_batch", lambda d: d["images"][0].update(pixels=[1, 2, 3]))
    add("image-huge", "image_single", lambda d: d.update(images=[{"height": 2000, "width": 2000, "channels": 1,
                                                                   "pixels": [128] * 4_000_000}]))
    # heatmaps
    add("heatmap-odd-values", "heatmap_attention", lambda d: d.update(values=odd_values([6, 6]), shape=[6, 6]))
    add("heatmap-all-nan", "heatmap_attention", lambda d: d.update(values=[[NAN] * 3] * 3, shape=[3, 3]))
    add("heatmap-empty", "heatmap_confusion", lambda d: d.update(values=[], shape=[0, 0]))
    add("heatmap-ragged", "heatmap_confusion", lambda d: d.update(values=[[1, 2, 3], [4], []]))
    add("heatmap-huge", "heatmap_attention", lambda d: d.update(values=[[float(i * j) for j in range(500)]
                                                                         for i in range(500)], shape=[500, 500]))
    # profiles and tensorboard
    add("profile-empty-trace", "profile", lambda d: d.update(trace={"traceEvents": []}))
    add("profile-odd-durations", "profile", lambda d: [e.update(dur=v) for e, v in zip(
        d["trace"]["traceEvents"], ODD_NUMBERS * 10) if "dur" in e])
    add("profile-no-trace", "profile", lambda d: d.update(trace=None))
    add("tensorboard-odd", "tensorboard", lambda d: d.update(scalars={"loss": {"steps": list(range(8)),
                                                                               "values": ODD_NUMBERS}}))
    add("tensorboard-empty", "tensorboard", lambda d: d.update(scalars={}))
    add("text-huge", "text", lambda d: d.update(text="x" * 2_000_000))
    add("text-empty", "text", lambda d: d.update(text=""))
    return out


CASES = variants()


def test_every_kind_has_odd_cases():
    kinds = {art["kind"] for _, art in CASES}
    assert kinds >= set(RENDERERS) - {"curve"} | {"curve"}


#: Cases whose data is malformed (not what ``show`` sends): the renderer may refuse them
#: with a ValueError that names the problem (render_artifact shows it as a note).
MALFORMED = {"graph-cycle-and-dangling", "image-short-pixels", "heatmap-ragged", "profile-no-trace",
             "module-empty"}


@pytest.mark.parametrize("name,artifact", CASES, ids=[name for name, _ in CASES])
def test_renderer_never_raises(name, artifact):
    import importlib

    module = importlib.import_module(f"tutor.render.{RENDERERS[artifact['kind']]}")
    for width in (20, 80):
        if name in MALFORMED:
            try:
                drawn = module.render(artifact["data"], artifact.get("title", ""), width)
            except ValueError as exc:
                assert str(exc), f"{name}: an empty error"
                continue
        else:
            drawn = module.render(artifact["data"], artifact.get("title", ""), width)
        printed(drawn, width)


@pytest.mark.parametrize("name,artifact", CASES, ids=[name for name, _ in CASES])
def test_render_artifact_always_draws_something(name, artifact):
    text = printed(render_artifact(artifact, 60), 60)
    assert text.strip()


@pytest.mark.parametrize("values", [ODD_NUMBERS, [], [BIG] * 100_000], ids=["odd", "empty", "huge"])
def test_metrics_chart_never_raises(values):
    events = [{"type": "metric", "name": "loss", "value": v, "step": i} for i, v in enumerate(values)]
    events += [{"type": "metric", "name": "nan-step", "value": 1.0, "step": NAN},
               {"type": "metric", "name": "inf-step", "value": 1.0, "step": INF}]
    for width, height in ((20, 5), (80, 16)):
        assert printed(render_metrics(events, width, height), width).strip()
    assert printed(render_metrics(metrics(), 20, 5), 20).strip()
