"""The examples in docs/lesson-format.md are valid v2 (they are what authors copy)."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path
from typing import Any

import yaml

from tutor.course import schema

DOC = Path(__file__).resolve().parents[1] / "docs" / "lesson-format.md"


def yaml_blocks() -> list[str]:
    return [textwrap.dedent(b) for b in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)]


def problems_of(value: Any) -> list[tuple[Any, str]]:
    """Validate a doc fragment against the part of the v2 spec it shows."""
    if isinstance(value, list):
        out = []
        for item in value:
            if "id" in item and item.get("kind") != "predict":   # an exercise fragment: known keys only
                out += [((k,), "not an exercise key") for k in item if k not in schema.CODE_EXERCISE_V2.fields]
                out += schema.validate(item.get("needs", {}), schema.CODE_EXERCISE_V2.fields["needs"])
                continue
            spec = schema.PREDICT_EXERCISE if item.get("kind") == "predict" else schema.CHECK_V2
            out += schema.validate(item, spec)
        return out
    if "assets" in value:
        return [p for a in value["assets"] for p in schema.validate(a, schema.ASSET)]
    if "mistakes" in value or "alternatives" in value:
        return ([p for m in value.get("mistakes", []) for p in schema.validate(m, schema.MISTAKE)]
                + [p for a in value.get("alternatives", []) for p in schema.validate(a, schema.ALTERNATIVE)])
    # A fragment of one check (e.g. only its `judge`): every key must be a check key.
    return [((k,), "not a check key") for k in value if k not in schema.CHECK_V2.fields]


def code_strings(value: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("cases", "probe", "judge", "code", "snippet", "setup") and isinstance(item, str):
                found.append((key, item))
            else:
                found += code_strings(item)
    elif isinstance(value, list):
        for item in value:
            found += code_strings(item)
    return found


def test_every_yaml_example_in_the_format_doc_is_valid_v2() -> None:
    blocks = yaml_blocks()
    assert len(blocks) >= 14, "one example per feature"
    for block in blocks:
        value = yaml.safe_load(block)
        assert problems_of(value) == [], block
        for key, code in code_strings(value):
            body = code if key in ("code", "snippet", "setup") else "def _():\n" + textwrap.indent(code, "    ")
            ast.parse(body.replace("...", "pass"))
