"""Resizing the model's RGBA layers (640/1024 bucket) back to the input's size.

Colour is resized premultiplied by alpha, so fully transparent pixels (whose colour the model
leaves arbitrary) cannot bleed into edges as coloured fringes; alpha is resized in the same pass
as a fourth plane. Enlarging uses Lanczos (8x8 taps, sharp edges); shrinking uses area averaging
(antialiased, no ringing). Results are clipped to [0, 1] (Lanczos overshoots at hard edges),
colour to at most alpha, then colour is un-premultiplied and everything rounded to uint8.
OpenCV does it, plane by plane: one 960x640 layer to 6000x4000 took 2-3 s on this loaded 2-core
machine against 6.6-7.8 s with Pillow's float ("F") planes.
"""

from __future__ import annotations

import cv2
import numpy as np


def resize_layer(rgba: np.ndarray, width: int, height: int) -> np.ndarray:
    """HxWx4 float in [0, 1] (straight alpha) -> height x width x 4 uint8 (straight alpha)."""
    rgba = np.clip(np.asarray(rgba, dtype=np.float32), 0.0, 1.0)
    premultiplied = rgba.copy()
    premultiplied[..., :3] *= rgba[..., 3:]
    if rgba.shape[:2] != (height, width):
        enlarging = width * height >= rgba.shape[0] * rgba.shape[1]
        method = cv2.INTER_LANCZOS4 if enlarging else cv2.INTER_AREA
        premultiplied = cv2.resize(premultiplied, (width, height), interpolation=method)
    # Per contiguous plane with OpenCV: numpy on strided 4-channel views was 10x slower.
    *colours, alpha = cv2.split(premultiplied)
    alpha = np.clip(alpha, 0.0, 1.0)
    alpha8 = cv2.convertScaleAbs(alpha, alpha=255.0)  # rounds and saturates to uint8
    safe_alpha = np.maximum(alpha, 1e-6)
    hidden = alpha8 == 0  # invisible after rounding: no stray colour either
    planes = []
    for colour in colours:
        colour = cv2.divide(np.clip(colour, 0.0, alpha), safe_alpha)
        colour8 = cv2.convertScaleAbs(colour, alpha=255.0)
        colour8[hidden] = 0
        planes.append(colour8)
    return cv2.merge([*planes, alpha8])
