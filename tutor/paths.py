"""Where things live: the workspace (learner's files) and the user data dir (progress, logs).

* Workspace: ``--workspace`` > ``$PYTORCH_TUTOR_WORKSPACE`` > ``~/pytorch-tutor``.
* Data: ``$PYTORCH_TUTOR_DATA`` > the platform's user data dir (``platformdirs``), e.g.
  ``~/.local/share/pytorch-tutor`` on Linux.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WORKSPACE_ENV = "PYTORCH_TUTOR_WORKSPACE"
DATA_ENV = "PYTORCH_TUTOR_DATA"
APP_NAME = "pytorch-tutor"


def default_workspace() -> Path:
    env = os.environ.get(WORKSPACE_ENV)
    return Path(env).expanduser() if env else Path.home() / APP_NAME


def default_data_dir() -> Path:
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


@dataclass(frozen=True)
class Paths:
    workspace: Path
    data: Path

    @classmethod
    def resolve(cls, workspace: str | os.PathLike[str] | None = None) -> "Paths":
        ws = Path(workspace).expanduser() if workspace else default_workspace()
        return cls(ws.resolve(), default_data_dir())

    @property
    def progress_file(self) -> Path:
        return self.data / "progress.json"

    @property
    def sessions_dir(self) -> Path:
        return self.data / "sessions"

    @property
    def runs_dir(self) -> Path:
        """Fresh per-run working directories live here, inside the workspace."""
        return self.workspace / ".runs"
