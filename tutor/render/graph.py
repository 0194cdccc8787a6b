"""The autograd graph behind a tensor, as a tree of ``grad_fn`` nodes.

Data schema: ``root`` (node id or null), ``nodes`` (list of ``{"id", "name", "next": [ids],
"leaf": {"label", "shape", "dtype"} | null}``), ``tensor`` (``{"shape", "dtype",
"grad_fn"}`` of the tensor itself), ``truncated`` (the learner side stopped walking).

The graph is a DAG (a tensor used twice has two parents); a node reached a second time is
drawn once and then referred to, so the tree stays small and finite.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from rich.tree import Tree

from tutor.render.common import Adaptive, clean, shape_str, title_text

MAX_NODES = 300


def _label(node: dict[str, Any], seen_before: bool) -> Text:
    name = clean(node.get("name") or "?", 60)
    text = Text()
    leaf = node.get("leaf")
    if isinstance(leaf, dict):
        # AccumulateGrad stands for a leaf tensor: name the tensor, that's what learners know
        text.append(clean(leaf.get("label") or "(leaf)", 40), style="bold green")
        text.append(f" {shape_str(leaf.get('shape'))}", style="")
        if leaf.get("dtype"):
            text.append(f" {clean(leaf['dtype'], 20)}", style="dim")
        text.append(f"  via {name}", style="dim")
    else:
        text.append(name, style="bold")
    if seen_before:
        text.append("  (shared, expanded above)", style="dim")
    return text


def render(data: dict[str, Any], title: str, width: int) -> Adaptive:
    nodes = {n.get("id"): n for n in (data.get("nodes") or []) if isinstance(n, dict)}
    tensor = data.get("tensor") or {}

    def build(plain: bool, w: int) -> Any:
        head = title_text(title, "autograd graph")
        if tensor:
            head.append(f"  {shape_str(tensor.get('shape'))} {clean(tensor.get('dtype') or '', 20)}", style="dim")
        root_id = data.get("root")
        if root_id is None or root_id not in nodes:
            return Group(head, Text("no graph: this tensor has no grad_fn (it is a leaf, or was made "
                                    "without requires_grad / under torch.no_grad())", style="dim"))
        tree = Tree(head, guide_style="dim")
        expanded: set[Any] = set()
        drawn = 0
        # iterative depth-first walk: deep graphs (long loops) must not hit the recursion limit
        stack: list[tuple[Tree, Any]] = [(tree, root_id)]
        while stack:
            parent, node_id = stack.pop()
            node = nodes.get(node_id)
            if node is None:
                continue
            if drawn >= MAX_NODES:
                parent.add(Text("… (more nodes not shown)", style="dim"))
                break
            drawn += 1
            seen = node_id in expanded
            branch = parent.add(_label(node, seen))
            if seen:
                continue
            expanded.add(node_id)
            for child in reversed([c for c in (node.get("next") or []) if c is not None]):
                stack.append((branch, child))
        parts: list[Any] = [tree]
        if data.get("truncated"):
            parts.append(Text("(the graph is larger; the walk stopped early)", style="dim"))
        return Group(*parts)

    return Adaptive(build, width)
