"""What this machine lets the sandbox do, found once at start-up by trying it in a throwaway fork.

The answer (the *plan*) tells every later run which layers to apply; the isolation report
(:mod:`.report`) is built from it and from what each run then actually applied.
"""

from __future__ import annotations

import json
import os
from typing import Any

from sandbox.isolation import landlock, namespaces
from sandbox.isolation.kernel import IS_LINUX


def _try_layers(abi: int) -> dict[str, Any]:
    """In a throwaway child: which per-run layers can be entered here."""
    out: dict[str, Any] = {}
    try:
        try:
            namespaces.enter_network_namespace()
            out["netns"], out["netns_needs_userns"] = True, False
        except OSError:
            namespaces.enter_user_namespace()
            namespaces.enter_network_namespace()
            out["netns"], out["netns_needs_userns"] = True, True
    except OSError as exc:
        out["netns"], out["netns_why"] = False, str(exc)
    if abi:
        import tempfile

        try:
            landlock.landlock_restrict_writes([tempfile.gettempdir()])
            out["landlock"] = abi
        except OSError as exc:
            out["landlock"], out["landlock_why"] = 0, str(exc)
    return out


def probe_plan() -> dict[str, Any]:
    """Try the per-run layers once, in a throwaway fork; return the plan (with the reasons
    for what is missing, under ``*_why`` keys)."""
    abi = landlock.landlock_abi() if IS_LINUX else 0
    result: dict[str, Any] = {}
    if IS_LINUX:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                os.write(w, json.dumps(_try_layers(abi)).encode())
            finally:
                os._exit(0)
        os.close(w)
        data = b""
        while True:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)  # this pid only: the worker's reaper tracks none yet
        try:
            result = json.loads(data or b"{}")
        except ValueError:
            result = {}
    plan: dict[str, Any] = {"netns": bool(result.get("netns")), "netns_needs_userns": bool(result.get("netns_needs_userns")),
                            "landlock": int(result.get("landlock", 0) or 0), "data_limit": True,
                            "landlock_kernel_abi": abi}
    for key in ("netns_why", "landlock_why"):
        if key in result:
            plan[key] = str(result[key])
    return plan
