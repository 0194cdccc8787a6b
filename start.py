#!/usr/bin/env python3
"""Run pytorch-tutor from a fresh clone with nothing but Python 3.11+.

    python3 start.py [ARGS...]     open the tutor (ARGS go to `pytorch-tutor`)
    python3 start.py test [ARGS]   run the whole test suite (ARGS go to pytest); with no ARGS
                                   in two runs: in parallel (pytest-xdist, a process per core),
                                   then the `serial` tests (tmux, timing) alone

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
#: The whole suite in two runs: everything that is safe in parallel on every core
#: (pytest-xdist, a dev extra), then the `serial` tests alone (tmux, timing; tests/conftest.py).
PHASES = [["-n", "auto", "--dist", "loadgroup", "-m", "not serial"], ["-m", "serial"]]
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
        result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"])
        if result.returncode != 0:
            sys.exit("start.py: installing dependencies failed (see pip's message above)")
        STAMP.write_text(wanted_stamp() + "\n")
    return python


def main(argv: list[str]) -> int:
    python = ensure_environment()
    if argv[:1] == ["test"] and len(argv) == 1:
        os.chdir(ROOT)
        statuses = [subprocess.run([str(python), "-m", "pytest", *phase]).returncode for phase in PHASES]
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
