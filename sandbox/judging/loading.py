"""Executing the learner's file: as a script (``run``, format v1 checks) or imported (v2 checks).

Import mode runs the file the way ``import`` would, so its ``if __name__ == "__main__":``
demo block (a training loop, a server, a ``time.sleep``) does not run during checks. The
module is named ``__mp_main__`` and also installed as ``sys.modules["__main__"]``: that is
exactly the state multiprocessing gives a re-imported main module, so functions and classes
defined in the file pickle by reference and unpickle both in forked DataLoader workers
(which inherit ``sys.modules``) and in ``mp.spawn`` children (which re-import the file
from ``__main__.__file__`` under the name ``__mp_main__``, again skipping the demo block).
It is also reachable as ``sys.modules["learner"]`` for check code.
"""

from __future__ import annotations

import builtins
import os
import sys
import types

IMPORT_NAME = "__mp_main__"
ALIAS = "learner"


def prepare(file: str, import_mode: bool) -> types.ModuleType:
    """A fresh module for the learner's file, installed where pickling will look for it."""
    module = types.ModuleType(IMPORT_NAME if import_mode else "__main__")
    module.__file__ = file
    module.__builtins__ = builtins
    sys.modules["__main__"] = module
    if import_mode:
        sys.modules[IMPORT_NAME] = module
        sys.modules.setdefault(ALIAS, module)
    sys.argv = [file]
    # As ``python file.py`` would: the file's folder first, never the tutor's own cwd.
    sys.path[:] = [os.path.dirname(os.path.abspath(file))] + [p for p in sys.path if p not in ("", os.getcwd())]
    return module


def execute(module: types.ModuleType, source: str, file: str) -> None:
    """Run the file's code in ``module`` (exceptions propagate to the caller)."""
    exec(compile(source, file, "exec", dont_inherit=True), module.__dict__)  # not this module's __future__ flags
