"""Lift a soft-matted object off a picture: its own colours, and the picture continued under it.

Used by the editor's extract-to-layer. The same rules as the decomposer's (compose.py): the
hole is filled from clean pixels only (never the object's anti-aliased rim), soft pixels are
unblended (the background under them is what the pixel says is there, the object's colour is
what is left), and the two layers composite back to the picture.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from model.classic.background import continue_texture
from model.classic.compose import (
    BUSY_SPREAD,
    PICTURE_SPREAD,
    closest_exact,
    required_alpha,
    unblend,
)

SOLID = 0.95  # matte values from here on are the object's own colour


def separate(rgb: np.ndarray, matte: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alpha, object colour, background colour) for an opaque picture `rgb` (HxWx3 float32 in
    [0, 1]) and the object's matte (HxW in [0, 1]). alpha is the matte, raised where no colour
    in range would reproduce a pixel; alpha * object + (1 - alpha) * background == rgb up to
    8-bit rounding."""
    alpha = np.clip(matte, 0.0, 1.0).astype(np.float32)
    touched = alpha >= 1.5 / 255
    if not touched.any():
        return alpha, rgb.copy(), rgb.copy()
    bg = continue_texture(rgb, touched)
    fg = _own_colour(rgb, alpha)
    soft = touched & (alpha < 1.0)
    if soft.any():
        bg[soft] = unblend(rgb[soft], alpha[soft], fg[soft], bg[soft], PICTURE_SPREAD, BUSY_SPREAD)
    bg = np.rint(bg * 255.0) / 255.0  # the layer stores 8 bits; solve against those
    a = alpha[touched]
    target, below = rgb[touched], bg[touched]
    need = required_alpha(target, below)
    a = np.maximum(a, np.ceil(need * 255.0 - 1e-4) / 255.0)
    a = np.rint(a * 255.0) / 255.0
    solved = (target - (1.0 - a)[:, None] * below) / np.maximum(a, 1e-6)[:, None]
    out = fg.copy()
    out[touched] = closest_exact(solved, fg[touched], a, np.ones(a.shape, bool))
    alpha = alpha.copy()
    alpha[touched] = a
    return alpha, out, bg.astype(np.float32)


def _own_colour(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The object's colour: its solid pixels as they are, each softer pixel the colour of the
    nearest solid one (the picture itself where nothing is solid)."""
    solid = alpha >= SOLID
    if not solid.any():
        return rgb.astype(np.float32).copy()
    _, (iy, ix) = ndimage.distance_transform_edt(~solid, return_indices=True)
    return rgb[iy, ix].astype(np.float32)
