"""The places and the environment a run gets: what plain ``python FILE`` would have.

Plain Python gives a script a writable HOME (so every library cache works), a short
``TMPDIR`` (multiprocessing puts Unix sockets there, and a socket path may be at most 107
bytes), the user's debug variables (``TORCH_LOGS``, ``TORCHDYNAMO_VERBOSE``...) and thread
settings that spawned children inherit unchanged. A sandboxed run gets the same, confined:

* ``HOME``, ``XDG_*``, ``TORCH_HOME``, ``TORCHINDUCTOR_CACHE_DIR``, ``TRITON_CACHE_DIR`` and
  ``MPLCONFIGDIR`` point into a per-workspace cache folder (``<workspace>/.cache/sandbox``)
  that persists between runs, so the second ``torch.compile`` of the same code is fast.
  Only the learner's process gets it: the judge must never read what learner code wrote.
* ``TMPDIR`` is a short per-run folder (``/tmp/pytorch-tutor-XXXXXXXX/tmp``), removed with the run.
* Variables a learner sets to steer torch pass the allow-list; ``run --env NAME=VALUE``
  adds any other; the names of dropped variables that look like settings are reported.

The worker calls :func:`plan_run` (in the parent, before the launch: folders must exist
before Landlock is told about them); the child calls :func:`child_env`.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

from sandbox.isolation.environment import ENV_ALLOW as BASE_ALLOW
from sandbox.isolation.environment import THREAD_ENV
from sandbox.learner.events import EVENT_FD_ENV as EVENT_FD_VAR  # the one variable a learner may not replace

#: Variables passed through unchanged from the tutor's environment (HOME is then replaced).
ENV_ALLOW = tuple(BASE_ALLOW) + ("NO_COLOR",)

#: Prefixes of the variables torch (and its compilers, collectives and thread pools) reads
#: to debug or tune a run; torch's own error messages tell learners to set some of them.
TORCH_PREFIXES = ("TORCH_LOGS", "TORCH_TRACE", "TORCHDYNAMO_", "TORCHINDUCTOR_", "TORCH_COMPILE_",
                  "TORCH_SHOW_CPP_STACKTRACES", "TORCH_DISTRIBUTED_DEBUG", "TORCH_CPP_LOG_LEVEL",
                  "TORCH_USE_CUDA_DSA", "TORCH_NCCL_", "TORCH_BLAS_", "PYTORCH_", "CUDA_LAUNCH_BLOCKING",
                  "CUBLAS_WORKSPACE_CONFIG", "NCCL_DEBUG", "TRITON_", "OMP_", "MKL_", "OPENBLAS_",
                  "KMP_", "GOMP_", "DNNL_", "ONEDNN_")

#: Dropped variables worth naming (the rest of a shell's environment is noise).
#: (HOME, TMPDIR and the XDG folders are not dropped but replaced, by design.)
REPORT_PREFIXES = ("TORCH", "PYTORCH", "CUDA", "NCCL", "GLOO", "PYTHON", "TRITON", "HF_", "MPL",
                   "OMP_", "MKL_", "KMP_")

#: The user's environment as the worker was started with it, before the worker pins
#: thread variables to 1 for the zygote (a live OpenMP pool makes fork deadlock) or
#: scrubs anything: captured first thing in the worker (:func:`capture_user_environ`).
_user_environ: dict[str, str] | None = None

#: Variables every run gets the sandbox's own value of (replaced, so not "dropped").
SANDBOX_SETS = frozenset({"PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONHASHSEED",
                          "MPLBACKEND", "MPLCONFIGDIR", "KINETO_LOG_LEVEL", EVENT_FD_VAR})

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Short enough that ``<tmpdir>/pymp-XXXXXXXX/listener-XXXXXXXX`` fits in a Unix socket path.
MAX_TMPDIR_LEN = 60


#: Names of the user's variables that the worker's clean re-exec left out (``--dropped-env``).
_dropped_before_exec: list[str] | None = None
DROPPED_ARG = "--dropped-env"


def capture_user_environ() -> None:
    """Remember the environment the worker was started with, less the thread pins (which
    are the zygote's: after the clean re-exec they are never the user's)."""
    global _user_environ
    if _user_environ is None:
        _user_environ = {k: v for k, v in os.environ.items() if k not in THREAD_ENV}


def passing(environ: Any) -> dict[str, str]:
    """The variables of ``environ`` that reach learner code (the thread pins excepted)."""
    return {k: v for k, v in environ.items() if passes(k) and k not in THREAD_ENV}


def dropped_arg(environ: Any) -> list[str]:
    """Worker arguments that carry the *names* (never values) of dropped variables across
    the worker's clean re-exec, so a run can say which variables it did not get."""
    names = sorted(k for k in environ if _reportable(k))
    return [DROPPED_ARG, ",".join(names)] if names else []


