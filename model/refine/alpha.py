"""Alpha re-estimated along each layer's edges from the full-resolution picture ("unblending").

Inside a band around a layer's edges, the picture is what the layer's colour F over what lies
below it B gives, seen through the layers above (their premultiplied colour U and
transmittance T): (P - U) / T = B + a (F - B), in premultiplied RGBA. Projected onto F - B
this gives the alpha the picture implies. Layers are estimated bottom first, each over the
refined layers below it; pixels the stack already reproduces are left alone. The work is done
per pixel in kernels.refine_rows.

The estimate is noisy where F and B are close or where the picture holds detail the
upsampled layers lack: its noise is sqrt(colour noise^2 + fit x the squared residual across
the F-B line) / (T |F - B|) (detail the layers lack is as strong along the line as across
it). A change smaller than that noise is not made, so soft, smooth alpha (which resamples
well) keeps its resampled value; a change twice as large is made in full (a sharp edge the
resampling blurred, a thin stroke it washed out). Where the estimate is confidently
zero and the resampled alpha small, the pixel is outside the layer: the halo goes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AlphaParams:
    noise: float = 0.02  # colour noise of the layers (after the drift correction)
    fit: float = 0.5  # share of the squared residual across the F-B line counted as noise
    snap: float = 0.03  # estimates within this of opaque are opaque (noise clipped at 1)
    tail: float = 0.2  # where the resampled alpha is below this...
    tail_estimate: float = 0.02  # ...and the estimate confidently below this, alpha is 0
    significance: float = 1.0  # changes below this many noise levels (3x3 mean) are not made
    detail: float = 1.5  # an edge below, blurred by resampling, adds this x its contrast...
    floor: float = 0.1  # ...above this contrast (fine texture: the misfit accounts for it)


def kernel_params(params: AlphaParams) -> np.ndarray:
    """The parameters as kernels.refine_rows takes them."""
    return np.array(
        [params.noise, params.fit, 1.0 / (1.0 - params.snap), params.tail, params.tail_estimate,
         params.significance, params.detail, params.floor],
        np.float32,
    )
