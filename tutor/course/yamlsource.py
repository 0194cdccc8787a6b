"""YAML with line numbers: every value remembers where it was written.

PyYAML's composer gives nodes with marks; we build plain Python values from them and keep a
map from each value's path (``("exercises", 0, "hints")``) to its 1-based line, so that a
validation error can name the file, the line and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[Any, ...]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlSyntaxError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Located:
    value: Any
    lines: dict[Path, int] = field(default_factory=dict)
    #: For block scalars (``|``), the line of the first line of content.
    content_lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


def load(text: str) -> Located:
    # libyaml's parser is ~10x faster than PyYAML's pure-Python one and keeps the marks.
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlSyntaxError(line, f"{exc.problem or exc.context or 'invalid YAML'}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, str(exc)) from None
    located = Located(None)
    if node is None:
        return located
    try:
        located.value = _build(node, (), located, loader)
    finally:
        loader.dispose()
    return located


def _build(node: yaml.Node, path: Path, out: Located, loader: Any) -> Any:
    out.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _build_scalar(key_node, loader)
            if key in result:
                raise YamlSyntaxError(key_node.start_mark.line + 1, f"duplicate key {key!r}")
            result[key] = _build(value_node, path + (key,), out, loader)
            # A key's own line is where a reader looks for it.
            out.lines[path + (key,)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), out, loader) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        out.content_lines[path] = node.start_mark.line + 2
    elif isinstance(node, yaml.ScalarNode):
        out.content_lines[path] = node.start_mark.line + 1
    return _build_scalar(node, loader)


def _build_scalar(node: yaml.Node, loader: Any) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise YamlSyntaxError(node.start_mark.line + 1, "a key must be a plain value")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        raise YamlSyntaxError(node.start_mark.line + 1, str(exc.problem)) from None
