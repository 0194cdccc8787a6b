"""``show``: the learner's way to see things — ``from sandbox import show``.

    show(x)                         # dispatches on type: tensor, module, profiler, image, numbers
    show.tensor(t)                  show.graph(loss)         show.module(model, example_input)
    show.curve(values, label=...)   show.metric("loss", v, step)
    show.image(x, labels=...)       show.heatmap(m, labels=...)
    show.profile(prof_or_path)      show.tensorboard(logdir)

Each call turns its argument into a small, bounded JSON *artifact* (docs/visuals.md) and
writes it on the sandbox's event descriptor, then returns at once; the tutor draws it
(``tutor.render``). Outside the sandbox (``python file.py``) the same call prints a plain-text
description instead (:mod:`sandbox.learner.textview`), so lesson code runs anywhere.

``show`` never breaks the learner's program: anything it cannot draw becomes a text
artifact with the object's ``repr``. torch is imported only when an argument needs it.
"""

from __future__ import annotations

import functools
import gzip
import json
import math
import os
import sys
import types
from typing import Any, Callable

from sandbox.learner import events
from sandbox.protocol import MAX_ARTIFACT_BYTES, encode

#: Bounds that keep artifacts small whatever the learner passes.
MAX_VALUES = 1024           # a tensor this small is sent whole
CORNER_ROWS, CORNER_COLS = 8, 12
HIST_BINS = 30
MAX_GRAPH_NODES = 300
MAX_MODULE_NODES = 200
MAX_CURVE_POINTS = 1000
MAX_SERIES = 8
MAX_IMAGES = 16
MAX_IMAGE_SIDE = 64         # one image
MAX_BATCH_IMAGE_SIDE = 32   # each image of a batch
MAX_HEATMAP_SIDE = 64
MAX_TRACE_EVENTS = 8000
MAX_MEMORY_EVENTS = 2000
MAX_TAGS = 16
MAX_TEXT = 4000

#: Trace-event arguments the profile renderer (torch-tb-profiler) reads; the rest is dropped.
_TRACE_ARGS = ("External id", "external id", "correlation", "device", "stream", "Device Id",
               "Device Type", "Addr", "Bytes", "Total Allocated", "Total Reserved",
               "Python id", "Python parent id", "Python module id")

_profile_count = 0


# --- sending ------------------------------------------------------------------------------


def _send(kind: str, title: str, data: dict[str, Any]) -> None:
    artifact = {"type": "artifact", "kind": kind, "title": title, "data": data}
    if len(encode(artifact)) > MAX_ARTIFACT_BYTES:
        artifact = {"type": "artifact", "kind": "text", "title": title,
                    "data": {"text": f"(this {kind} visual is too large to send)"}}
    if not events.emit(artifact):
        _print_fallback(artifact)


def _print_fallback(artifact: dict[str, Any]) -> None:
    """Outside the sandbox: describe the artifact in this terminal as plain text."""
    from sandbox.learner.textview import render_text

    print(render_text(artifact))


def _guarded(kind: str) -> Callable[[Callable[..., tuple[str, dict[str, Any]]]], Callable[..., None]]:
    """Wrap a builder ``(obj, ...) -> (title, data)``: send its artifact; on any error send
    the object's ``repr`` instead, so ``show`` never raises into learner code."""

    def wrap(build: Callable[..., tuple[str, dict[str, Any]]]) -> Callable[..., None]:
        @functools.wraps(build)
        def method(self: Any, obj: Any = None, *args: Any, title: str | None = None, **kwargs: Any) -> None:
            name = title if title is not None else _caller_name(obj)
            try:
                data = build(self, obj, *args, **kwargs)
            except Exception as exc:  # odd input: show what we can
                _send("text", name, {"text": _repr(obj), "note": f"show.{kind}: {type(exc).__name__}: {exc}"[:300]})
                return None
            _send(kind, name, data)
            return None

        return method

    return wrap


