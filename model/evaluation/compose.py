"""Exact "over" compositing of straight-alpha RGBA uint8 layers (index 0 = bottom).

One definition shared by the dataset writers (composite.png is the flatten of the
ground-truth layers, so they reproduce it exactly), the merge edits and PSNR.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def over_premultiplied(layers: Sequence[np.ndarray]) -> np.ndarray:
    """Premultiplied float32 HxWx4 in [0, 1] of the layers stacked bottom first."""
    if len(layers) == 0:
        raise ValueError("nothing to composite: the stack has no layers")
    height, width = layers[0].shape[:2]
    out = np.zeros((height, width, 4), np.float32)
    scale = np.float32(1.0 / 255.0)
    for layer in layers:
        if layer.shape != (height, width, 4) or layer.dtype != np.uint8:
            raise ValueError(f"layer {layer.dtype} {layer.shape} in a {width}x{height} RGBA stack")
        if not layer[:, :, 3].any():
            continue
        src = layer.astype(np.float32)
        src *= scale
        alpha = src[:, :, 3:4]
        out *= 1.0 - alpha
        src[:, :, :3] *= alpha
        out += src
    return out


def unpremultiply(premul: np.ndarray) -> np.ndarray:
    """Premultiplied float in [0, 1] -> straight RGBA uint8 (transparent pixels are 0)."""
    alpha = premul[:, :, 3:4]
    out = np.zeros(premul.shape, np.float32)
    np.divide(premul[:, :, :3], alpha, out=out[:, :, :3], where=alpha > 0)
    out[:, :, 3:] = alpha
    out *= 255.0
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def flatten(layers: Sequence[np.ndarray]) -> np.ndarray:
    """The straight-alpha RGBA uint8 composite of the layers (bottom first)."""
    return unpremultiply(over_premultiplied(layers))


def bbox(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of the pixels with alpha > 0, or None when there are none."""
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(alpha.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
