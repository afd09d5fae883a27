"""Resizing the model's RGBA layers (640/1024 bucket) back to the input's size.

Colour is resized premultiplied by alpha, so fully transparent pixels (whose colour the model
leaves arbitrary) cannot bleed into edges as coloured fringes; alpha is resized on its own. Both
use Lanczos on float planes (sharp, antialiased when shrinking), are clipped to [0, 1] to remove
the filter's overshoot, and colour is then un-premultiplied and rounded to uint8.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def _resize_plane(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    image = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS), dtype=np.float32)


def resize_layer(rgba: np.ndarray, width: int, height: int) -> np.ndarray:
    """HxWx4 float in [0, 1] (straight alpha) -> height x width x 4 uint8 (straight alpha)."""
    rgba = np.clip(np.asarray(rgba, dtype=np.float32), 0.0, 1.0)
    alpha = rgba[..., 3]
    if rgba.shape[:2] == (height, width):
        out_alpha = alpha
        premultiplied = rgba[..., :3] * alpha[..., None]
    else:
        size = (width, height)
        out_alpha = np.clip(_resize_plane(alpha, size), 0.0, 1.0)
        premultiplied = np.stack(
            [_resize_plane(rgba[..., c] * alpha, size) for c in range(3)], axis=-1
        )
    premultiplied = np.clip(premultiplied, 0.0, out_alpha[..., None])
    safe = np.where(out_alpha > 0, out_alpha, 1.0)[..., None]
    colour = np.where(out_alpha[..., None] > 0, premultiplied / safe, 0.0)
    out = np.round(np.concatenate([colour, out_alpha[..., None]], axis=-1) * 255.0)
    out = out.astype(np.uint8)
    out[out[..., 3] == 0, :3] = 0  # invisible after rounding: no stray colour either
    return out
