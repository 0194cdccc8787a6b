"""One-shot environment probe: versions, devices, CPU features. Prints one JSON object.

Device discovery lives here, in its own short-lived process, because touching
``torch.cuda`` or ``torch.backends.mps`` in the warm zygote would poison every later fork.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time


def probe() -> dict:
    started = time.monotonic()
    info: dict = {"python": platform.python_version(), "executable": sys.executable,
                  "platform": platform.platform(), "cpu_count": os.cpu_count()}
    try:
        import torch
    except ImportError as exc:
        info["torch"] = None
        info["error"] = f"torch is not importable: {exc}"
        return info
    info["torch"] = torch.__version__
    info["import_torch_ms"] = round((time.monotonic() - started) * 1000)
    try:
        import torchvision

        info["torchvision"] = torchvision.__version__
    except Exception as exc:  # noqa: BLE001 - report, don't crash the probe
        info["torchvision"] = None
        info["torchvision_error"] = str(exc).splitlines()[0][:200]
    devices = ["cpu"]
    cuda: dict = {"available": False}
    try:
        if torch.cuda.is_available():
            cuda = {"available": True, "count": torch.cuda.device_count(),
                    "names": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
                    "version": torch.version.cuda}
            devices += [f"cuda:{i}" for i in range(cuda["count"])]
        else:
            cuda["build"] = torch.version.cuda
    except Exception as exc:  # noqa: BLE001
        cuda = {"available": False, "error": str(exc)[:200]}
    mps = False
    try:
        mps = bool(torch.backends.mps.is_available())
    except Exception:  # noqa: BLE001
        pass
    if mps:
        devices.append("mps")
    info.update(devices=devices, cuda=cuda, mps=mps, threads=torch.get_num_threads())
    try:
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except Exception:  # noqa: BLE001
        info["cpu_capability"] = None
    return info


if __name__ == "__main__":
    print(json.dumps(probe()))
