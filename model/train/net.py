"""The prior network: a small U-Net from a picture to per-pixel layer maps (torch; training only).

Input: 1x3xRxR RGB in [0, 1] (the picture squashed to the network's square). Two coordinate
channels are added inside (a tint or fade is a function of the position), and the coarsest
level sees a global average of itself, so a full-canvas overlay is judged from the whole picture.
Output: 1x5xRxR in [0, 1] (`model.train.data.targets`).
"""

from __future__ import annotations

import torch
from torch import nn

RES = 64
OUTPUTS = 5


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.GroupNorm(4, cout),
        nn.SiLU(),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.GroupNorm(4, cout),
        nn.SiLU(),
    )


class PriorNet(nn.Module):
    def __init__(self, width: int = 16, res: int = RES) -> None:
        super().__init__()
        w = (width, width * 2, width * 4, width * 6)
        ys, xs = torch.meshgrid(
            torch.linspace(-1, 1, res), torch.linspace(-1, 1, res), indexing="ij"
        )
        self.register_buffer("coords", torch.stack([xs, ys])[None], persistent=False)
        self.res = res
        self.enc = nn.ModuleList(
            [_block(5, w[0]), _block(w[0], w[1]), _block(w[1], w[2]), _block(w[2], w[3])]
        )
        self.context = nn.Sequential(nn.Linear(w[3], w[3]), nn.SiLU())
        self.dec = nn.ModuleList(
            [_block(w[3] * 2 + w[2], w[2]), _block(w[2] + w[1], w[1]), _block(w[1] + w[0], w[0])]
        )
        self.head = nn.Conv2d(w[0], OUTPUTS, 1)
        with torch.no_grad():  # most pixels owe nothing to an overlay: start the alphas near 0
            self.head.bias[[0, 4]] = -3.0

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        x = torch.cat([rgb, self.coords.expand(rgb.shape[0], -1, -1, -1)], dim=1)
        skips = []
        for index, block in enumerate(self.enc):
            x = block(x if index == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        glob = self.context(x.mean(dim=(2, 3)))[:, :, None, None].expand_as(x)
        x = torch.cat([x, glob], dim=1)
        for block, skip in zip(self.dec, reversed(skips[:-1])):
            x = nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
            x = block(torch.cat([x, skip], dim=1))
        return torch.sigmoid(self.head(x))


def loss_fn(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on the two alphas, plus L1 on the overlay colour where the overlay
    shows. (L1 on the alphas, the first run's loss, is minimised by the per-pixel median, and
    with an overlay in under half of the samples an unsure network learns to answer 0
    everywhere: it did, within 300 steps.)"""
    weight = target[:, :1]
    alphas = nn.functional.binary_cross_entropy(
        pred[:, [0, 4]].clamp(1e-6, 1 - 1e-6), target[:, [0, 4]]
    )
    colour = ((pred[:, 1:4] - target[:, 1:4]).abs() * weight).sum() / (3 * weight.sum() + 1.0)
    return 2.0 * alphas + colour


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
