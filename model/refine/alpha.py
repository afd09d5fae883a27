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

import cv2
import numpy as np

EXACT = 0.5 / 255 + 2e-5  # within half a grey level: the pixel is already reproduced


@dataclass(frozen=True)
class AlphaParams:
    noise: float = 0.02  # colour noise of the layers: the estimate's noise is this / (T |F - B|)
    fit: float = 0.5  # share of the local residual across the F-B line counted as noise
    snap: float = 0.03  # estimates within this of opaque are opaque (noise clipped at 1)
    tail: float = 0.2  # where the upsampled alpha is below this...
    tail_estimate: float = 0.02  # ...and the estimate confidently below this, it is 0


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
            # A change smaller than the estimate's own noise is not made (smooth, soft alpha
            # resamples well); one twice as large is made in full (a blurred sharp edge).
            # The estimate's noise: the layers' colour noise, plus what the picture shows off
            # the F-B line nearby (detail the upsampled layers lack is as strong along it).
            upsampled = alphas[k]
            local = cv2.blur(misfit, (3, 3), borderType=cv2.BORDER_REPLICATE)
            noise = np.sqrt(params.noise**2 + local * params.fit) / np.maximum(
                t * np.sqrt(spread), 1e-6
            )
            change = np.abs(estimate - upsampled)
            weight = np.clip(change / noise - 1.0, 0.0, 1.0)
            weight *= band & open_
            alpha = upsampled + weight * (estimate - upsampled)
            outside = (
                (weight > 0.5) & (upsampled < params.tail) & (estimate < params.tail_estimate)
            )
            alpha[outside] = 0.0
            out[k] = alpha
        a = out[k]
        below *= 1.0 - a
        below[:3] += a * colours[k]
        below[3] += a
    return out
