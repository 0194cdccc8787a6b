#!/usr/bin/env python
"""Exercise the sandbox's CUDA path on a real GPU and print a summary (< 5 minutes).

Run from the repository root on a machine with an NVIDIA GPU and a CUDA build of torch:

    .venv/bin/python scripts/gpu_check.py [--device cuda:0] [--python PATH]

It checks, through the real engine (warm zygote + exec'd single-use CUDA spares):
1. the spare starts, creates its context and reports the device and memory fraction;
2. a check on cuda passes with a right answer and fails with a wrong one, each in a new spare;
   a format-v2 check whose judge runs the reference on the device passes a right answer and
   fails one that left its result on the CPU;
3. the per-process memory cap holds: allocating past the fraction is an out-of-memory outcome;
4. an explicit CUDA OOM (a huge allocation) is classified as memory;
5. a CPU run afterwards still forks cleanly (the zygote never touched CUDA);
6. the CUDA spare gets the same confinement as a forked child: every learner-side layer of the
   run's isolation report is on (memory rlimits excepted: the device memory fraction applies),
   and the attacks fail (home directory, /tmp sockets, chmod, the tutor's environment);
7. a cuda run's latency once the spare is warm.
Exit status 0 when every step passed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.protocol import Limits, RunRequest  # noqa: E402
from tutor.engine import Engine  # noqa: E402

SOLUTION = """
import torch

def double(x):
    return x * 2
