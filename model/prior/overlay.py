"""A full-canvas translucent overlay (a tint or a fade) read from the prior's maps.

The network says, per pixel, how much of the colour is owed to a full-canvas overlay and which
colour that overlay has. Per-pixel guesses at 128 px are too noisy to un-tint a picture with,
so they are only trusted through the structure such overlays have: the alpha is a smooth
function of one coordinate (a constant tint, a fade along y or x), the colour is one colour.
The profile is the per-row (or per-column) median of the map, fitted by a cubic; it is used
only when the map is explained by it, covers most of the canvas and has no sharp step (a band
is left to classic's own band finder, which places its edges exactly).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_MEAN = 0.08  # mean overlay alpha over the canvas
MIN_COVER = 0.35  # fraction of the canvas where the overlay shows (alpha > SHOWS)
SHOWS = 0.06
MAX_RESIDUAL = 0.06  # mean |map - profile| where the overlay shows
MAX_STEP = 0.05  # largest change of the profile between neighbouring rows (of 128)
MAX_ALPHA = 0.9


@dataclass(frozen=True)
class FullOverlay:
    axis: int  # 0: alpha varies along y (one value per row); 1: along x
    profile: np.ndarray  # float alpha per row (axis 0) or column, at the network's resolution
    colour: np.ndarray  # float RGB in [0, 1]
    confidence: float  # 1 - residual / MAX_RESIDUAL, in [0, 1]

    def alpha(self, shape: tuple[int, int]) -> np.ndarray:
        """Float HxW alpha at the picture's size."""
        h, w = shape
        n = h if self.axis == 0 else w
        t_net = (np.arange(len(self.profile)) + 0.5) / len(self.profile)
        line = np.interp((np.arange(n) + 0.5) / n, t_net, self.profile).astype(np.float32)
        return np.broadcast_to(line[:, None] if self.axis == 0 else line[None, :], (h, w))


def find_overlay(maps: np.ndarray) -> FullOverlay | None:
    """The full-canvas overlay the maps (RxRx5) describe, or None."""
    alpha = maps[:, :, 0].astype(np.float64)
    if alpha.mean() < MIN_MEAN or (alpha > SHOWS).mean() < MIN_COVER:
        return None
    best = None
    for axis in (0, 1):
        line = np.median(alpha, axis=1 - axis)
        t = (np.arange(len(line)) + 0.5) / len(line)
        fitted = np.clip(np.polyval(np.polyfit(t, line, 3), t), 0.0, MAX_ALPHA)
        plane = fitted[:, None] if axis == 0 else fitted[None, :]
        shows = alpha > SHOWS
        residual = float(np.abs(alpha - plane)[shows].mean())
        steps = float(np.abs(np.diff(line)).max())
        if best is None or residual < best[0]:
            best = (residual, axis, fitted, steps)
    residual, axis, fitted, steps = best
    if residual > MAX_RESIDUAL or steps > MAX_STEP:
        return None
    plane = fitted[:, None] if axis == 0 else fitted[None, :]
    agree = (np.abs(alpha - plane) < 0.05) & (alpha > SHOWS)
    if agree.sum() < 16:
        return None
    weights = alpha[agree]
    colour = np.array([np.average(maps[:, :, 1 + c][agree], weights=weights) for c in range(3)])
    confidence = float(np.clip(1.0 - residual / MAX_RESIDUAL, 0.0, 1.0))
    return FullOverlay(axis, fitted.astype(np.float32), np.clip(colour, 0.0, 1.0), confidence)
