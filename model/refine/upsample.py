"""Bringing each layer to the picture's size (uint8, ready to be refined in place), and the
band around each layer's edges where its alpha may be re-estimated from the picture."""

from __future__ import annotations

import cv2
import numpy as np

from model.refine.coarse import as_float, extend_colour

EDGE_RANGE = 0.05  # a layer's edge: its alpha spans more than this over 3x3 model pixels


def to_size(layer: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The layer as HxWx4 uint8 at `size` (width, height); a new array, never a view.

    Colour is continued past the layer's edges first (`extend_colour`), then colour and
    alpha are resampled separately: bicubic when enlarging, area averaging when shrinking.
    A layer already at that size keeps every value (float layers are rounded to 8 bits).
    """
    if (layer.shape[1], layer.shape[0]) == size:
        if layer.dtype == np.uint8:
            return layer.copy()
        return np.rint(layer * np.float32(255)).astype(np.uint8)
    rgba = as_float(layer)
    colour = extend_colour(rgba[:, :, :3], rgba[:, :, 3])
    small = np.empty(rgba.shape, np.uint8)
    small[:, :, :3] = np.rint(colour * np.float32(255))
    small[:, :, 3] = np.rint(rgba[:, :, 3] * np.float32(255))
    enlarging = size[0] * size[1] >= layer.shape[0] * layer.shape[1]
    method = cv2.INTER_CUBIC if enlarging else cv2.INTER_AREA
    return cv2.resize(small, size, interpolation=method)  # uint8 rounds and saturates


def edge_band(layer: np.ndarray, size: tuple[int, int]) -> np.ndarray | None:
    """Where the layer's alpha changes (over 3x3 of its own pixels), grown by one of its
    pixels and brought to `size` as an HxW bool array; None when there is no edge."""
    alpha = as_float(layer)[:, :, 3]
    kernel = np.ones((3, 3), np.uint8)
    spread = cv2.dilate(alpha, kernel) - cv2.erode(alpha, kernel)
    band = (spread > EDGE_RANGE).astype(np.uint8)
    if not band.any():
        return None
    band = cv2.dilate(band, kernel)
    return cv2.resize(band, size, interpolation=cv2.INTER_NEAREST).view(bool)


def scale_factor(layer: np.ndarray, size: tuple[int, int]) -> float:
    """How much the layer is enlarged to reach `size` (the larger of the two axes)."""
    return max(size[0] / layer.shape[1], size[1] / layer.shape[0])