def _repr(obj: Any) -> str:
    try:
        text = repr(obj)
    except Exception as exc:
        text = f"<{type(obj).__name__}: repr failed: {exc}>"
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def _learner_frame() -> Any:
    """The first frame outside this module (the learner's code that called show)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return frame


def _caller_name(obj: Any) -> str:
    """The learner's variable name for ``obj``, as a default title (``show(x)`` -> "x")."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return ""
    frame = _learner_frame()
    if frame is None:
        return ""
    for scope in (frame.f_locals, frame.f_globals):
        for name, value in list(scope.items()):
            if value is obj and not name.startswith("_"):
                return name
    return ""


# --- conversions (torch imported lazily, only when the object is torch's) ---------------------


def _torch() -> Any:
    return sys.modules.get("torch")


def _is_tensor(x: Any) -> bool:
    torch = _torch()
    return torch is not None and isinstance(x, torch.Tensor)


def _is_module(x: Any) -> bool:
    torch = _torch()
    return torch is not None and isinstance(x, torch.nn.Module)


def _is_ndarray(x: Any) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and isinstance(x, np.ndarray)


def _is_pil(x: Any) -> bool:
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(x, pil.Image)


def _is_profiler(x: Any) -> bool:
    return hasattr(x, "export_chrome_trace") and hasattr(x, "key_averages")


def _as_float_array(x: Any) -> Any:
    """A float64 numpy array from a tensor, array, PIL image or nested list."""
    import numpy as np

    if _is_tensor(x):
        t = x.detach()
        if t.is_complex():
            t = t.abs()
        return t.to("cpu").double().numpy()
    if _is_pil(x):
        return np.asarray(x, dtype=np.float64)
    return np.asarray(x, dtype=np.float64)


def _number(v: Any) -> float:
    if _is_tensor(v) or _is_ndarray(v):
        return float(v.item())
    return float(v)


def _shape_of(x: Any) -> list[int]:
    return [int(s) for s in x.shape]


# --- builders -----------------------------------------------------------------------------------


