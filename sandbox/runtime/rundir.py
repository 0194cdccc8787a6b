"""The working directory of a ``run``: the script's folder readable in it, outputs kept after.

Plain ``python FILE`` starts in the folder the learner is in, usually the script's, so
``open("labels.csv")`` finds the file beside the script. A sandboxed run starts in a fresh
folder of its own (writes are confined there), so :func:`mirror` fills it with symbolic
links to the script folder's entries: reads work as in plain Python, and a write creates
a new file in the run folder, never in the learner's folder (Landlock refuses writes
through a link to outside).

When the run ends, :func:`collect` lists what it wrote (everything in the run folder that is
not one of those links) and moves it to ``<workspace>/outputs/<exercise>/``, replacing the
previous run's, so "open TensorBoard on runs/" can be followed after the run.
"""

from __future__ import annotations

import os
import re
import shutil
from typing import Iterable

#: Names in a script's folder that are the tutor's own, never mirrored (``outputs`` only
#: in the workspace itself: a learner's own ``outputs`` folder elsewhere is theirs).
TUTOR_NAMES = (".runs", ".cache", "__pycache__")
#: At most this many entries are mirrored (a huge folder is linked partly, never slowly).
MAX_MIRRORED = 2000
#: How many written paths a note names before "and N more".
NAMED_IN_NOTE = 6
LINKS_FILE = ".tutor-links"
OUTPUTS_DIR = "outputs"


def mirror(src_dir: str, workdir: str, workspace: str | None = None) -> list[str]:
    """Link each entry of ``src_dir`` into ``workdir``; the names linked."""
    try:
        entries = sorted(os.listdir(src_dir))
    except OSError:
        return []
    skip = set(TUTOR_NAMES)
    if workspace and os.path.abspath(src_dir) == os.path.abspath(workspace):
        skip.add(OUTPUTS_DIR)
    linked = []
    for name in entries[:MAX_MIRRORED]:
        if name in skip:
            continue
        try:
            os.symlink(os.path.join(src_dir, name), os.path.join(workdir, name))
            linked.append(name)
        except OSError:
            continue
    return linked


def written(workdir: str, linked: Iterable[str]) -> list[str]:
    """Paths (relative, ``/``-separated) of the files the run wrote in ``workdir``."""
    skip = set(linked)
    found: list[str] = []
    for root, dirs, files in os.walk(workdir):
        rel_root = os.path.relpath(root, workdir)
        if rel_root == ".":
            dirs[:] = [d for d in dirs if d not in skip]
            files = [f for f in files if f not in skip]
        for name in sorted(files):
            rel = name if rel_root == "." else os.path.join(rel_root, name)
            found.append(rel.replace(os.sep, "/"))
        dirs.sort()
    return found


def outputs_dir(workspace: str, file: str, exercise: str = "") -> str:
    """``<workspace>/outputs/<key>``: the exercise id, or the script's path in the workspace."""
    if exercise:
        key = exercise
    else:
        path = os.path.abspath(file)
        ws = os.path.abspath(workspace)
        key = os.path.relpath(path, ws) if path.startswith(ws + os.sep) else os.path.basename(path)
        key = os.path.splitext(key)[0]
    parts = [re.sub(r"[^A-Za-z0-9._-]+", "_", p).strip(".") or "_" for p in key.replace(os.sep, "/").split("/")]
    return os.path.join(workspace, OUTPUTS_DIR, *parts)


def collect(workdir: str, linked: Iterable[str], dest: str | None) -> tuple[list[str], str | None]:
    """List what the run wrote; move it to ``dest`` (replacing what was there).

    Returns ``(paths, where_kept)``; ``where_kept`` is None when nothing was written or
    there is nowhere to keep it (a run outside any workspace).
    """
    linked = list(linked)
    files = written(workdir, linked)
    if not files or dest is None:
        return files, None
    try:
        if os.path.lexists(dest):
            shutil.rmtree(dest) if os.path.isdir(dest) and not os.path.islink(dest) else os.unlink(dest)
        os.makedirs(dest)
        skip = set(linked)
        for name in os.listdir(workdir):
            if name not in skip:
                os.replace(os.path.join(workdir, name), os.path.join(dest, name))
    except OSError:
        return files, None
    return files, dest


def note(files: list[str], where: str | None, workspace: str | None = None) -> str:
    """One line: what the run wrote and where it was kept."""
    if not files:
        return ""
    shown = ", ".join(files[:NAMED_IN_NOTE]) + (f" and {len(files) - NAMED_IN_NOTE} more" if len(files) > NAMED_IN_NOTE else "")
    count = f"{len(files)} file" + ("s" if len(files) != 1 else "")
    if where is None:
        return f"the run wrote {count} ({shown}); they were removed with the run's folder"
    shown_where = where
    if workspace:
        rel = os.path.relpath(where, workspace)
        shown_where = where if rel.startswith("..") else os.path.join(workspace, rel)
    return f"the run wrote {count} ({shown}), kept until the next run in {shown_where}{os.sep}"
