"""End to end: a learner program calls every ``show`` form, ``pytorch-tutor run`` prints a
render of each (one real sandboxed torch run)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

LEARNER = textwrap.dedent('''
    import torch, torch.nn as nn
    from torch.profiler import profile
    from torch.utils.tensorboard import SummaryWriter
    from sandbox import show

    x = torch.linspace(-1, 1, 12).reshape(3, 4).requires_grad_()
    show(x)
    w = torch.ones(4, 2, requires_grad=True)
    loss = (x @ w).relu().sum()
    show.graph(loss)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    show(model, torch.zeros(5, 4))
    show.curve([1 / (i + 1) for i in range(20)], label="decay", log=True)
    for step in range(3):
        show.metric("loss", 1.0 / (step + 1), step=step)
    show.image(torch.rand(4, 1, 16, 16), labels=["a", "b", "c", "d"])
    show.heatmap(torch.tensor([[9, 1], [2, 8]]), labels=["cat", "dog"])
    with profile(profile_memory=True) as prof:
        model(torch.randn(16, 4)).sum().backward()
    show.profile(prof)
    writer = SummaryWriter("runs")
    for step in range(5):
        writer.add_scalar("train/loss", 1.0 / (step + 1), step)
    writer.close()
    show.tensorboard("runs")
    show(object())
    print("done")
''')


@pytest.mark.slow
def test_run_prints_every_kind_of_visual(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    program = tmp_path / "visuals.py"
    program.write_text(LEARNER)
    env = dict(subprocess_env, COLUMNS="80", NO_COLOR="1")
    proc = subprocess.run([sys.executable, "-m", "tutor", "run", str(program), "--timeout", "90"],
                          capture_output=True, text=True, timeout=180, env=env)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    expected = ["tensor x  (3, 4)", "autograd graph loss", "x (3, 4) float32  via AccumulateGrad",
                "module model", "→ (5, 8)", "curve", "decay (last", "image", "heatmap", "cat",
                "profile prof", "top operators by self time", "aten::addmm",
                "tensorboard", "train/loss", "show", "<object object at", "done", "✓ ran to the end"]  # `run` never says "passed"
    missing = [s for s in expected if s not in out]
    assert not missing, f"missing {missing} in:\n{out}"
    assert "could not draw" not in out and "\x1b[" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
