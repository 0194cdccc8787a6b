"""Tamper evidence: did the learner's code replace something the harness relies on?

The probe runs in the learner's process, so its code paths (torch, ``torch.Tensor``,
numpy, ``sys``, builtins, the harness modules) are the learner's to patch. A verdict never
depends on the probe's honesty — the judge holds the cases and the truth — but a patched
``torch.allclose`` or a wrapped harness function is almost always an attempt to steer the
checks, or a bug that would make every message misleading. So the harness records the
identity of what it relies on *before* learner code runs and verifies it after the file and
after each probe; whatever was replaced is named in the failure.

Verification is one C-speed pass over each recorded namespace (``map(operator.is_, ...)``);
the slow diff that names the culprits only runs when something changed.
"""

from __future__ import annotations

import builtins
import operator
import sys
import types
from typing import Any

#: Names a learner may legitimately rebind in these namespaces (output redirection,
#: hooks that Python itself sets, interactive leftovers).
_SYS_MUTABLE = frozenset({
    "stdout", "stderr", "stdin", "displayhook", "excepthook", "breakpointhook", "unraisablehook",
    "argv", "path", "ps1", "ps2", "last_type", "last_value", "last_traceback", "last_exc",
    "tracebacklimit", "_git", "dont_write_bytecode", "path_importer_cache", "_home",
})
_BUILTINS_MUTABLE = frozenset({"print", "input", "help", "_", "exit", "quit", "copyright", "credits", "license"})

#: The harness's own modules: every function in them, and its code object.
HARNESS_MODULES = (
    "sandbox.judging.harness", "sandbox.judging.checks", "sandbox.judging.codec", "sandbox.judging.wire",
    "sandbox.judging.compare", "sandbox.learner.events",
    "sandbox.judging.integrity", "sandbox.judging.cases", "sandbox.judging.loading",
    "sandbox.judging.helpers", "sandbox.judging.budget", "sandbox.judging.source_rules",
    "sandbox.judging.verdict", "sandbox.learner.assets",
)


_MISSING = object()
#: Attributes Python and torch add to classes as caches: ``copyreg`` stores ``__slotnames__``
#: on a class the first time one of its instances is pickled; dynamo tags ``nn.Module``.
_BENIGN_ADDITIONS = frozenset({"__slotnames__", "___needs_generation_tag_patch"})


class _Space:
    """One namespace, recorded: its keys, their values, and (for classes) the key set."""

    __slots__ = ("label", "mapping", "keys", "values", "is_class", "ignore", "getter")

    def __init__(self, label: str, mapping: Any, is_class: bool, ignore: frozenset[str] = frozenset()) -> None:
        self.label = label
        self.mapping = mapping
        self.is_class = is_class
        self.ignore = ignore
        # A module's plain data (counters, caches, config flags) may change legitimately:
        # only what can be called, and submodules, are recorded there. A class records all.
        items = [(k, v) for k, v in list(mapping.items())
                 if k not in ignore and (is_class or callable(v) or isinstance(v, types.ModuleType))]
        self.keys = tuple(k for k, _ in items)
        self.values = tuple(v for _, v in items)
        # One C call fetches every recorded key's current value.
        self.getter = operator.itemgetter(*self.keys) if self.keys else (lambda mapping: ())

    def _benign(self, key: str, old: Any, new: Any) -> bool:
        """Changes torch makes to itself: ``set_default_dtype`` rebinds ``torch.Storage``;
        importing ``torch._dynamo`` (``torch.compile``, ``torch.jit``) wraps ``torch.manual_seed``
        and patches ``nn.Module.__init__``/``__setstate__`` from its own files. And one that
        PyTorch Geometric makes (``_pyg_wrapper``)."""
        if self.label == "torch" and key == "Storage":
            return True
        if self.label == "torch" and _pyg_wrapper(key, old, new):
            return True
        if getattr(new, "__wrapped__", _MISSING) is old:
            return True
        code = getattr(new, "__code__", None)
        filename = getattr(code, "co_filename", "") if code is not None else ""
        return "/torch/_dynamo/" in filename.replace("\\", "/")

    def intact(self) -> bool:
        if self.is_class and len(self.mapping) != len(self.keys):
            return not self.changes()
        try:
            now = self.getter(self.mapping)
        except KeyError:
            return False
        if len(self.keys) == 1:
            now = (now,)
        return all(map(operator.is_, self.values, now))

    def changes(self) -> list[str]:
        found = []
        missing = _MISSING
        for key, value in zip(self.keys, self.values):
            now = self.mapping.get(key, missing)
            if now is missing:
                found.append(f"{self.label}.{key} (deleted)")
            elif now is not value and not self._benign(key, value, now):
                found.append(f"{self.label}.{key}")
        if self.is_class:
            known = set(self.keys) | self.ignore
            found += [f"{self.label}.{key} (added)" for key in list(self.mapping)
                      if key not in known and key not in _BENIGN_ADDITIONS]
        return found


