"""Soft alpha by colour unmixing: how much of colour F over colour B makes each pixel."""

from __future__ import annotations

import numpy as np

MIN_CONTRAST = 0.06  # below this |F - B| the projection is noise; callers use a hard mask
OFF_LINE = 0.1  # pixels this far from the B..F segment are not a mix of the two


def unmix(
    image: np.ndarray, below: np.ndarray, colour: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, reliable): alpha = projection of (I - B) onto (F - B), clipped to [0, 1].

    Pixels that are not on the segment between B and F get alpha 0; `reliable` is False
    where F and B are too close for the projection to mean anything.
    """
    direction = colour - below
    norm2 = (direction * direction).sum(axis=-1)
    reliable = norm2 >= MIN_CONTRAST**2
    alpha = ((image - below) * direction).sum(axis=-1) / np.maximum(norm2, 1e-8)
    alpha = np.clip(alpha, 0.0, 1.0)
    off = np.abs(image - (below + alpha[..., None] * direction)).max(axis=-1)
    alpha[off > OFF_LINE] = 0.0
    alpha[~reliable] = 0.0
    return alpha.astype(np.float32), reliable