def take_dropped_arg(argv: list[str]) -> list[str]:
    """Remove ``--dropped-env NAMES`` from ``argv`` and remember the names."""
    global _dropped_before_exec
    if DROPPED_ARG not in argv:
        return argv
    i = argv.index(DROPPED_ARG)
    value = argv[i + 1] if i + 1 < len(argv) else ""
    _dropped_before_exec = [n for n in value.split(",") if NAME_RE.match(n)]
    return argv[:i] + argv[i + 2:]


def user_environ() -> dict[str, str]:
    """The user's environment: as captured, else this process's less the zygote's thread pins."""
    if _user_environ is not None:
        return dict(_user_environ)
    return {k: v for k, v in os.environ.items() if k not in THREAD_ENV}


def passes(name: str) -> bool:
    """Whether the user's variable ``name`` reaches learner code. The tutor's own
    ``PYTORCH_TUTOR_*`` variables never do (they may carry tokens and paths)."""
    if name.startswith("PYTORCH_TUTOR"):
        return False
    return name in ENV_ALLOW or name.startswith(TORCH_PREFIXES)


def bad_env_names(extra: dict[str, Any]) -> list[str]:
    return [name for name in extra if not NAME_RE.match(str(name)) or name == EVENT_FD_VAR]


# --- where things go ---------------------------------------------------------------------


def workspace_of(workdir: str) -> str | None:
    """The learner's workspace, when ``workdir`` is one of its run folders (``<ws>/.runs/ID``)."""
    parent = os.path.dirname(os.path.abspath(workdir))
    if os.path.basename(parent) == ".runs":
        return os.path.dirname(parent)
    return None


def cache_root(workdir: str, private_dir: str) -> tuple[str, bool]:
    """``(folder, persistent)``: the per-workspace cache, or a per-run one without a workspace."""
    ws = workspace_of(workdir)
    if ws is not None:
        return os.path.join(ws, ".cache", "sandbox"), True
    return os.path.join(private_dir, "cache"), False


def short_tmp_base() -> str:
    """A folder for the run's TMPDIR whose path is short whatever TMPDIR the tutor had."""
    for base in ("/tmp", "/var/tmp", "/dev/shm", tempfile.gettempdir()):
        if len(base) <= MAX_TMPDIR_LEN - 30 and os.path.isdir(base) and os.access(base, os.W_OK | os.X_OK):
            return base
    return tempfile.gettempdir()


def cache_env(root: str) -> dict[str, str]:
    home = os.path.join(root, "home")
    return {
        "HOME": home,
        "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
        "TORCH_HOME": os.path.join(home, ".cache", "torch"),
        "TORCHINDUCTOR_CACHE_DIR": os.path.join(root, "inductor"),
        "TRITON_CACHE_DIR": os.path.join(root, "triton"),
        "MPLCONFIGDIR": os.path.join(root, "matplotlib"),
    }


