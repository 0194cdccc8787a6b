"""Fixed artifact data for the renderer tests: one or more per kind, fully deterministic
(computed from formulas, no randomness), shaped exactly as ``sandbox.show`` sends it."""

from __future__ import annotations

import math
from typing import Any


def _trace() -> dict[str, Any]:
    """A small synthetic Chrome trace: two profiler steps, nested operators, memory events."""
    events: list[dict[str, Any]] = []
    t = 1000.0
    for step in range(2):
        start = t
        events.append({"ph": "X", "cat": "user_annotation", "name": f"ProfilerStep#{step}", "ts": start,
                       "dur": 900.0, "pid": 1, "tid": 1, "args": {}})
        events.append({"ph": "X", "cat": "cpu_op", "name": "aten::linear", "ts": start + 10, "dur": 400.0,
                       "pid": 1, "tid": 1, "args": {"External id": 10 + step * 10}})
        events.append({"ph": "X", "cat": "cpu_op", "name": "aten::addmm", "ts": start + 20, "dur": 350.0,
                       "pid": 1, "tid": 1, "args": {"External id": 11 + step * 10}})
        events.append({"ph": "X", "cat": "cpu_op", "name": "aten::relu", "ts": start + 450, "dur": 100.0,
                       "pid": 1, "tid": 1, "args": {"External id": 12 + step * 10}})
        events.append({"ph": "X", "cat": "cpu_op", "name": "aten::sum", "ts": start + 600, "dur": 250.0,
                       "pid": 1, "tid": 1, "args": {"External id": 13 + step * 10}})
        for k in range(4):
            events.append({"ph": "i", "cat": "cpu_instant_event", "name": "[memory]", "s": "t",
                           "ts": start + 100 + k * 200, "pid": 1, "tid": 1,
                           "args": {"Total Allocated": 4096 * (k + 1 + step), "Bytes": 4096,
                                    "Total Reserved": 0, "Device Type": 0, "Device Id": -1, "Addr": 100 + k}})
        t += 1000.0
    return {"schemaVersion": 1, "traceEvents": events}


