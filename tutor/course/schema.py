"""The lesson format, v1, as data: one spec drives validation, the JSON Schema and the docs.

A spec is a tree of :class:`Field` objects. :func:`validate` walks a located YAML value
against it and returns every problem as ``(path, message)``; the loader turns paths into
line numbers. :func:`json_schema` renders the same tree as JSON Schema (draft 2020-12),
shipped in ``tutor/schema/lesson.schema.json`` and checked to be current by a test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

FORMAT_VERSION = 1

Path = tuple[Any, ...]


@dataclass
class Field:
    type: str                                  # str | int | number | bool | list | object | enum
    doc: str = ""
    required: bool = False
    default: Any = None
    item: "Field | None" = None                # for lists
    fields: dict[str, "Field"] = field(default_factory=dict)  # for objects
    choices: tuple[Any, ...] = ()              # for enums
    pattern: str = ""                          # for strings
    min_items: int = 0
    non_empty: bool = False                    # strings: not blank
    minimum: float | None = None
    maximum: float | None = None
    code: bool = False                         # a string of Python source
    extra: Callable[[Any], str | None] | None = None


def _s(doc: str, **kw: Any) -> Field:
    return Field("str", doc, **kw)


TOLERANCE = Field("object", "Tolerances for value comparison; defaults depend on the dtype.", fields={
    "rtol": Field("number", "Relative tolerance.", minimum=0),
    "atol": Field("number", "Absolute tolerance.", minimum=0),
})

CHECK = Field("object", "One check. Its kind is given by which key it has: `function`, `variable`, "
              "`forbid`/`require`, `stdout`, or `probe` with `judge`.", fields={
    "name": _s("What the learner sees next to pass/fail.", required=True, non_empty=True),
    "function": _s("`function` check: the learner's function to call on every case.", pattern=r"^[A-Za-z_]\w*$"),
    "cases": _s("Python body of `cases(gen, seed)`: yield (or return a list of) kwargs dicts or args tuples. "
                "Draw randomness only from `gen`.", code=True),
    "variable": _s("`variable` check: a module-level name compared with the reference's.", pattern=r"^[A-Za-z_]\w*$"),
    "tolerance": TOLERANCE,
    "forbid": Field("object", "`source` check: what the learner's code must not use.", fields={
        "calls": Field("list", "Functions/methods that must not be used (matched by last name).", item=_s("")),
        "loops": Field("bool", "Forbid for/while loops and comprehensions."),
        "imports": Field("list", "Modules that must not be imported.", item=_s("")),
    }),
    "require": Field("object", "`source` check: what the learner's code must use.", fields={
        "calls": Field("list", "Functions/methods that must be called.", item=_s("")),
    }),
    "scope": _s("Limit `forbid`/`require` to one function or class of the learner's file.", pattern=r"^[A-Za-z_]\w*$"),
    "stdout": Field("object", "`stdout` check: what the program must print.", fields={
        "contains": Field("list", "Texts that must appear.", item=_s("", non_empty=True)),
        "regex": _s("A regular expression that must match (multiline)."),
    }),
    "probe": _s("`custom` check: Python body of `probe(learner, gen, seed)`, run in the learner's process; "
                "returns plain data only.", code=True),
    "judge": _s("`custom` check: Python body of `judge(data, reference, gen, seed)`, run in a clean process; "
                "call `fail(message)` to fail.", code=True),
    "message": _s("Extra teaching text shown when this check fails."),
})

EXERCISE = Field("object", "One checked exercise.", fields={
    "id": _s("Short slug, unique in the lesson: `lesson/slug` is what `check` takes.", required=True,
             pattern=r"^[a-z][a-z0-9_]*$"),
    "title": _s("Exercise title.", required=True, non_empty=True),
    "prompt": _s("What to do (Markdown).", required=True, non_empty=True),
    "starter": _s("The code the learner starts from. Must fail the checks (not crash).", required=True, code=True),
    "solution": _s("The reference solution. Must pass every check within the time budget.", required=True,
                   code=True, non_empty=True),
    "hints": Field("list", "Graded hints, shown one at a time, vaguest first.", required=True, min_items=1,
                   item=_s("", non_empty=True)),
    "checks": Field("list", "The checks, in the order they are shown.", required=True, min_items=1, item=CHECK),
    "setup": _s("Python helpers shared by this exercise's cases, probes and judges.", code=True),
    "time_budget": Field("number", "Seconds the learner's code may run (wall clock).", default=10,
                         minimum=0.5, maximum=600),
    "needs": Field("object", "What the exercise needs to run.", fields={
        "extras": Field("list", "Python packages beyond torch/torchvision (e.g. `onnx`).", item=_s("", non_empty=True)),
        "device": Field("enum", "The device it needs.", choices=("any", "cpu", "cuda", "mps"), default="any"),
    }),
    "limits": Field("object", "Overrides of the sandbox's per-run limits (docs/sandbox.md).", fields={
        "memory_mb": Field("int", "Memory headroom in MiB.", minimum=64),
        "file_size_mb": Field("int", "Largest file the code may write, MiB.", minimum=1),
        "open_files": Field("int", "Open file descriptors.", minimum=16),
        "processes": Field("int", "Processes (non-root only).", minimum=1),
        "network": Field("bool", "Allow the network (default: loopback only)."),
        "output_bytes": Field("int", "Output kept per stream, bytes.", minimum=1024),
        "gpu_memory_fraction": Field("number", "Share of the GPU's memory the run may use (CUDA).",
                                     minimum=0.05, maximum=1.0),
    }),
})

EXAMPLE = Field("object", "A runnable example shown with the prose.", fields={
    "title": _s("Example title.", required=True, non_empty=True),
    "code": _s("The example's code.", required=True, code=True, non_empty=True),
    "explanation": _s("Markdown shown under the code."),
})

def _relative_path_problem(value: Any) -> str | None:
    """Shipped files must stay inside the lesson folder, so a lesson folder can move as a whole."""
    if not isinstance(value, str):
        return None
    parts = value.replace("\\", "/").split("/")
    if value.startswith(("/", "\\")) or ".." in parts or (len(value) > 1 and value[1] == ":"):
        return f"{value!r} must be a path relative to the lesson file, inside its folder"
    return None


LESSON = Field("object", "A lesson: one section of the roadmap.", fields={
    "format_version": Field("int", "Always 1 for this format.", required=True, choices=(FORMAT_VERSION,)),
    "id": _s("Section number, e.g. `2.3`.", required=True, pattern=r"^\d+\.\d+$"),
    "title": _s("Lesson title.", required=True, non_empty=True),
    "chapter": _s("Chapter title (the first lesson of a chapter names it)."),
    "summary": _s("One line for the catalogue."),
    "prose": _s("The explanation (Markdown).", required=True, non_empty=True),
    "examples": Field("list", "Runnable examples.", item=EXAMPLE),
    "exercises": Field("list", "Checked exercises.", required=True, min_items=1, item=EXERCISE),
    "recordings": Field("list", "Recorded runs shipped with the lesson (e.g. a GPU run), replayable without "
                        "torch: session files (docs/recording.md), relative to this file.",
                        item=_s("", non_empty=True, pattern=r"^.+\.jsonl$", extra=_relative_path_problem)),
})

_TYPE_NAMES = {"str": "a string", "int": "an integer", "number": "a number", "bool": "true or false",
               "list": "a list", "object": "a mapping"}


def _type_ok(spec: Field, value: Any) -> bool:
    if spec.type == "str":
        return isinstance(value, str)
    if spec.type == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if spec.type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if spec.type == "bool":
        return isinstance(value, bool)
    if spec.type == "list":
        return isinstance(value, list)
    if spec.type == "object":
        return isinstance(value, dict)
    if spec.type == "enum":
        return True
    raise AssertionError(spec.type)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def validate(value: Any, spec: Field = LESSON, path: Path = ()) -> list[tuple[Path, str]]:
    """Every problem with ``value`` against ``spec``, as ``(path, message)``."""
    problems: list[tuple[Path, str]] = []
    if not _type_ok(spec, value):
        problems.append((path, f"must be {_TYPE_NAMES.get(spec.type, spec.type)}, not {_describe(value)}"))
        return problems
    if spec.choices and value not in spec.choices:
        problems.append((path, f"must be one of {', '.join(repr(c) for c in spec.choices)}, not {value!r}"))
    if spec.type == "str":
        if spec.non_empty and not value.strip():
            problems.append((path, "must not be empty"))
        if spec.pattern and not re.match(spec.pattern, value):
            problems.append((path, f"{value!r} does not match the pattern {spec.pattern}"))
    if spec.type in ("int", "number"):
        if spec.minimum is not None and value < spec.minimum:
            problems.append((path, f"must be at least {spec.minimum}, not {value}"))
        if spec.maximum is not None and value > spec.maximum:
            problems.append((path, f"must be at most {spec.maximum}, not {value}"))
    if spec.type == "list":
        if len(value) < spec.min_items:
            problems.append((path, f"needs at least {spec.min_items} item{'s' if spec.min_items > 1 else ''}"))
        if spec.item is not None:
            for i, item in enumerate(value):
                problems.extend(validate(item, spec.item, path + (i,)))
    if spec.type == "object":
        for key in value:
            if key not in spec.fields:
                near = _nearest(str(key), spec.fields)
                problems.append((path + (key,), f"unknown key {key!r}" + (f" (did you mean {near!r}?)" if near else "")))
        for key, sub in spec.fields.items():
            if key in value:
                problems.extend(validate(value[key], sub, path + (key,)))
            elif sub.required:
                problems.append((path + (key,), "is required"))
    if spec.extra is not None:
        msg = spec.extra(value)
        if msg:
            problems.append((path, msg))
    return problems


def _nearest(key: str, options: dict[str, Any]) -> str | None:
    import difflib

    match = difflib.get_close_matches(key, list(options), n=1, cutoff=0.7)
    return match[0] if match else None


def format_path(path: Path) -> str:
    """``("exercises", 0, "hints")`` -> ``exercises[0].hints``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def json_schema(spec: Field = LESSON, top: bool = True) -> dict[str, Any]:
    """The spec as JSON Schema (draft 2020-12)."""
    out: dict[str, Any] = {}
    if top:
        out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        out["$id"] = "https://pytorch-tutor.invalid/lesson.schema.json"
        out["title"] = "pytorch-tutor lesson, format v1"
    if spec.doc:
        out["description"] = spec.doc
    if spec.type == "enum" or spec.choices:
        out["enum"] = list(spec.choices)
    elif spec.type == "str":
        out["type"] = "string"
        if spec.pattern:
            out["pattern"] = spec.pattern
        if spec.non_empty:
            out["minLength"] = 1
        if spec.code:
            out["contentMediaType"] = "text/x-python"
    elif spec.type in ("int", "number"):
        out["type"] = "integer" if spec.type == "int" else "number"
        if spec.minimum is not None:
            out["minimum"] = spec.minimum
        if spec.maximum is not None:
            out["maximum"] = spec.maximum
    elif spec.type == "bool":
        out["type"] = "boolean"
    elif spec.type == "list":
        out["type"] = "array"
        if spec.min_items:
            out["minItems"] = spec.min_items
        if spec.item is not None:
            out["items"] = json_schema(spec.item, top=False)
    elif spec.type == "object":
        out["type"] = "object"
        out["additionalProperties"] = False
        out["properties"] = {k: json_schema(v, top=False) for k, v in spec.fields.items()}
        required = [k for k, v in spec.fields.items() if v.required]
        if required:
            out["required"] = required
    if spec.default is not None:
        out["default"] = spec.default
    return out