def plan_run(role: str, workdir: str, private_dir: str, tmpdir: str, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """What one process of a run gets (JSON, travels in the job): its cache folders (made
    now), TMPDIR, extra variables and the folders it may write to."""
    if role == "child":
        root, persistent = cache_root(workdir, private_dir)
    else:
        # The judge's caches are its own and die with the run: nothing learner code wrote
        # (a poisoned compile cache, say) may reach the process that computes verdicts.
        root, persistent = os.path.join(private_dir, "judge-cache"), False
    env = cache_env(root)
    for key in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR", "MPLCONFIGDIR"):
        os.makedirs(env[key], exist_ok=True)
    base = {k: v for k, v in user_environ().items() if passes(k)}
    return {"cache_root": root, "persistent_cache": persistent, "tmpdir": tmpdir, "env": env, "base_env": base,
            "extra_env": dict(extra_env or {}) if role == "child" else {},
            "writable": [root, tmpdir]}


def child_env(job: dict[str, Any], event_fd: int, package_parent: str) -> dict[str, str]:
    """The environment of a sandboxed process, built from the user's and the job's plan."""
    runtime = job.get("runtime") or {}
    workdir = job["workdir"]
    base = runtime.get("base_env")
    env = dict(base) if isinstance(base, dict) else {k: v for k, v in user_environ().items() if passes(k)}
    env.update(
        PYTHONPATH=package_parent,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONHASHSEED="0",
        TMPDIR=str(runtime.get("tmpdir") or workdir),
        MPLBACKEND="module://sandbox.learner.mplbackend",
        KINETO_LOG_LEVEL="5",
        # Inductor's precompiled header is ~160 MB: past the file-size cap, and not worth
        # its disk in a learner's cache. Kernels still compile and are cached.
        TORCHINDUCTOR_CPP_CACHE_PRECOMPILE_HEADERS="0",
    )
    env.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")
    env.update(runtime.get("env") or {"HOME": workdir, "MPLCONFIGDIR": os.path.join(workdir, ".matplotlib")})
    for key, value in (runtime.get("extra_env") or {}).items():
        if NAME_RE.match(str(key)) and key not in (EVENT_FD_VAR, "PYTHONPATH"):
            env[str(key)] = str(value)
    env[EVENT_FD_VAR] = str(event_fd)
    return env


def _reportable(name: str) -> bool:
    return (not passes(name) and name.startswith(REPORT_PREFIXES) and name not in SANDBOX_SETS
            and not name.startswith("PYTORCH_TUTOR"))


def dropped_names(extra_env: dict[str, str] | None = None) -> list[str]:
    """Variables of the user's that do not reach learner code and look like settings."""
    extra = extra_env or {}
    names = set(_dropped_before_exec or ()) | {k for k in user_environ() if _reportable(k)}
    return sorted(n for n in names if n not in extra)


def dropped_note(extra_env: dict[str, str] | None = None) -> str:
    names = dropped_names(extra_env)
    if not names:
        return ""
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return (f"not passed to your code: {shown} (torch's own TORCH*/PYTORCH_* variables pass; "
            "add others with `run --env NAME=VALUE`)")


# --- in the child, after the environment is replaced ----------------------------------------


def sync_torch_with_env() -> None:
    """Torch read some variables when the zygote imported it, with the zygote's
    environment; apply the run's values of those a learner is told to set."""
    import sys

    env = os.environ
    inductor = sys.modules.get("torch._inductor.config")
    if inductor is not None:
        inductor.cpp_cache_precompile_headers = env.get("TORCHINDUCTOR_CPP_CACHE_PRECOMPILE_HEADERS", "1") == "1"
    dynamo = sys.modules.get("torch._dynamo.config")
    if dynamo is not None and "TORCHDYNAMO_VERBOSE" in env:
        dynamo.verbose = env["TORCHDYNAMO_VERBOSE"] == "1"
    if env.get("TORCH_LOGS") or env.get("TORCH_TRACE"):
        internal = sys.modules.get("torch._logging._internal")
        if internal is not None:
            try:
                internal._init_logs()
            except Exception as exc:  # noqa: BLE001 - a bad TORCH_LOGS is torch's to explain
                sys.stderr.write(f"TORCH_LOGS: {exc}\n")
