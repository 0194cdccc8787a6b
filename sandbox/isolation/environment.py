"""The environment of every sandboxed process, built from an allow-list.

Nothing outside :data:`ENV_ALLOW` reaches learner code. The worker itself is started with an
environment built the same way (``sandbox_environ``), so even ``/proc/self/environ`` of a
forked child (which shows the environment its *exec* had, not ``os.environ``) holds nothing else.
"""

from __future__ import annotations

import os

from sandbox.learner.events import EVENT_FD_ENV

#: The only variables that reach learner code. Variables that point at sockets or sessions
#: (``TMUX``, ``SSH_AUTH_SOCK``, ``DBUS_SESSION_BUS_ADDRESS``, ``XDG_RUNTIME_DIR``,
#: ``DISPLAY``...) are deliberately absent.
ENV_ALLOW = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TZ", "USER", "LOGNAME",
             "CUDA_VISIBLE_DEVICES", "CUDA_HOME", "LD_LIBRARY_PATH", "PYTORCH_ENABLE_MPS_FALLBACK",
             "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT")

#: Thread pools pinned to one thread: the zygote must stay single-threaded to fork safely.
#: These are *set*, never taken from the user's environment (a user's OMP_NUM_THREADS=8 must not
#: push the worker into the unsafe-to-fork, cold fallback).
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}

#: Worker-internal switches that may pass from the tutor to the worker (never to learner code).
WORKER_ONLY = ("PYTORCH_TUTOR_FAKE_DEVICE",)

#: The folder that holds the ``sandbox`` package this process runs from (a private copy of it
#: when the tutor is installed; see tutor/worker_path.py). The only entry of PYTHONPATH.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def allowed(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k in ENV_ALLOW}


def scrubbed_env(workdir: str, event_fd: int) -> dict[str, str]:
    """The environment of one sandboxed process (learner child or judge)."""
    env = allowed(os.environ)
    env.update(
        PYTHONPATH=PACKAGE_PARENT,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONHASHSEED="0",
        TMPDIR=workdir,
        MPLBACKEND="Agg",
        # Single-threaded BLAS at start-up; torch.set_num_threads decides for the run.
        **THREAD_ENV,
        KINETO_LOG_LEVEL="5",
        TORCH_CPP_LOG_LEVEL="ERROR",
    )
    env[EVENT_FD_ENV] = str(event_fd)
    return env