def artifacts() -> dict[str, dict[str, Any]]:
    """name -> artifact event."""
    small = [[round(math.sin(i * 4 + j) * 2, 4) for j in range(4)] for i in range(3)]
    big_hist = [int(1000 * math.exp(-((i - 14.5) / 5) ** 2)) for i in range(30)]
    corner = [[round(math.cos(i + j / 3), 3) for j in range(12)] for i in range(8)]
    ramp = [(x * 255) // 15 for y in range(10) for x in range(16)]
    rgb = [v for y in range(12) for x in range(12) for v in (x * 21, y * 21, 128)]
    return {
        "tensor_small": {"kind": "tensor", "title": "x", "data": {
            "shape": [3, 4], "dtype": "float32", "device": "cpu", "strides": [4, 1], "contiguous": True,
            "requires_grad": True, "grad_fn": None, "numel": 12, "values": small,
            "stats": {"min": -2, "max": 2, "mean": 0.1, "std": 1.3, "nan": 0, "inf": 0, "zeros": 0}}},
        "tensor_3d": {"kind": "tensor", "title": "t", "data": {
            "shape": [4, 2, 3], "dtype": "int64", "device": "cpu", "strides": [6, 3, 1], "contiguous": True,
            "requires_grad": False, "numel": 24,
            "values": [[[a * 6 + b * 3 + c for c in range(3)] for b in range(2)] for a in range(4)]}},
        "tensor_vector": {"kind": "tensor", "title": "v", "data": {
            "shape": [40], "dtype": "float32", "device": "cpu", "strides": [1], "numel": 40,
            "values": [round(i * 0.25 - 5, 2) for i in range(40)],
            "stats": {"min": -5, "max": 4.75, "mean": -0.125, "std": 2.9, "zeros": 1}}},
        "tensor_large": {"kind": "tensor", "title": "weights", "data": {
            "shape": [512, 768], "dtype": "float32", "device": "cuda:0", "strides": [1, 512], "contiguous": False,
            "requires_grad": True, "grad_fn": "TBackward0", "numel": 393216, "values": None,
            "stats": {"min": -3.1, "max": 3.05, "mean": 0.0012, "std": 0.98, "nan": 2, "inf": 0, "zeros": 5},
            "hist": {"lo": -3.1, "hi": 3.05, "counts": big_hist}, "corner": corner, "corner_index": "[:8, :12]"}},
        "graph": {"kind": "graph", "title": "loss", "data": {
            "tensor": {"shape": [], "dtype": "float32", "grad_fn": "SumBackward0"}, "root": 0, "truncated": False,
            "nodes": [
                {"id": 0, "name": "SumBackward0", "next": [1], "leaf": None},
                {"id": 1, "name": "MulBackward0", "next": [2, 3], "leaf": None},
                {"id": 2, "name": "AddBackward0", "next": [4, 5], "leaf": None},
                {"id": 3, "name": "ExpBackward0", "next": [2], "leaf": None},
                {"id": 4, "name": "AccumulateGrad", "next": [],
                 "leaf": {"label": "w", "shape": [3, 2], "dtype": "float32"}},
                {"id": 5, "name": "AccumulateGrad", "next": [],
                 "leaf": {"label": "model.0.bias", "shape": [2], "dtype": "float32"}}]}},
        "module": {"kind": "module", "title": "model", "data": {
            "total_params": 1248, "trainable_params": 1088, "traced": True, "truncated": False,
            "tree": {"name": "", "type": "Sequential", "extra": "", "params": 0, "trainable": 0,
                     "total": 1248, "total_trainable": 1088, "out_shape": [8, 10], "children": [
                         {"name": "0", "type": "Linear", "extra": "in_features=16, out_features=64, bias=True",
                          "params": 1088, "trainable": 1088, "total": 1088, "total_trainable": 1088,
                          "out_shape": [8, 64], "children": []},
                         {"name": "1", "type": "ReLU", "extra": "", "params": 0, "trainable": 0, "total": 0,
                          "total_trainable": 0, "out_shape": [8, 64], "children": []},
                         {"name": "head", "type": "Sequential", "extra": "", "params": 0, "trainable": 0,
                          "total": 160, "total_trainable": 0, "out_shape": [8, 10],
                          "children": [
                              {"name": "0", "type": "Linear", "extra": "in_features=64, out_features=2, bias=True",
                               "params": 130, "trainable": 0, "total": 130, "total_trainable": 0,
                               "out_shape": [8, 2], "children": []},
                              {"name": "1", "type": "Linear", "extra": "in_features=2, out_features=10, bias=True",
                               "params": 30, "trainable": 0, "total": 30, "total_trainable": 0,
                               "out_shape": [8, 10], "children": []}]}]}}},
        "curve": {"kind": "curve", "title": "loss", "data": {
            "series": [{"label": "train", "x": list(range(40)), "y": [2.5 * math.exp(-i / 8) + 0.1 for i in range(40)]},
                       {"label": "val", "x": list(range(0, 40, 4)), "y": [2.6 * math.exp(-i / 10) + 0.3 for i in range(0, 40, 4)]}],
            "log": False, "xlabel": "epoch", "ylabel": "loss"}},
        "curve_log": {"kind": "curve", "title": "lr", "data": {
            "series": [{"label": "lr", "x": list(range(30)), "y": [10 ** (-i / 6) for i in range(30)]}], "log": True}},
        "image_single": {"kind": "image", "title": "digit", "data": {
            "images": [{"height": 10, "width": 16, "channels": 1, "pixels": ramp}], "labels": [], "total": 1}},
        "image_batch": {"kind": "image", "title": "batch", "data": {
            "images": [{"height": 12, "width": 12, "channels": 3, "pixels": rgb}] * 5,
            "labels": ["cat", "dog", "ship", "frog", "car"], "total": 32}},
        "heatmap_confusion": {"kind": "heatmap", "title": "confusion", "data": {
            "values": [[50, 2, 0, 1], [3, 45, 7, 0], [0, 5, 60, 2], [4, 0, 1, 38]], "shape": [4, 4], "integer": True,
            "row_labels": ["cat", "dog", "bird", "frog"], "col_labels": ["cat", "dog", "bird", "frog"],
            "xlabel": "predicted", "ylabel": "true"}},
        "heatmap_attention": {"kind": "heatmap", "title": "attention", "data": {
            "values": [[round(math.exp(-abs(i - j) / 3), 3) for j in range(50)] for i in range(24)],
            "shape": [24, 50], "integer": False}},
        "profile": {"kind": "profile", "title": "prof", "data": {"trace": _trace(), "source": "tutor-profile-1.json",
                                                                 "dropped": 0}},
        "tensorboard": {"kind": "tensorboard", "title": "runs", "data": {
            "logdir": "runs/exp1", "omitted_tags": 0, "scalars": {
                "loss/train": {"steps": list(range(0, 100, 5)), "values": [1 / (1 + s / 10) for s in range(0, 100, 5)]},
                "accuracy": {"steps": list(range(0, 100, 10)), "values": [s / 110 for s in range(0, 100, 10)]}}}},
        "text": {"kind": "text", "title": "thing", "data": {"text": "<object at 0x1>\nsecond line",
                                                             "note": "show.graph: TypeError: wants a tensor"}},
    }


def metrics() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for step in range(25):
        out.append({"type": "metric", "name": "loss", "value": 2 * math.exp(-step / 6), "step": step})
        if step % 5 == 4:
            out.append({"type": "metric", "name": "val_loss", "value": 2.2 * math.exp(-step / 8), "step": step})
    return out
