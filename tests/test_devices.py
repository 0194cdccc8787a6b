"""`--device auto`: cpu at once where there is no sign of a GPU; otherwise one probe per
interpreter, cached; explicit devices are taken as given; bad names are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tutor import devices


def counting_probe(found: list[str]):
    calls = []

    def probe(python):
        calls.append(python)
        return {"devices": found}

    return probe, calls


def test_explicit_devices_are_taken_as_given(tmp_path: Path) -> None:
    probe, calls = counting_probe(["cpu"])
    assert devices.resolve("cuda:1", None, tmp_path, probe) == "cuda:1"
    assert devices.resolve("cpu", None, tmp_path, probe) == "cpu"
    assert calls == []


def test_auto_without_gpu_hints_is_cpu_without_a_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "gpu_hints", lambda: False)
    probe, calls = counting_probe(["cpu", "cuda:0"])
    assert devices.resolve("auto", None, tmp_path, probe) == "cpu"
    assert calls == []


def test_auto_with_gpu_hints_probes_once_and_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "gpu_hints", lambda: True)
    probe, calls = counting_probe(["cpu", "cuda:0", "cuda:1"])
    assert devices.resolve("auto", sys.executable, tmp_path, probe) == "cuda"
    assert devices.resolve("auto", sys.executable, tmp_path, probe) == "cuda"
    assert len(calls) == 1
    mps_probe, _ = counting_probe(["cpu", "mps"])
    other = tmp_path / "other"
    assert devices.resolve("auto", sys.executable, other, mps_probe) == "mps"


def test_a_failed_probe_means_cpu_and_is_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "gpu_hints", lambda: True)
    calls = []

    def broken(python):
        calls.append(python)
        return {"error": "torch is not importable"}

    assert devices.resolve("auto", None, tmp_path, broken) == "cpu"
    assert devices.resolve("auto", None, tmp_path, broken) == "cpu"
    assert len(calls) == 2


def test_a_corrupt_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "gpu_hints", lambda: True)
    (tmp_path / devices.CACHE_NAME).write_text("{not json")
    probe, calls = counting_probe(["cpu"])
    assert devices.resolve("auto", None, tmp_path, probe) == "cpu"
    assert len(calls) == 1


def test_bad_device_names_are_refused_by_the_cli() -> None:
    proc = subprocess.run([sys.executable, "-m", "tutor", "--device", "gpu", "list"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "--device must be auto, cpu, cuda, cuda:N or mps" in proc.stderr
    assert "Traceback" not in proc.stderr
