"""Exact "over" compositing of straight-alpha RGBA uint8 layers (index 0 = bottom).

One definition shared by the dataset writers (composite.png is the flatten of the
ground-truth layers, so they reproduce it exactly), the merge edits and PSNR.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _over_planes(layers: Sequence[np.ndarray]) -> np.ndarray:
    """Premultiplied float32 (4, H, W) planes of the layers stacked bottom first.

    Planar, so that every step is a contiguous array operation."""
    if len(layers) == 0:
        raise ValueError("nothing to composite: the stack has no layers")
    height, width = layers[0].shape[:2]
    out = np.zeros((4, height, width), np.float32)
    for layer in layers:
        if layer.shape != (height, width, 4) or layer.dtype != np.uint8:
            raise ValueError(f"layer {layer.dtype} {layer.shape} in a {width}x{height} RGBA stack")
        if not layer[:, :, 3].any():
            continue
        planes = layer.transpose(2, 0, 1).astype(np.float32)
        planes *= np.float32(1.0 / 255.0)
        alpha = planes[3]
        out *= 1.0 - alpha
        planes[:3] *= alpha
        out += planes
    return out


def over_premultiplied(layers: Sequence[np.ndarray]) -> np.ndarray:
    """Premultiplied float32 HxWx4 in [0, 1] of the layers stacked bottom first."""
    return _over_planes(layers).transpose(1, 2, 0)


def _straight_uint8(planes: np.ndarray) -> np.ndarray:
    alpha = planes[3]
    out = np.zeros_like(planes)
    np.divide(planes[:3], alpha, out=out[:3], where=alpha > 0)
    out[3] = alpha
    out *= 255.0
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return np.ascontiguousarray(out.astype(np.uint8).transpose(1, 2, 0))


def unpremultiply(premul: np.ndarray) -> np.ndarray:
    """Premultiplied float HxWx4 in [0, 1] -> straight RGBA uint8 (transparent pixels are 0)."""
    return _straight_uint8(np.asarray(premul, np.float32).transpose(2, 0, 1))


def flatten(layers: Sequence[np.ndarray]) -> np.ndarray:
    """The straight-alpha RGBA uint8 composite of the layers (bottom first)."""
    return _straight_uint8(_over_planes(layers))


def bbox(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of the pixels with alpha > 0, or None when there are none."""
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(alpha.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
