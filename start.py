#!/usr/bin/env python3
"""Run pytorch-tutor from a fresh clone with nothing but Python 3.11+.

    python3 start.py [ARGS...]     open the tutor (ARGS go to `pytorch-tutor`)
    python3 start.py test          run the test suite (about 2 minutes on 2 cores): every test
                                   but the `long` tier, in parallel (pytest-xdist)
    python3 start.py test --long   the `long` tier alone (the whole-course lint over five
                                   seeds, tmux walks, stress loops, fresh interpreters; about
                                   30 minutes), in two runs: in parallel, then the `serial`
                                   tests alone. CI (.ci/run) runs `test`, then `test --long`
    python3 start.py test --all    both tiers, the same two runs
    python3 start.py test ARGS     pytest with ARGS, as given

On first use it creates `.venv/` next to this file and installs the project with its test
dependencies into it (`pip install -e .[dev]`; torch and torchvision are several GB). It
reinstalls only when pyproject.toml changes. Standard library only, on purpose.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".pytorch-tutor-installed"
MIN_PYTHON = (3, 11)
#: In parallel (pytest-xdist, a dev extra): a test process per core and one more, since
#: many tests wait on a subprocess or a timer; tests that share a warm process are grouped
#: (tests/conftest.py). The suite is one parallel run without the `long` tier; `--all`
#: runs everything that is safe in parallel, then the `serial` tests alone (the tmux walks,
#: the whole-course lint with its time budgets), which are all in the long tier.
def usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


PARALLEL = ["-n", str(usable_cores() + 1), "--dist", "loadgroup"]
PHASES = [[*PARALLEL, "-m", "not long"]]
LONG_PHASES = [[*PARALLEL, "-m", "long and not serial"], ["-m", "serial"]]
ALL_PHASES = [[*PARALLEL, "-m", "not serial"], ["-m", "serial"]]
TIERS = {("test",): PHASES, ("test", "--long"): LONG_PHASES, ("test", "--all"): ALL_PHASES}
NO_TESTS = 5  # pytest's exit status when a run selected no test


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def wanted_stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"{digest} {sys.version_info[0]}.{sys.version_info[1]}"


def ensure_environment() -> Path:
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"start.py: pytorch-tutor needs Python {'.'.join(map(str, MIN_PYTHON))}+, "
                 f"this is {sys.version.split()[0]}")
    python = venv_python()
    if not python.exists():
        print(f"start.py: creating {VENV} …", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
    if not STAMP.exists() or STAMP.read_text().strip() != wanted_stamp():
        print("start.py: installing pytorch-tutor and its dependencies (first run: torch is large, "
              "this takes a few minutes) …", file=sys.stderr)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=False)
        result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"],
                                stderr=subprocess.PIPE, text=True, errors="replace")
        sys.stderr.write(without_editable_notice(result.stderr))
        if result.returncode != 0:
            sys.exit("start.py: installing dependencies failed (see pip's message above)")
        STAMP.write_text(wanted_stamp() + "\n")
    return python


#: The one notice pip passes on from setuptools for this editable install ("Please be careful
#: with folders in your working directory with the same name as your package"): every
#: editable mode of a flat layout prints one, and the folders it means are this checkout's
#: own, so it says nothing here. Any other message pip prints is passed on unchanged.
EDITABLE_NOTICE = ("BuildBackendWarning: Editable installation.", "Please be careful with folders in your working directory")


def without_editable_notice(text: str) -> str:
    """``text`` (pip's stderr) without setuptools' editable-install notice block."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        if EDITABLE_NOTICE[0] in lines[i]:
            # The block: the warning line, "!!", the boxed text, "!!", then the source line.
            end, bangs = i + 1, 0
            while end < len(lines) and bangs < 2:
                bangs += lines[end].strip() == "!!"
                end += 1
            if end < len(lines) and lines[end].startswith((" ", "\t")) and "!!" not in lines[end] \
                    and "Warning" not in lines[end]:
                end += 1  # the line of setuptools' source that warned
            block = "".join(lines[i:end])
            if bangs == 2 and EDITABLE_NOTICE[1] in " ".join(block.split()):
                i = end
                continue
        out.append(lines[i])
        i += 1
    return "".join(out)


def main(argv: list[str]) -> int:
    python = ensure_environment()
    phases = TIERS.get(tuple(argv))
    if phases is not None:
        os.chdir(ROOT)
        statuses = [subprocess.run([str(python), "-m", "pytest", *phase]).returncode for phase in phases]
        ran = [s for s in statuses if s != NO_TESTS]
        return max(ran) if ran else NO_TESTS
    if argv[:1] == ["test"]:
        command = [str(python), "-m", "pytest", *argv[1:]]
    else:
        command = [str(python), "-m", "tutor", *argv]
    os.chdir(ROOT)
    if os.name == "nt":  # no exec on Windows: run and pass the status on
        return subprocess.run(command).returncode
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
