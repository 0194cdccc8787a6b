"""``pytorch-tutor schema``: the lesson format as JSON Schema, for editors and CI."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tutor.course.schema import json_schema


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="print the lesson format (v2; v1 still accepted) as JSON Schema")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Any) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0
