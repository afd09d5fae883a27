"""Is the picture a graphic design (flat colours, crisp edges) or a photo?"""

from __future__ import annotations

import numpy as np

from model.classic.pieces import channel_max, resize, working_size

FLAT_STEP = 0.012  # a pixel whose 4 neighbours all differ by less than this is "flat"
DESIGN_FLAT_FRACTION = 0.5


def neighbour_step(rgb: np.ndarray) -> np.ndarray:
    """Largest absolute channel difference between each pixel and its 4 neighbours."""
    step = np.zeros(rgb.shape[:2], np.float32)
    dy = channel_max(np.abs(np.diff(rgb, axis=0)))
    dx = channel_max(np.abs(np.diff(rgb, axis=1)))
    step[1:] = np.maximum(step[1:], dy)
    step[:-1] = np.maximum(step[:-1], dy)
    step[:, 1:] = np.maximum(step[:, 1:], dx)
    step[:, :-1] = np.maximum(step[:, :-1], dx)
    return step


def flat_fraction(rgb: np.ndarray, alpha: np.ndarray) -> float:
    h, w = alpha.shape
    size = working_size(w, h, 256)
    small = resize(rgb, size, nearest=True)  # nearest: averaging would hide photo noise
    visible = resize(alpha, size, nearest=True) > 0.02
    if not visible.any():
        return 1.0
    flat = neighbour_step(small) < FLAT_STEP
    return float(flat[visible].mean())


def detect_kind(rgb: np.ndarray, alpha: np.ndarray) -> str:
    """ "design" or "photo"."""
    return "design" if flat_fraction(rgb, alpha) >= DESIGN_FLAT_FRACTION else "photo"
