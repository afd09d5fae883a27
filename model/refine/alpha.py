"""Alpha re-estimated along each layer's edges from the full-resolution picture ("unblending").

Inside a band around a layer's edges, the picture is what the layer's colour F over what lies
below it B gives, seen through the layers above (their premultiplied colour U and
transmittance T): (P - U) / T = B + a (F - B), in premultiplied RGBA. Projected onto F - B this
gives the alpha the picture implies. It is trusted as far as F and B differ (T^2 |F - B|^2
against a noise floor) and the picture fits that line (little residual across it: texture
in B that the upsampled layer lacks is not taken for alpha).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXACT = 0.5 / 255 + 2e-5  # within half a grey level: the pixel is already reproduced


@dataclass(frozen=True)
class AlphaParams:
    floor: float = 0.02  # contrast (T^2 |F - B|^2) at which the estimate gets half the weight
    fit: float = 0.3  # the residual across the F-B line, relative to |F - B|, that halves it
    snap: float = 0.03  # estimates within this of opaque are opaque (noise clipped at 1)
    tail: float = 0.2  # where the upsampled alpha is below this...
    tail_estimate: float = 0.25  # ...and the estimate too, the pixel is outside the layer


def suffix(colours: np.ndarray, alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per layer, the premultiplied RGBA of the layers above it (N, 4, h, w) and their
    transmittance (N, h, w)."""
    count = len(alphas)
    above = np.zeros((count, 4) + alphas.shape[1:], np.float32)
    transmit = np.ones(alphas.shape, np.float32)
    for k in range(count - 2, -1, -1):
        a = alphas[k + 1]
        above[k, :3] = above[k + 1, :3] + transmit[k + 1] * a * colours[k + 1]
        above[k, 3] = above[k + 1, 3] + transmit[k + 1] * a
        transmit[k] = transmit[k + 1] * (1.0 - a)
    return above, transmit


def refine_band(
    target: np.ndarray,
    colours: np.ndarray,
    alphas: np.ndarray,
    bands: list[np.ndarray | None],
    params: AlphaParams,
) -> np.ndarray:
    """New alphas (N, h, w) for one band of rows; layers whose band is None keep theirs.

    target: the picture, premultiplied (4, h, w); colours (N, 3, h, w) straight; alphas
    (N, h, w) as upsampled."""
    above, transmit = suffix(colours, alphas)
    # Pixels the stack already reproduces keep their alpha (refining an exact stack is a no-op)
    whole = above[0].copy()
    whole[:3] += transmit[0] * alphas[0] * colours[0]
    whole[3] += transmit[0] * alphas[0]
    open_ = (np.abs(whole - target) > EXACT).any(axis=0)
    out = alphas.copy()
    below = np.zeros_like(target)  # premultiplied RGBA of the (refined) layers below
    for k in range(len(alphas)):
        band = bands[k]
        if band is not None and band.any():
            t = transmit[k]
            seen = (target - above[k]) / np.maximum(t, 1e-4)
            diff = np.empty_like(target)
            diff[:3] = colours[k] - below[:3]
            diff[3] = 1.0 - below[3]
            spread = (diff * diff).sum(axis=0)
            seen -= below
            raw = (seen * diff).sum(axis=0) / np.maximum(spread, 1e-6)
            estimate = np.clip(raw * (1.0 / (1.0 - params.snap)), 0.0, 1.0)
            seen -= raw * diff  # what the F-B line does not explain
            misfit = (seen * seen).sum(axis=0)
            contrast = t * t * spread
            weight = contrast / (contrast + params.floor)
            weight *= np.exp(-misfit / (params.fit**2 * np.maximum(spread, 1e-6)))
            weight *= band & open_
            upsampled = alphas[k]
            alpha = upsampled + weight * (estimate - upsampled)
            outside = band & open_ & (upsampled < params.tail) & (estimate < params.tail_estimate)
            alpha[outside] = 0.0
            out[k] = alpha
        a = out[k]
        below *= 1.0 - a
        below[:3] += a * colours[k]
        below[3] += a
    return out