"""
CHECK = {"name": "doubles", "kind": "function", "function": "double", "file": "<gpu_check>", "cases_line": 1,
         "cases": "for _ in range(3):\n    yield {'x': torch.randn(4, 5, generator=gen)}\n"}
#: Format v2 with the judge on the device (lesson format, "Devices"): the cases move to the
#: device (`on_device`), the learner's results must be there, and the judge runs the reference
#: there too before it compares: this needs CUDA in the judge's process, not only the learner's.
DEVICE_JUDGE = {"name": "doubles, judged on the device", "kind": "custom", "format_version": 2,
                "file": "<gpu_check>", "cases_line": 1, "probe_line": 1, "judge_line": 1, "on_device": True,
                "cases": "for _ in range(3):\n    yield {'x': torch.randn(4, 5, generator=gen)}\n",
                "probe": "return learner.double(case['x'])\n",
                "judge": ("for out, case in zip(outputs, cases):\n"
                          "    expect_on_device(out, device, 'double(x)')\n"
                          "    expected = reference.double(case['x'].to(device))\n"
                          "    expect_on_device(expected, device, 'the reference')\n"
                          "    expect_close(out, expected, 'double(x)')\n"
                          "return 'ok'\n")}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda:0")
    parser.add_argument("--python", default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    os.environ.setdefault("PYTORCH_TUTOR_WORKSPACE", str(tmp / "ws"))
    os.environ.setdefault("PYTORCH_TUTOR_DATA", str(tmp / "data"))
    results: list[tuple[str, bool, str]] = []

    def step(name: str, ok: bool, detail: str = "") -> None:
        results.append((name, ok, detail))
        print(f"[{'PASS' if ok else 'FAIL'}] {name}  {detail}", flush=True)

    def submit(code: str, kind: str = "run", check: dict | None = None, **limits: object):
        src = tmp / f"{kind}_{len(results)}.py"
        src.write_text(code)
        logs: list[str] = []
        req = RunRequest(kind=kind, file=str(src), device=args.device, seed=5,
                         limits=Limits.from_dict(dict(limits, timeout_s=limits.get("timeout_s", 60))),
                         checks=[check or CHECK] if kind == "check" else [],
                         solution=SOLUTION if kind == "check" else "")
        started = time.monotonic()
        result = engine.submit(req, on_event=lambda e: logs.append(str(e.get("message"))) if e.get("type") == "log" else None)
        return result, logs, (time.monotonic() - started) * 1000

    started = time.monotonic()
    engine = Engine(python=args.python, device=args.device)
    try:
        engine.start()
        step("worker started", True, f"mode={engine.hello.get('mode')} in {time.monotonic() - started:.1f}s; "
             f"isolation={engine.isolation.get('level')} off={engine.isolation.get('off')}")
        r, logs, ms = submit(f"import torch\nx = torch.ones(3, device={args.device!r})\nprint('sum', x.sum().item(), x.device)\n")
        note = next((line for line in logs if "memory fraction" in line), "")
        step("spare runs code on the device", r.outcome == "ok" and "sum 3.0" in r.stdout and "cuda" in r.stdout,
             f"{ms:.0f} ms; {note or r.detail or r.stderr[-300:]}")
        pids = [m.group(1) for m in (re.search(r"spare pid (\d+)", line) for line in logs) if m]
        r, logs, ms = submit(f"import torch\ndef double(x):\n    return (x.to({args.device!r}) * 2)\n", kind="check")
        step("check on cuda passes (right answer)", r.status == "pass", f"{ms:.0f} ms {r.error or ''}")
        pids += [m.group(1) for m in (re.search(r"spare pid (\d+)", line) for line in logs) if m]
        r, logs, ms = submit(f"import torch\ndef double(x):\n    return (x.to({args.device!r}) * 3)\n", kind="check")
        step("check on cuda fails (wrong answer)", r.status == "fail", f"{ms:.0f} ms")
        pids += [m.group(1) for m in (re.search(r"spare pid (\d+)", line) for line in logs) if m]
        step("each run got a new spare", len(set(pids)) == len(pids) == 3, f"spare pids {pids}")
        right = "import torch\ndef double(x):\n    return x * 2\n"
        r, _, ms = submit(right, kind="check", check=DEVICE_JUDGE)
        step("v2 check judged on the device passes (right answer)", r.status == "pass",
             f"{ms:.0f} ms {r.error or ''} {' '.join(c.message for c in r.checks)[:300]}")
        r, _, ms = submit("import torch\ndef double(x):\n    return (x * 2).cpu()\n", kind="check", check=DEVICE_JUDGE)
        step("v2 check judged on the device fails a result left on the CPU", r.status == "fail"
             and any("cpu" in c.message for c in r.checks), f"{ms:.0f} ms {' '.join(c.message for c in r.checks)[:300]}")
        r, _, ms = submit(
            "import torch\n"
            f"total = torch.cuda.get_device_properties({args.device!r}).total_memory\n"
            f"x = torch.empty(int(total * 0.4), dtype=torch.uint8, device={args.device!r})\n"
            "print('allocated 40%')\n", gpu_memory_fraction=0.25)
        step("memory fraction 0.25 refuses a 40% allocation", r.outcome == "memory",
             f"outcome={r.outcome} {r.detail[:160]}")
        r, _, ms = submit(f"import torch\nx = torch.empty(2**45, dtype=torch.uint8, device={args.device!r})\n")
        step("huge CUDA allocation is classified as memory", r.outcome == "memory", f"outcome={r.outcome} {r.detail[:160]}")
        src = tmp / "cpu.py"
        src.write_text("import torch\nprint('bad fork', torch._C._cuda_isInBadFork())\n")
        r = engine.submit(RunRequest(kind="run", file=str(src), device="cpu"))
        step("CPU run still forks cleanly", r.outcome == "ok" and "bad fork False" in r.stdout, r.stdout.strip()[:80])
        home_canary = Path.home() / f".gpu-check-canary-{os.getpid()}"
        home_canary.write_text("secret")
        os.environ["GPU_CHECK_SECRET"] = "hunter2"  # not seen by this engine's worker: started before
        try:
            r, _, ms = submit(
                "import os, torch\n"
                f"x = torch.ones(1, device={args.device!r})\n"
                "def attempt(name, fn):\n"
                "    try:\n"
                "        fn(); print(name, 'ALLOWED')\n"
                "    except OSError:\n"
                "        print(name, 'refused')\n"
                f"attempt('home', lambda: open({str(home_canary)!r}).read())\n"
                "attempt('chmod', lambda: os.chmod(__file__, 0o600))\n"
                "attempt('tmp', lambda: [p for p in os.listdir('/tmp') if p.startswith(('tmux', 'ssh'))] and 1/0)\n"
                "print('environ', b'hunter2' in open('/proc/self/environ', 'rb').read())\n")
        finally:
            home_canary.unlink()
            del os.environ["GPU_CHECK_SECRET"]
        layers = r.isolation.get("layers", {})
        wanted = ("scrubbed_env", "network_isolation", "mount_namespace", "ipc_namespace", "filesystem_writes",
                  "filesystem_reads", "metadata_writes", "capabilities")
        off = [name for name in wanted if not layers.get(name, {}).get("on")]
        attacks_ok = r.outcome == "ok" and "ALLOWED" not in r.stdout and "environ False" in r.stdout
        step("CUDA spare: same confinement as a forked child", not off and attacks_ok,
             f"off: {off or 'none'}; {' / '.join(r.stdout.split(chr(10)))[:200] or r.detail[:200]}")
        times = []
        for _ in range(5):
            time.sleep(2.0)  # let the replacement spare warm up
            r, _, ms = submit(f"import torch\nprint(torch.ones(2, device={args.device!r}).sum().item())\n")
            times.append(ms)
        step("warm cuda run latency", r.outcome == "ok", "ms: " + ", ".join(f"{t:.0f}" for t in times))
    except Exception as exc:  # noqa: BLE001 - the summary must always print
        step("unexpected error", False, repr(exc))
    finally:
        engine.close()
    failed = [name for name, ok, _ in results if not ok]
    print(f"\nsummary: {len(results) - len(failed)}/{len(results)} passed in {time.monotonic() - started:.0f}s"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
