"""Make lessons/ch10/assets/bars-backbone.pt: a tiny CNN pretrained on procedural bars (Task A).

Deterministic: fixed seeds, one thread. Run from the repository root:
    python scripts/assets/ch10_make_backbone.py
Task A: 16x16 grey images with one bar, 4 classes (horizontal, vertical, diagonal, anti-diagonal),
3,000 images, 300 Adam steps. The lesson 10.1 reuses the backbone on Task B (two bars per image).
The data are generated here (no download); the file is original work of this repository (same licence).
"""

import hashlib
import math
import pathlib

import torch
from torch import nn

OUT = pathlib.Path(__file__).resolve().parents[2] / "lessons" / "ch10" / "assets" / "bars-backbone.pt"
ANGLES = (0.0, 90.0, 45.0, 135.0)


def draw_bars(kinds, gen, size=16, noise=0.25):
    """kinds: (N, K) long tensor of orientation indices; K bars per image, summed and clipped."""
    n, k = kinds.shape
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    theta = torch.tensor(ANGLES)[kinds] * math.pi / 180                     # (N, K)
    centre = 4 + torch.rand(n, k, 2, generator=gen) * (size - 8)            # (N, K, 2)
    length = 7 + torch.rand(n, k, generator=gen) * 4
    dx, dy = torch.cos(theta), -torch.sin(theta)
    rx = xs[None, None] - centre[..., 0, None, None]
    ry = ys[None, None] - centre[..., 1, None, None]
    along = rx * dx[..., None, None] + ry * dy[..., None, None]
    across = -rx * dy[..., None, None] + ry * dx[..., None, None]
    bar = ((across.abs() <= 0.75) & (along.abs() <= length[..., None, None] / 2)).float()
    img = bar.sum(1).clamp(max=1.0)
    img = img + noise * torch.randn(n, size, size, generator=gen)
    return img.unsqueeze(1)


class BarNet(nn.Module):
    def __init__(self, num_classes=4):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(32, num_classes)

    def forward(self, x):
        return self.head(self.features(x))


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(2026)
    y = torch.randint(0, 4, (3000,), generator=gen)
    x = draw_bars(y[:, None], gen)
    yt = torch.randint(0, 4, (1000,), generator=gen)
    xt = draw_bars(yt[:, None], gen)
    model = BarNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(300):
        idx = torch.randint(0, 3000, (128,), generator=gen)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(xt).argmax(1) == yt).float().mean().item()
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, OUT)
    data = OUT.read_bytes()
    print(f"Task A held-out accuracy {acc:.3f}; {OUT.name}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
