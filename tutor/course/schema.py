"""The lesson format (v1 and v2) as data: one spec drives validation, the JSON Schema and the docs.

A spec is a tree of :class:`Field` objects; a ``union`` field picks one of its variants by
the value of a tag key (a v2 exercise's ``kind``), and the lesson picks the v1 or v2 tree
by its ``format_version``. :func:`validate` walks a located YAML value
against it and returns every problem as ``(path, message)``; the loader turns paths into
line numbers. :func:`json_schema` renders the same tree as JSON Schema (draft 2020-12),
shipped in ``tutor/schema/lesson.schema.json`` and checked to be current by a test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

#: The newest format this tutor reads; every version in FORMAT_VERSIONS still loads.
FORMAT_VERSION = 2
FORMAT_VERSIONS = (1, 2)
#: Largest asset a lesson may ship, bytes (`max_bytes` may only lower it): assets are *tiny*.
ASSET_MAX_BYTES = 10_000_000

Path = tuple[Any, ...]


@dataclass
class Field:
    type: str                                  # str | int | number | bool | list | object | enum | union
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
    unique: bool = False                       # lists: no two equal items
    tag: str = ""                              # unions: the key that picks the variant...
    variants: dict[Any, "Field"] = field(default_factory=dict)   # ...its value -> the object spec
    tag_default: Any = None                    # ...and the variant when the key is absent


def _s(doc: str, **kw: Any) -> Field:
    return Field("str", doc, **kw)



def _relative_path_problem(value: Any) -> str | None:
    """Shipped files must stay inside the lesson folder, so a lesson folder can move as a whole."""
    if not isinstance(value, str):
        return None
    parts = value.replace("\\", "/").split("/")
    if value.startswith(("/", "\\")) or ".." in parts or (len(value) > 1 and value[1] == ":"):
        return f"{value!r} must be a path relative to the lesson file, inside its folder"
    return None


def _repo_path_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    parts = value.replace("\\", "/").split("/")
    if value.startswith(("/", "\\")) or ".." in parts or (len(value) > 1 and value[1] == ":"):
        return f"{value!r} must be a path relative to the repository root, e.g. scripts/assets/make_x.py"
    return None


TOLERANCE = Field("object", "Tolerances for value comparison; defaults depend on the dtype.", fields={
    "rtol": Field("number", "Relative tolerance.", minimum=0),
    "atol": Field("number", "Absolute tolerance.", minimum=0),
})

_CHECK_V1_FIELDS: dict[str, Field] = {
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
    "message": _s("Extra teaching text shown when this check fails (Markdown)."),
}

CHECK_V1 = Field("object", "One check. Its kind is given by which key it has: `function`, `variable`, "
                 "`forbid`/`require`, `stdout`, or `probe` with `judge`.", fields=_CHECK_V1_FIELDS)

CHECK_V2 = Field("object", CHECK_V1.doc, fields={
    **_CHECK_V1_FIELDS,
    "cases": _s("Python body of `cases(gen, seed, device)`, run in the JUDGE: yield (or return a list of) kwargs "
                "dicts, args tuples or single arguments; the values travel to the learner's process as data. "
                "`function` and `custom` checks.", code=True),
    "probe": _s("`custom` check: Python body of `probe(learner, case, device)`, run in the learner's process once "
                "per case (once with `case=None` without `cases`); returns plain data only.", code=True),
    "judge": _s("`custom` check: Python body of `judge(outputs, cases, reference, gen, seed, device)`, run in a "
                "clean process; `outputs[i]` is what the probe returned for `cases[i]`; call `fail(message)` "
                "to fail.", code=True),
    "mutates": Field("bool", "`function` check: the function may modify its inputs in place (default false: "
                     "the check fails if it does)."),
    "budget": Field("number", "This check's own time budget, seconds.", minimum=0.1, maximum=600),
    "on_device": Field("bool", "`function`/`custom` check: case tensors are moved to the run's device before the "
                       "call, and every tensor the learner returns must be on that device."),
})


def _hints(required: bool) -> Field:
    return Field("list", "Graded hints, shown one at a time, vaguest first (Markdown).", required=required,
                 min_items=1, item=_s("", non_empty=True))


_LIMITS = Field("object", "Overrides of the sandbox's per-run limits (docs/sandbox.md).", fields={
    "memory_mb": Field("int", "Memory headroom in MiB.", minimum=64),
    "file_size_mb": Field("int", "Largest file the code may write, MiB.", minimum=1),
    "open_files": Field("int", "Open file descriptors.", minimum=16),
    "processes": Field("int", "Processes (non-root only).", minimum=1),
    "network": Field("bool", "Allow the network (default: loopback only)."),
    "output_bytes": Field("int", "Output kept per stream, bytes.", minimum=1024),
    "gpu_memory_fraction": Field("number", "Share of the GPU's memory the run may use (CUDA).",
                                 minimum=0.05, maximum=1.0),
})

_NEEDS = Field("object", "What the exercise needs to run.", fields={
    "extras": Field("list", "Python packages beyond torch/torchvision (e.g. `onnx`); enforced: when one is "
                    "missing the exercise says which and the install command.", item=_s("", non_empty=True),
                    unique=True),
    "device": Field("enum", "The device it needs.", choices=("any", "cpu", "cuda", "mps"), default="any"),
})

_TIME_BUDGET = Field("number", "Seconds the learner's code may run (wall clock).", default=10, minimum=0.5, maximum=600)

_EXERCISE_V1_FIELDS: dict[str, Field] = {
    "id": _s("Short slug, unique in the lesson: `lesson/slug` is what `check` takes.", required=True,
             pattern=r"^[a-z][a-z0-9_]*$"),
    "title": _s("Exercise title.", required=True, non_empty=True),
    "prompt": _s("What to do (Markdown).", required=True, non_empty=True),
    "starter": _s("The code the learner starts from. Must fail the checks (not crash).", required=True, code=True),
    "solution": _s("The reference solution. Must pass every check within the time budget.", required=True,
                   code=True, non_empty=True),
    "hints": _hints(True),
    "checks": Field("list", "The checks, in the order they are shown.", required=True, min_items=1, item=CHECK_V1),
    "setup": _s("Python helpers shared by this exercise's cases, probes and judges.", code=True),
    "time_budget": _TIME_BUDGET,
    "needs": _NEEDS,
    "limits": _LIMITS,
}

EXERCISE_V1 = Field("object", "One checked exercise.", fields=_EXERCISE_V1_FIELDS)

SAMPLE_NAME = _s("What this file shows (unique in its list).", required=True, non_empty=True)

MISTAKE = Field("object", "A wrong solution learners really write; lint proves, over every seed, that it fails "
                "with a message containing every word of `expect`.", fields={
    "name": SAMPLE_NAME,
    "code": _s("A complete learner file.", required=True, code=True, non_empty=True),
    "expect": Field("list", "Words the failure messages must contain (case-insensitive).", required=True,
                    min_items=1, item=_s("", non_empty=True)),
})

ALTERNATIVE = Field("object", "A valid solution unlike the reference; lint proves it passes on every seed.", fields={
    "name": SAMPLE_NAME,
    "code": _s("A complete learner file.", required=True, code=True, non_empty=True),
})

CODE_EXERCISE_V2 = Field("object", "One checked exercise (`kind: code`, the default).", fields={
    **_EXERCISE_V1_FIELDS,
    "kind": Field("enum", "`code` (the default): the learner writes a file that is checked.", choices=("code",),
                  default="code"),
    "checks": Field("list", "The checks, in the order they are shown.", required=True, min_items=1, item=CHECK_V2),
    "setup": _s("Python helpers shared by this exercise's cases and judges (in the judge) and probes (in the "
                "learner's process).", code=True),
    "mistakes": Field("list", "Wrong solutions that learners really write, each with the words its failure "
                      "message must contain.", item=MISTAKE),
    "alternatives": Field("list", "Valid solutions unlike the reference.", item=ALTERNATIVE),
})

OBSERVATIONS = ("last_line", "stdout", "raises")

PREDICT_EXERCISE = Field("object", "A prediction question about a snippet, answered before running it. The right "
                         "choice is what the snippet really produces in the sandbox (lint proves exactly one "
                         "choice matches).", fields={
    "id": _EXERCISE_V1_FIELDS["id"],
    "kind": Field("enum", "`predict`.", required=True, choices=("predict",)),
    "title": _EXERCISE_V1_FIELDS["title"],
    "prompt": _s("The question (Markdown).", required=True, non_empty=True),
    "snippet": _s("The code the question is about; it runs in the sandbox as a script.", required=True, code=True,
                  non_empty=True),
    "choices": Field("list", "The answers offered, in order (answer by number, 1-based).", required=True,
                     min_items=2, unique=True, item=_s("", non_empty=True)),
    "observe": Field("enum", "What the choices are compared with: the last line printed (`last_line`), all of "
                     "stdout (`stdout`), or the exception's class name / `no error` (`raises`).",
                     choices=OBSERVATIONS, default="last_line"),
    "explanation": _s("Shown after answering (Markdown).", required=True, non_empty=True),
    "hints": _hints(False),
    "time_budget": _TIME_BUDGET,
    "needs": _NEEDS,
    "limits": _LIMITS,
})

EXERCISE_V2 = Field("union", "One exercise: `kind: code` (default) or `kind: predict`.", tag="kind",
                    tag_default="code", variants={"code": CODE_EXERCISE_V2, "predict": PREDICT_EXERCISE})

EXAMPLE = Field("object", "A runnable example shown with the prose.", fields={
    "title": _s("Example title.", required=True, non_empty=True),
    "code": _s("The example's code.", required=True, code=True, non_empty=True),
    "explanation": _s("Markdown shown under the code."),
})

ASSET = Field("object", "A data file or tiny checkpoint shipped with the lesson, read-only for learner and judge.",
              fields={
    "name": _s("How code finds it: `asset_path(name)` in check code, `sandbox.assets.path(name)` in learner code.",
               required=True, pattern=r"^[a-z][a-z0-9_-]*$"),
    "file": _s("The file, relative to the lesson file (e.g. `assets/digits.npz`).", required=True, non_empty=True,
               extra=_relative_path_problem),
    "sha256": _s("SHA-256 of the file, lowercase hex; `lint` verifies it.", required=True, pattern=r"^[0-9a-f]{64}$"),
    "max_bytes": Field("int", f"Size cap in bytes (at most {ASSET_MAX_BYTES}); `lint` verifies it.", required=True,
                       minimum=1, maximum=ASSET_MAX_BYTES),
    "source": _s("One line of provenance and licence.", required=True, non_empty=True),
    "made_by": _s("The script in the repository that makes the file reproducibly (path from the repository root).",
                  required=True, non_empty=True, extra=_repo_path_problem),
})

_RECORDINGS = Field("list", "Recorded runs shipped with the lesson (e.g. a GPU run), replayable without "
                    "torch: session files (docs/recording.md), relative to this file.",
                    item=_s("", non_empty=True, pattern=r"^.+\.jsonl$", extra=_relative_path_problem))


def _lesson(version: int, exercise: Field, more: dict[str, Field]) -> Field:
    return Field("object", f"A lesson: one section of the roadmap (format v{version}).", fields={
        "format_version": Field("int", f"`{version}` for this format.", required=True, choices=(version,)),
        "id": _s("Section number, e.g. `2.3`.", required=True, pattern=r"^\d+\.\d+$"),
        "title": _s("Lesson title.", required=True, non_empty=True),
        "chapter": _s("Chapter title (the first lesson of a chapter names it)."),
        "summary": _s("One line for the catalogue."),
        "prose": _s("The explanation (Markdown).", required=True, non_empty=True),
        "examples": Field("list", "Runnable examples.", item=EXAMPLE),
        **more,
        "exercises": Field("list", "The exercises.", required=True, min_items=1, item=exercise),
        "recordings": _RECORDINGS,
    })


LESSON_V1 = _lesson(1, EXERCISE_V1, {})
LESSON_V2 = _lesson(2, EXERCISE_V2, {"assets": Field("list", "Files shipped with the lesson.", item=ASSET)})
LESSONS = {1: LESSON_V1, 2: LESSON_V2}
#: Kept for callers that want "the current format".
LESSON = LESSON_V2


def lesson_spec(value: Any) -> Field:
    """The spec a lesson document is validated against: by its ``format_version`` (v1 when unreadable)."""
    version = value.get("format_version") if isinstance(value, dict) else None
    return LESSONS.get(version, LESSON_V1) if not isinstance(version, bool) else LESSON_V1


#: For a v1 object spec, the keys its v2 counterpart adds: a v1 file using one is told it needs v2.
_V2_KEYS: dict[int, set[str]] = {
    id(LESSON_V1): set(LESSON_V2.fields) - set(LESSON_V1.fields),
    id(EXERCISE_V1): (set(CODE_EXERCISE_V2.fields) | set(PREDICT_EXERCISE.fields)) - set(EXERCISE_V1.fields),
    id(CHECK_V1): set(CHECK_V2.fields) - set(CHECK_V1.fields),
}


_TYPE_NAMES = {"str": "a string", "int": "an integer", "number": "a number", "bool": "true or false",
               "list": "a list", "object": "a mapping", "union": "a mapping"}


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
    if spec.type in ("object", "union"):
        return isinstance(value, dict)
    if spec.type == "enum":
        return True
    raise AssertionError(spec.type)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def validate(value: Any, spec: Field | None = None, path: Path = ()) -> list[tuple[Path, str]]:
    """Every problem with ``value`` against ``spec`` (default: the lesson spec of its version),
    as ``(path, message)``."""
    if spec is None:
        version = value.get("format_version") if isinstance(value, dict) else None
        if isinstance(value, dict) and (version not in LESSONS or isinstance(version, bool)):
            # Without a known version nothing else can be judged: say only that.
            what = "is required" if "format_version" not in value else f"must be one of " \
                f"{', '.join(str(v) for v in FORMAT_VERSIONS)}, not {version!r}"
            return [(("format_version",), what)]
        spec = lesson_spec(value)
    problems: list[tuple[Path, str]] = []
    if not _type_ok(spec, value):
        problems.append((path, f"must be {_TYPE_NAMES.get(spec.type, spec.type)}, not {_describe(value)}"))
        return problems
    if spec.type == "union":
        tag = value.get(spec.tag, spec.tag_default)
        if tag not in spec.variants:
            return [(path + (spec.tag,), f"must be one of {', '.join(repr(c) for c in spec.variants)}, not {tag!r}")]
        return validate(value, spec.variants[tag], path)
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
        if spec.unique:
            seen: list[Any] = []
            for i, item in enumerate(value):
                if item in seen:
                    problems.append((path + (i,), f"{item!r} is listed twice"))
                seen.append(item)
    if spec.type == "object":
        for key in value:
            if key not in spec.fields:
                near = _nearest(str(key), spec.fields)
                if key in _V2_KEYS.get(id(spec), ()):
                    problems.append((path + (key,), f"{key!r} needs `format_version: 2` (this file says 1)"))
                    continue
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


def json_schema(spec: Field | None = None, top: bool = True) -> dict[str, Any]:
    """The spec as JSON Schema (draft 2020-12). Without ``spec``: every lesson format version,
    picked by ``format_version`` (an editor then reports errors against the right one)."""
    if spec is None:
        newest = max(LESSONS)
        chain: dict[str, Any] = {"$ref": "#/$defs/v1"}
        for version in sorted(LESSONS, reverse=True)[:-1]:
            chain = {"if": {"properties": {"format_version": {"const": version}}, "required": ["format_version"]},
                     "then": {"$ref": f"#/$defs/v{version}"}, "else": chain}
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://pytorch-tutor.invalid/lesson.schema.json",
            "title": f"pytorch-tutor lesson, format v{newest} (v1 still accepted)",
            "$defs": {f"v{v}": json_schema(LESSONS[v], top=False) for v in sorted(LESSONS)},
            **chain,
        }
    out: dict[str, Any] = {}
    if spec.doc:
        out["description"] = spec.doc
    if spec.type == "union":
        tags = list(spec.variants)
        fallback = spec.tag_default if spec.tag_default in spec.variants else tags[-1]
        chain = json_schema(spec.variants[fallback], top=False)
        for tag in reversed([t for t in tags if t != fallback]):
            chain = {"if": {"properties": {spec.tag: {"const": tag}}, "required": [spec.tag]},
                     "then": json_schema(spec.variants[tag], top=False), "else": chain}
        out.update(chain)
        return out
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
        if spec.unique:
            out["uniqueItems"] = True
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