def _tensor_stats(flat: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Summary statistics and a histogram of a 1-D float tensor (on its own device)."""
    torch = _torch()
    stats: dict[str, Any] = {"nan": int(torch.isnan(flat).sum()), "inf": int(torch.isinf(flat).sum()),
                             "zeros": int((flat == 0).sum())}
    good = flat[torch.isfinite(flat)]
    if good.numel() == 0:
        return stats, None
    lo, hi = float(good.min()), float(good.max())
    stats.update(min=lo, max=hi, mean=float(good.mean()),
                 std=float(good.std()) if good.numel() > 1 else 0.0)
    if hi > lo:
        counts = torch.histc(good, bins=HIST_BINS, min=lo, max=hi)
    else:
        counts = torch.zeros(HIST_BINS)
        counts[HIST_BINS // 2] = good.numel()
    return stats, {"lo": lo, "hi": hi, "counts": [int(c) for c in counts.tolist()]}


def tensor_data(t: Any) -> dict[str, Any]:
    """The ``tensor`` artifact data of a torch tensor."""
    torch = _torch()
    d = t.detach()
    data: dict[str, Any] = {
        "shape": _shape_of(d), "dtype": str(d.dtype).replace("torch.", ""), "device": str(d.device),
        "requires_grad": bool(t.requires_grad), "numel": int(d.numel()),
        "grad_fn": type(t.grad_fn).__name__ if t.grad_fn is not None else None,
    }
    try:
        data["strides"] = list(d.stride())
        data["contiguous"] = bool(d.is_contiguous())
    except (RuntimeError, NotImplementedError):  # sparse and other layouts have no strides
        data["strides"] = None
    if d.device.type == "meta" or d.is_sparse or d.is_quantized:
        data["values"] = None
        return data
    if d.is_complex():
        d = d.abs()
        data["dtype"] += " (|z| shown)"
    if d.numel() <= MAX_VALUES:
        values = d.to("cpu")
        data["values"] = values.tolist() if values.dtype != torch.bool else values.int().tolist()
    else:
        data["values"] = None
        view = d
        index = []
        while view.dim() > 2:
            view = view[0]
            index.append("0")
        if view.dim() == 1:
            corner = view[:CORNER_COLS].unsqueeze(0)
            index.append(f":{CORNER_COLS}")
        else:
            corner = view[:CORNER_ROWS, :CORNER_COLS]
            index += [f":{CORNER_ROWS}", f":{CORNER_COLS}"]
        data["corner"] = corner.to("cpu").double().tolist()
        data["corner_index"] = "[" + ", ".join(index) + "]"
    if d.numel() and (d.is_floating_point() or d.dtype not in (torch.bool,)):
        data["stats"], hist = _tensor_stats(d.reshape(-1).double())
        if hist is not None:
            data["hist"] = hist
    return data


def _leaf_names(frame: Any, names: Any) -> dict[int, str]:
    """id(tensor) -> a name the learner knows: their variables, and module parameters."""
    found: dict[int, str] = {}
    scopes = [names] if isinstance(names, dict) else []
    if frame is not None:
        scopes += [frame.f_locals, frame.f_globals]
    for scope in scopes:
        for name, value in list(scope.items()):
            if name.startswith("_"):
                continue
            if _is_tensor(value):
                found.setdefault(id(value), str(name))
            elif _is_module(value):
                for pname, param in value.named_parameters():
                    found.setdefault(id(param), f"{name}.{pname}")
    return found


def graph_data(t: Any, names: Any = None) -> dict[str, Any]:
    """The ``graph`` artifact data: ``t.grad_fn`` and everything it reaches."""
    leaf_names = _leaf_names(_learner_frame(), names)
    data: dict[str, Any] = {"tensor": {"shape": _shape_of(t), "dtype": str(t.dtype).replace("torch.", ""),
                                       "grad_fn": type(t.grad_fn).__name__ if t.grad_fn is not None else None},
                            "root": None, "nodes": [], "truncated": False}
    if t.grad_fn is None:
        return data
    ids: dict[int, int] = {}
    queue = [t.grad_fn]
    ids[id(t.grad_fn)] = 0
    nodes = []
    while queue:
        fn = queue.pop(0)
        node: dict[str, Any] = {"id": ids[id(fn)], "name": type(fn).__name__, "next": [], "leaf": None}
        variable = getattr(fn, "variable", None)
        if variable is not None:
            node["leaf"] = {"label": leaf_names.get(id(variable), "leaf"), "shape": _shape_of(variable),
                            "dtype": str(variable.dtype).replace("torch.", "")}
        for child, _ in getattr(fn, "next_functions", ()) or ():
            if child is None:
                continue
            if id(child) not in ids:
                if len(ids) >= MAX_GRAPH_NODES:
                    data["truncated"] = True
                    continue
                ids[id(child)] = len(ids)
                queue.append(child)
            node["next"].append(ids[id(child)])
        nodes.append(node)
    data["root"], data["nodes"] = 0, nodes
    return data


def _out_shapes(output: Any) -> Any:
    if _is_tensor(output):
        return _shape_of(output)
    if isinstance(output, (tuple, list)):
        shapes = [_shape_of(o) for o in output if _is_tensor(o)]
        return shapes or None
    return None


def module_data(model: Any, example: Any = None) -> dict[str, Any]:
    """The ``module`` artifact data; with ``example`` a forward pass records output shapes."""
    torch = _torch()
    shapes: dict[int, Any] = {}
    traced = False
    if example is not None:
        handles = []
        modes = {m: m.training for m in model.modules()}

        def hook(mod: Any, _inp: Any, out: Any) -> None:
            shapes[id(mod)] = _out_shapes(out)

        for sub in model.modules():
            handles.append(sub.register_forward_hook(hook))
        try:
            model.eval()  # eval: a shape probe must not update BatchNorm statistics
            with torch.no_grad():
                model(*example) if isinstance(example, tuple) else model(example)
            traced = True
        finally:
            for h in handles:
                h.remove()
            for m, training in modes.items():
                m.training = training
    count = [0]
    truncated = [False]

    def node(name: str, mod: Any) -> dict[str, Any]:
        count[0] += 1
        own = list(mod.parameters(recurse=False))
        entry: dict[str, Any] = {
            "name": name, "type": type(mod).__name__, "extra": mod.extra_repr()[:120],
            "params": sum(p.numel() for p in own),
            "trainable": sum(p.numel() for p in own if p.requires_grad),
            "out_shape": shapes.get(id(mod)), "children": [],
        }
        total, total_trainable = entry["params"], entry["trainable"]
        for child_name, child in mod.named_children():
            if count[0] >= MAX_MODULE_NODES:
                truncated[0] = True
                sub_params = list(child.parameters())
                total += sum(p.numel() for p in sub_params)
                total_trainable += sum(p.numel() for p in sub_params if p.requires_grad)
                continue
            sub = node(child_name, child)
            total += sub["total"]
            total_trainable += sub["total_trainable"]
            entry["children"].append(sub)
        entry["total"], entry["total_trainable"] = total, total_trainable
        return entry

    tree = node("", model)
    return {"tree": tree, "total_params": tree["total"], "trainable_params": tree["total_trainable"],
            "traced": traced, "truncated": truncated[0]}


def _thin(xs: list[Any], ys: list[Any]) -> tuple[list[Any], list[Any]]:
    n = len(ys)
    if n <= MAX_CURVE_POINTS:
        return xs, ys
    idx = [round(i * (n - 1) / (MAX_CURVE_POINTS - 1)) for i in range(MAX_CURVE_POINTS)]
    return [xs[i] for i in idx], [ys[i] for i in idx]


def _series_values(values: Any) -> list[float]:
    if _is_tensor(values) or _is_ndarray(values):
        return [float(v) for v in _as_float_array(values).reshape(-1).tolist()]
    return [_number(v) for v in values]


def curve_data(values: Any, label: Any = None, x: Any = None, log: bool = False,
               xlabel: str = "", ylabel: str = "") -> dict[str, Any]:
    """One series (a sequence of numbers) or several (a dict, a list of sequences, or a
    2-D tensor/array with one series per row)."""
    if isinstance(values, dict):
        raw = [(str(k), v) for k, v in values.items()]
    elif (_is_tensor(values) or _is_ndarray(values)) and len(values.shape) == 2:
        raw = [(None, row) for row in values]
    elif isinstance(values, (list, tuple)) and values and all(
            isinstance(v, (list, tuple)) or _is_tensor(v) or _is_ndarray(v) for v in values):
        raw = [(None, v) for v in values]
    else:
        raw = [(None, values)]
    labels = list(label) if isinstance(label, (list, tuple)) else [label]
    series = []
    for i, (name, seq) in enumerate(raw[:MAX_SERIES]):
        ys = _series_values(seq)
        xs = _series_values(x) if x is not None else list(range(len(ys)))
        xs, ys = _thin(xs[:len(ys)], ys[:len(xs)])
        given = labels[i] if i < len(labels) else None
        series.append({"label": str(given if given is not None else (name or f"series {i + 1}")), "x": xs, "y": ys})
    if len(raw) == 1 and label is None:
        series[0]["label"] = _caller_name(values) or "values"
    return {"series": series, "log": bool(log), "xlabel": str(xlabel), "ylabel": str(ylabel),
            "omitted_series": max(0, len(raw) - MAX_SERIES)}


def _image_arrays(x: Any) -> list[Any]:
    """A list of HWC float arrays (C = 1 or 3) from one image or a batch, any layout."""
    import numpy as np

    if isinstance(x, (list, tuple)) and x and not isinstance(x[0], (int, float)):
        out = []
        for item in x[:MAX_IMAGES]:
            out.extend(_image_arrays(item))
        return out[:MAX_IMAGES]
    arr = _as_float_array(x[:MAX_IMAGES] if (_is_tensor(x) or _is_ndarray(x)) and len(x.shape) == 4 else x)
    chans = (1, 3, 4)
    if arr.ndim == 2:
        batch = arr[None, :, :, None]
    elif arr.ndim == 3:
        if arr.shape[0] in chans and arr.shape[-1] not in chans:
            batch = arr.transpose(1, 2, 0)[None]          # CHW
        elif arr.shape[-1] in chans:
            batch = arr[None]                             # HWC
        else:
            batch = arr[:MAX_IMAGES, :, :, None]          # a batch of grey images, NHW
    elif arr.ndim == 4:
        batch = arr.transpose(0, 2, 3, 1) if arr.shape[1] in chans else arr  # NCHW or NHWC
    else:
        raise ValueError(f"cannot read an image from shape {tuple(arr.shape)}")
    if batch.shape[-1] == 4:
        batch = batch[..., :3]  # drop alpha
    elif batch.shape[-1] not in (1, 3):
        batch = batch[..., :1]
    return [np.ascontiguousarray(im) for im in batch[:MAX_IMAGES]]


def image_data(x: Any, labels: Any = None) -> dict[str, Any]:
    import numpy as np

    total = len(x) if (isinstance(x, (list, tuple)) and x and not isinstance(x[0], (int, float))) else (
        int(x.shape[0]) if (_is_tensor(x) or _is_ndarray(x)) and len(x.shape) == 4 else 1)
    arrays = _image_arrays(x)
    side = MAX_IMAGE_SIDE if len(arrays) == 1 else MAX_BATCH_IMAGE_SIDE
    uint8_input = (_is_tensor(x) and str(x.dtype) == "torch.uint8") or (_is_ndarray(x) and x.dtype == np.uint8) or _is_pil(x)
    images, rescaled = [], False
    for im in arrays:
        h, w = im.shape[:2]
        scale = min(1.0, side / max(h, w))
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        rows = (np.arange(nh) * h // nh)
        cols = (np.arange(nw) * w // nw)
        small = im[rows][:, cols]
        finite = np.nan_to_num(small, nan=0.0, posinf=0.0, neginf=0.0)
        if uint8_input or (finite.min() >= 0 and finite.max() > 1.0 and finite.max() <= 255):
            pix = finite
        elif finite.min() >= 0 and finite.max() <= 1.0:
            pix = finite * 255.0
        else:  # normalised data (e.g. mean/std): stretch min..max to black..white
            lo, hi = float(finite.min()), float(finite.max())
            pix = (finite - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(finite)
            rescaled = True
        pix = np.clip(np.rint(pix), 0, 255).astype(np.uint8)
        images.append({"height": nh, "width": nw, "channels": int(pix.shape[-1]),
                       "pixels": pix.reshape(-1).tolist(), "original": [int(h), int(w)]})
    label_list = [str(v.item() if _is_tensor(v) else v) for v in (list(labels)[:MAX_IMAGES] if labels is not None else [])]
    return {"images": images, "labels": label_list, "total": total, "rescaled": rescaled}


def heatmap_data(m: Any, labels: Any = None, row_labels: Any = None, col_labels: Any = None,
                 xlabel: str = "", ylabel: str = "") -> dict[str, Any]:
    import numpy as np

    integer = (_is_tensor(m) and not m.is_floating_point() and not m.is_complex()) or (
        _is_ndarray(m) and m.dtype.kind in "iub")
    arr = _as_float_array(m)
    original = list(arr.shape)
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    note = ""
    if arr.ndim > 2:  # e.g. attention of several heads: average them
        arr = arr.reshape(-1, *arr.shape[-2:]).mean(axis=0)
        note = "mean over the leading dimensions"
        integer = False
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"a heatmap needs a 2-D grid, got shape {tuple(original)}")
    pooled = False
    if max(arr.shape) > MAX_HEATMAP_SIDE:  # average blocks of cells
        r = np.linspace(0, arr.shape[0], min(arr.shape[0], MAX_HEATMAP_SIDE) + 1).astype(int)
        c = np.linspace(0, arr.shape[1], min(arr.shape[1], MAX_HEATMAP_SIDE) + 1).astype(int)
        arr = np.array([[np.nanmean(arr[r[i]:r[i + 1], c[j]:c[j + 1]]) for j in range(len(c) - 1)]
                        for i in range(len(r) - 1)])
        pooled, integer = True, False
        labels = row_labels = col_labels = None
    rows = row_labels if row_labels is not None else labels
    cols = col_labels if col_labels is not None else labels
    return {"values": arr.tolist(), "shape": original, "integer": bool(integer),
            "row_labels": [str(v) for v in rows][:arr.shape[0]] if rows is not None else None,
            "col_labels": [str(v) for v in cols][:arr.shape[1]] if cols is not None else None,
            "xlabel": str(xlabel), "ylabel": str(ylabel), "pooled": pooled, "note": note}


def _slim_trace(trace: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Keep what the profile renderer reads, within ``MAX_TRACE_EVENTS``."""
    kept, memory = [], []
    for e in trace.get("traceEvents") or []:
        if not isinstance(e, dict):
            continue
        ph = e.get("ph")
        is_memory = ph == "i" and e.get("name") == "[memory]"
        if ph != "X" and not is_memory:
            continue
        if e.get("cat") == "python_function":
            continue  # with_stack's Python frames: many, and not drawn
        slim = {k: e[k] for k in ("ph", "cat", "name", "ts", "dur", "pid", "tid", "s") if k in e}
        if isinstance(slim.get("name"), str):
            slim["name"] = slim["name"][:200]
        args = e.get("args") or {}
        slim["args"] = {k: args[k] for k in _TRACE_ARGS if k in args}
        (memory if is_memory else kept).append(slim)
    dropped = 0
    if len(memory) > MAX_MEMORY_EVENTS:
        step = len(memory) / MAX_MEMORY_EVENTS
        dropped += len(memory) - MAX_MEMORY_EVENTS
        memory = [memory[int(i * step)] for i in range(MAX_MEMORY_EVENTS)]
    if len(kept) > MAX_TRACE_EVENTS:
        # keep the step markers and the longest operators: they carry the picture
        steps = [e for e in kept if str(e.get("name", "")).startswith("ProfilerStep#")]
        rest = sorted((e for e in kept if not str(e.get("name", "")).startswith("ProfilerStep#")),
                      key=lambda e: -float(e.get("dur") or 0))[:MAX_TRACE_EVENTS - len(steps)]
        dropped += len(kept) - len(steps) - len(rest)
        kept = steps + rest
    events_out = sorted(kept + memory, key=lambda e: float(e.get("ts") or 0))
    slim_trace = {k: trace[k] for k in ("schemaVersion", "deviceProperties") if k in trace}
    slim_trace["traceEvents"] = events_out
    return slim_trace, dropped


def profile_data(prof: Any) -> dict[str, Any]:
    """From a ``torch.profiler.profile`` (exported to a file in the working directory) or
    the path of a Chrome trace (``.json`` or ``.json.gz``)."""
    global _profile_count
    if _is_profiler(prof):
        _profile_count += 1
        path = os.path.abspath(f"tutor-profile-{_profile_count}.json")
        prof.export_chrome_trace(path)
    elif isinstance(prof, (str, os.PathLike)):
        path = os.fspath(prof)
    else:
        raise TypeError("show.profile wants a torch.profiler.profile or a trace file path")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        trace = json.load(fh)
    slim, dropped = _slim_trace(trace)
    return {"trace": slim, "source": path, "dropped": dropped}


def tensorboard_data(logdir: Any) -> dict[str, Any]:
    from sandbox.learner.tfevents import read_scalars  # stdlib only

    path = os.fspath(logdir)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such log folder: {path}")
    scalars = read_scalars(path)
    out = {}
    for tag in sorted(scalars)[:MAX_TAGS]:
        points = scalars[tag]
        steps, values = _thin([p[0] for p in points], [p[1] for p in points])
        out[tag] = {"steps": steps, "values": values}
    return {"logdir": path, "scalars": out, "omitted_tags": max(0, len(scalars) - MAX_TAGS)}


# --- the public object ------------------------------------------------------------------------


class Show:
    """``show(x)`` and its named forms; see the module docstring."""

    def __call__(self, x: Any, *args: Any, title: str | None = None, **kwargs: Any) -> None:
        name = title if title is not None else _caller_name(x)
        if _is_tensor(x):
            return self.tensor(x, title=name)
        if _is_module(x):
            return self.module(x, *args, title=name, **kwargs)
        if _is_profiler(x):
            return self.profile(x, title=name)
        if _is_pil(x):
            return self.image(x, title=name, **kwargs)
        if _is_ndarray(x):
            if x.ndim <= 1:
                return self.curve(x, title=name, **kwargs)
            return self.heatmap(x, title=name, **kwargs) if x.ndim == 2 else self.text(x, title=name)
        if isinstance(x, dict) or (isinstance(x, (list, tuple)) and x and _numeric_sequence(x)):
            return self.curve(x, title=name, **kwargs)
        return self.text(x, title=name)

    @_guarded("tensor")
    def tensor(self, t: Any) -> dict[str, Any]:
        """Shape, dtype, device, strides; values when small, statistics when large."""
        if not _is_tensor(t):
            import torch

            t = torch.as_tensor(t)
        return tensor_data(t)

    @_guarded("graph")
    def graph(self, t: Any, names: dict[str, Any] | None = None) -> dict[str, Any]:
        """The autograd graph that produced ``t`` (leaves named from your variables)."""
        if not _is_tensor(t):
            raise TypeError("show.graph wants a tensor")
        return graph_data(t, names)

    @_guarded("module")
    def module(self, model: Any, example: Any = None) -> dict[str, Any]:
        """The module tree; pass an example input to see each submodule's output shape."""
        if not _is_module(model):
            raise TypeError("show.module wants an nn.Module")
        return module_data(model, example)

    @_guarded("curve")
    def curve(self, values: Any, label: Any = None, x: Any = None, log: bool = False,
              xlabel: str = "", ylabel: str = "") -> dict[str, Any]:
        """A line chart of one or several series."""
        return curve_data(values, label, x, log, xlabel, ylabel)

    @_guarded("image")
    def image(self, x: Any, labels: Any = None) -> dict[str, Any]:
        """One image or a batch: CHW/HWC/NCHW/NHWC, float (0..1 or any range) or uint8, PIL."""
        return image_data(x, labels)

    @_guarded("heatmap")
    def heatmap(self, m: Any, labels: Any = None, row_labels: Any = None, col_labels: Any = None,
                xlabel: str = "", ylabel: str = "") -> dict[str, Any]:
        """A 2-D grid: confusion matrix (``labels`` for both axes), attention map, ..."""
        return heatmap_data(m, labels, row_labels, col_labels, xlabel, ylabel)

    @_guarded("profile")
    def profile(self, prof: Any) -> dict[str, Any]:
        """A torch.profiler run (or a Chrome trace file): step time, top operators, memory."""
        return profile_data(prof)

    @_guarded("tensorboard")
    def tensorboard(self, logdir: Any) -> dict[str, Any]:
        """The scalars a SummaryWriter wrote under ``logdir``."""
        return tensorboard_data(logdir)

    @_guarded("text")
    def text(self, obj: Any) -> dict[str, Any]:
        """Any object, as its ``repr``."""
        return {"text": obj if isinstance(obj, str) and len(obj) <= MAX_TEXT else _repr(obj)}

    def metric(self, name: str, value: Any, step: int | None = None) -> None:
        """One point of a live series (a loss, an accuracy), drawn while the code runs."""
        try:
            number = _number(value)
            event = {"type": "metric", "name": str(name)[:100], "value": number,
                     "step": int(step) if step is not None else None}
        except Exception as exc:
            print(f"show.metric({name!r}): not a number: {type(exc).__name__}: {exc}", file=sys.stderr)
            return None
        if not events.emit(event):
            at = f" (step {event['step']})" if event["step"] is not None else ""
            shown = f"{number:.6g}" if math.isfinite(number) else str(number)
            print(f"{event['name']}{at}: {shown}")
        return None


def _numeric_sequence(x: Any) -> bool:
    first = x[0]
    return isinstance(first, (int, float)) or _is_tensor(first) or isinstance(first, (list, tuple)) or _is_ndarray(first)


show = Show()


# ``from sandbox import show`` may hand the learner this *module* rather than the object:
# once ``sandbox.show`` is imported, the import system binds the submodule as the package's
# ``show`` attribute. So the module behaves exactly like the object: callable, with the
# same named forms.
tensor = show.tensor
graph = show.graph
module = show.module
curve = show.curve
metric = show.metric
image = show.image
heatmap = show.heatmap
profile = show.profile
tensorboard = show.tensorboard
text = show.text


class _CallableModule(types.ModuleType):
    def __call__(self, x: Any, *args: Any, title: str | None = None, **kwargs: Any) -> None:
        return show(x, *args, title=title, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
