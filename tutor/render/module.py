"""``nn.Module`` trees: one line per submodule with its parameter count, whether it is
trainable or frozen, and its output shape when it is known (a forward pass was traced).

Data schema: ``tree`` (a node: ``{"name", "type", "extra", "params", "trainable",
"total", "total_trainable", "out_shape", "children": [nodes]}``), ``total_params``,
``trainable_params``, ``truncated``.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from rich.tree import Tree

from tutor.render.common import Adaptive, clean, fmt_count, shape_str, title_text, whole

MAX_NODES = 200


def _line(node: dict[str, Any], width: int) -> Text:
    text = Text()
    name = clean(node.get("name") or "", 40)
    if name:
        text.append(f"({name}) ", style="dim")
    text.append(clean(node.get("type") or "?", 40), style="bold")
    extra = clean(node.get("extra") or "", max(20, width - 20))
    if extra:
        text.append(f"({extra})")
    total = whole(node.get("total"))
    trainable = whole(node.get("total_trainable"))
    if total:
        text.append(f"  {fmt_count(total)} params", style="cyan")
        if trainable == 0:
            text.append("  frozen", style="blue")
        elif trainable < total:
            text.append(f"  ({fmt_count(total - trainable)} frozen)", style="blue")
    if node.get("out_shape") is not None:
        text.append(f"  → {_shape(node['out_shape'])}", style="green")
    return text


def _shape(shape: Any) -> str:
    # outputs may be a tuple of tensors: a list of shapes
    if isinstance(shape, list) and shape and all(isinstance(s, list) for s in shape):
        return "(" + ", ".join(shape_str(s) for s in shape) + ")"
    return shape_str(shape)


def render(data: dict[str, Any], title: str, width: int) -> Adaptive:
    root = data.get("tree")
    if not isinstance(root, dict):
        raise ValueError("module data has no 'tree'")

    def build(plain: bool, w: int) -> Any:
        total = whole(data.get("total_params") or root.get("total"))
        trainable = whole(data.get("trainable_params") or root.get("total_trainable"))
        head = title_text(title, "module")
        tree = Tree(_line(root, w), guide_style="dim")
        drawn = 1
        stack = [(tree, c) for c in reversed(root.get("children") or [])]
        while stack:
            parent, node = stack.pop()
            if drawn >= MAX_NODES:
                parent.add(Text("… (more submodules not shown)", style="dim"))
                break
            drawn += 1
            branch = parent.add(_line(node, w))
            stack.extend((branch, c) for c in reversed(node.get("children") or []))
        summary = Text(f"{fmt_count(total)} parameters: {fmt_count(trainable)} trainable, "
                       f"{fmt_count(total - trainable)} frozen", style="bold")
        parts: list[Any] = [head, tree, summary]
        if data.get("truncated"):
            parts.append(Text("(the model is larger; the walk stopped early)", style="dim"))
        if not data.get("traced"):
            parts.append(Text("output shapes: pass an example input, show(model, x), to see them", style="dim"))
        return Group(*parts)

    return Adaptive(build, width)
