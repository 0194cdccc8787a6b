"""A lesson's data files, by name: ``from sandbox import assets; assets.path("digits")``.

The tutor resolves each asset of the lesson (``assets:`` in the YAML, hash-checked by lint) to
an absolute path and sends the mapping with the run; the harness puts it in the
``PYTORCH_TUTOR_ASSETS`` variable before the learner's file runs. Nothing is downloaded.
Open the files for reading only: confinement does not let learner code change them.
"""

from __future__ import annotations

import json
import os

ENV = "PYTORCH_TUTOR_ASSETS"


def known() -> dict[str, str]:
    """Every asset of this run's lesson: name -> absolute path (empty outside the tutor)."""
    try:
        data = json.loads(os.environ.get(ENV, "") or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def path(name: str) -> str:
    """The file of the lesson's asset ``name``; a clear error for an unknown name."""
    found = known()
    if name in found:
        return found[name]
    if not found:
        raise LookupError(f"no asset named {name!r}: this lesson has no assets, or the file is not run by "
                          f"pytorch-tutor (`pytorch-tutor run FILE` provides them)")
    raise LookupError(f"no asset named {name!r}; this lesson has: {', '.join(sorted(found))}")
