"""The hostile shell the suite's shared worker is started from (tests/conftest.py, ``engine``):
a secret token, variables that point at the user's sockets, and a thread-count variable that
once pushed the worker into a weaker mode. Containment tests (test_sandbox_contain.py) prove
that none of it reaches learner code."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Iterator

SECRET = "s3cr3t-" + uuid.uuid4().hex
SOCKET_VARS = {"TMUX": "/tmp/tmux-0/default,1,0", "SSH_AUTH_SOCK": "/tmp/ssh-XYZ/agent.1",
               "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/0/bus", "XDG_RUNTIME_DIR": "/run/user/0",
               "DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}
HOSTILE_ENV = {"PYTORCH_TUTOR_TEST_TOKEN": SECRET, "AWS_SECRET_ACCESS_KEY": SECRET, "OMP_NUM_THREADS": "4",
               "MKL_NUM_THREADS": "4", **SOCKET_VARS}


@contextmanager
def hostile_environment() -> Iterator[None]:
    """``os.environ`` with :data:`HOSTILE_ENV` in it, restored afterwards."""
    saved = {key: os.environ.get(key) for key in HOSTILE_ENV}
    os.environ.update(HOSTILE_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