#: torch functions that ``import torch_geometric`` (2.7+, ``torch_geometric/hash_tensor.py``)
#: replaces with wrappers for its ``HashTensor``; each wrapper keeps torch's own function as
#: ``_old_<name>`` and calls it for every plain tensor.
_PYG_WRAPPED = ("index_select", "select")


def _pyg_wrapper(key: str, old: Any, new: Any) -> bool:
    """Whether ``torch.<key>`` was replaced by PyG's own wrapper of exactly the recorded
    function: the module PyG imported defines ``_new_<key>`` as ``new`` and holds ``old`` as
    ``_old_<key>``, and ``new`` is a function of that module. A lookalike written elsewhere,
    or PyG's wrapper around something other than torch's function, is still a replacement."""
    if key not in _PYG_WRAPPED:
        return False
    module = sys.modules.get("torch_geometric.hash_tensor")
    if module is None:
        return False
    namespace = vars(module)
    return (namespace.get(f"_new_{key}") is new and namespace.get(f"_old_{key}") is old
            and isinstance(new, types.FunctionType) and new.__globals__ is namespace)


class _Codes:
    """The code objects of the harness's functions (``fn.__code__ = ...`` is a patch too)."""

    def __init__(self, modules: list[Any]) -> None:
        self.entries: list[tuple[str, Any, Any]] = []
        for module in modules:
            for name, value in list(vars(module).items()):
                code = getattr(value, "__code__", None)
                if code is not None and getattr(value, "__module__", None) == module.__name__:
                    self.entries.append((f"{module.__name__}.{name}", value, code))
                elif isinstance(value, type) and value.__module__ == module.__name__:
                    for attr, member in list(vars(value).items()):
                        code = getattr(member, "__code__", None)
                        if code is not None:
                            self.entries.append((f"{module.__name__}.{name}.{attr}", member, code))

    def changes(self) -> list[str]:
        return [f"{label} (its code)" for label, fn, code in self.entries if fn.__code__ is not code]


class Record:
    """What the harness relies on, recorded before learner code runs."""

    def __init__(self) -> None:
        import torch

        spaces = [
            _Space("torch", vars(torch), False),
            _Space("torch.Tensor", torch.Tensor.__dict__, True),
            _Space("torch.Tensor", torch._C.TensorBase.__dict__, True),
            _Space("torch.nn.functional", vars(torch.nn.functional), False),
            _Space("torch.nn.Module", torch.nn.Module.__dict__, True),
            _Space("torch.serialization", vars(torch.serialization), False),
            _Space("sys", vars(sys), False, _SYS_MUTABLE),
            _Space("builtins", vars(builtins), False, _BUILTINS_MUTABLE),
        ]
        numpy = sys.modules.get("numpy")
        if numpy is not None:
            spaces.append(_Space("numpy", vars(numpy), False))
        harness = [sys.modules[name] for name in HARNESS_MODULES if name in sys.modules]
        spaces += [_Space(m.__name__, vars(m), False) for m in harness]
        # ...and their classes' methods (``Record.replaced = lambda self: []`` is a patch too).
        spaces += [_Space(f"{m.__name__}.{name}", value.__dict__, True)
                   for m in harness for name, value in list(vars(m).items())
                   if isinstance(value, type) and value.__module__ == m.__name__]
        self.spaces = spaces
        self.codes = _Codes(harness)
        self.modules_dict = sys.modules
        self.harness_modules = {m.__name__: m for m in harness}

    def replaced(self) -> list[str]:
        """What changed since the record, by name (empty when nothing did)."""
        found: list[str] = []
        if sys.modules is not self.modules_dict:
            found.append("sys.modules")
        for name, module in self.harness_modules.items():
            if self.modules_dict.get(name) is not module:
                found.append(f"sys.modules[{name!r}]")
        for space in self.spaces:
            if not space.intact():
                found += space.changes()
        found += self.codes.changes()
        # One name may be seen through two spaces (Tensor and TensorBase): say it once.
        return list(dict.fromkeys(found))


_BASELINE: Record | None = None


def baseline() -> Record:
    """The record, made once per process. The warm zygote imports the harness (and so makes
    it) before it forks, and a fork keeps every object's identity: children verify against
    it without paying for it. Learner code never ran in the process that made it."""
    global _BASELINE
    if _BASELINE is None:
        _BASELINE = Record()
    return _BASELINE


def message(replaced: list[str], when: str) -> str:
    """The learner-facing failure for a tampered run."""
    def quoted(name: str) -> str:
        base, sep, note = name.partition(" (")
        return f"`{base}`" + (f" ({note}" if sep else "")

    shown = ", ".join(quoted(name) for name in replaced[:6])
    more = f" and {len(replaced) - 6} more" if len(replaced) > 6 else ""
    return (f"{when}, your code replaced {shown}{more}. The checks rely on these, so they cannot "
            f"judge a run that changes them: remove the patch (monkeypatching torch, numpy, sys "
            f"or the tutor's own code) and check again.")
