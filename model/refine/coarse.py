"""The low-resolution half of refinement: each layer's colour continued past its edges, and a
smooth per-layer colour correction ("drift") measured where the layer is seen on its own.

Both work at the model's size or smaller, so they cost little at any picture size.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

GRID_SIDE = 256  # the drift is measured on a grid at most this long
SOLO = 0.9  # a layer is "seen on its own" where its visibility is at least this
ROBUST = 0.05  # residuals this large count half: misfits (detail, wrong layers), not drift
SMOOTH = 1 / 8  # drift smoothing, as a fraction of the grid's short side
DEAD_ZONE = 0.5 / 255  # residuals within half a grey level are rounding, not drift
EXTEND_WEIGHT = 0.05  # alpha above which a pixel's own colour is kept as it is


def as_float(layer: np.ndarray) -> np.ndarray:
    if layer.dtype == np.uint8:
        return layer.astype(np.float32) * np.float32(1 / 255)
    return layer.astype(np.float32, copy=False)


def extend_colour(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Straight colour (HxWx3) continued where alpha is ~0, by push-pull: an alpha-weighted
    pyramid is reduced to one pixel, then each level is filled from the coarser one where
    its weight is small. Resampling the result cannot pull stray hidden colour into edges."""
    levels = [(colour * alpha[:, :, None], alpha)]
    while max(levels[-1][1].shape) > 1:
        num, den = levels[-1]
        height, width = den.shape
        size = (max(1, (width + 1) // 2), max(1, (height + 1) // 2))
        levels.append(
            (
                cv2.resize(num, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], 3),
                cv2.resize(den, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0]),
            )
        )
    num, den = levels[-1]
    current = num / np.maximum(den, 1e-12)[:, :, None]
    for num, den in levels[-2::-1]:
        height, width = den.shape
        up = cv2.resize(current, (width, height), interpolation=cv2.INTER_LINEAR)
        up = up.reshape(height, width, 3)
        keep = np.minimum(den * (1 / EXTEND_WEIGHT), 1.0)[:, :, None]
        own = num / np.maximum(den, 1e-12)[:, :, None]
        current = keep * own + (1.0 - keep) * up
    return np.clip(current, 0.0, 1.0).astype(np.float32)


def grid_size(picture_size: tuple[int, int], layer_sizes: Sequence[tuple[int, int]]):
    """(width, height) of the drift grid: the picture's aspect, no finer than the largest
    layer, the picture or GRID_SIDE."""
    width, height = picture_size
    finest = max(max(w, h) for w, h in layer_sizes)
    side = min(GRID_SIDE, finest, max(width, height))
    scale = side / max(width, height)
    return max(2, round(width * scale)), max(2, round(height * scale))


def _premultiplied_at(layer: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if layer.dtype == np.uint8 and size[0] * size[1] < layer.shape[0] * layer.shape[1]:
        # A large 8-bit image (the picture, or layers at full size): premultiplied and
        # shrunk in 8 bits, without a float copy of the whole image (0.5/255 is plenty here).
        premul = layer.copy()
        if layer[:, :, 3].min() < 255:
            alpha = np.ascontiguousarray(layer[:, :, 3])
            for c in range(3):
                premul[:, :, c] = cv2.multiply(layer[:, :, c], alpha, scale=1 / 255)
        small = cv2.resize(premul, size, interpolation=cv2.INTER_AREA)
        return small.astype(np.float32) * np.float32(1 / 255)
    rgba = as_float(layer)
    premul = rgba.copy()
    premul[:, :, :3] *= rgba[:, :, 3:]
    if (rgba.shape[1], rgba.shape[0]) != size:
        shrinking = size[0] * size[1] < rgba.shape[0] * rgba.shape[1]
        method = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        premul = cv2.resize(premul, size, interpolation=method)
    return np.clip(premul, 0.0, 1.0)


def drift_fields(
    picture: np.ndarray, layers: Sequence[np.ndarray], grid: tuple[int, int]
) -> list[np.ndarray | None]:
    """Per layer, a smooth colour correction (grid-sized HxWx3, or None when there is none):
    the picture's residual where the layer is seen on its own, robustly averaged over a wide
    neighbourhood and continued across the whole layer (so covered parts, which moving the
    layers above reveals, get the same correction and no seam appears)."""
    target = _premultiplied_at(picture, grid)
    stack = [_premultiplied_at(layer, grid) for layer in layers]
    height, width = target.shape[:2]
    transmit = np.ones((height, width), np.float32)
    composite = np.zeros((height, width, 3), np.float32)
    visibility = [np.empty(0, np.float32)] * len(stack)
    for k in range(len(stack) - 1, -1, -1):
        alpha = stack[k][:, :, 3]
        visibility[k] = alpha * transmit
        composite += stack[k][:, :, :3] * transmit[:, :, None]
        transmit = transmit * (1.0 - alpha)
    residual = target[:, :, :3] - composite
    residual = np.sign(residual) * np.maximum(np.abs(residual) - DEAD_ZONE, 0.0)
    size = np.sqrt((residual * residual).sum(axis=2))
    robust = 1.0 / (1.0 + (size / ROBUST) ** 2)
    sigma = max(1.0, SMOOTH * min(width, height))
    fields: list[np.ndarray | None] = []
    for k in range(len(stack)):
        seen = visibility[k]
        weight = np.where(seen >= SOLO, seen * robust, 0.0).astype(np.float32)
        total = float(weight.sum())
        if total < 1.0 or not residual.any():
            fields.append(None)
            continue
        # straight colour error = residual / visibility; weighted by visibility this is the
        # residual itself
        num = weight[:, :, None] * residual / np.maximum(seen, 1e-6)[:, :, None]
        mean = num.sum(axis=(0, 1)) / total
        num = cv2.GaussianBlur(num, (0, 0), sigma)
        den = cv2.GaussianBlur(weight, (0, 0), sigma)[:, :, None]
        prior = 1e-3  # where no pixel nearby is seen alone, the layer's mean correction
        field = ((num + prior * mean) / (den + prior)).astype(np.float32)
        fields.append(field if np.abs(field).max() >= DEAD_ZONE else None)
    return fields
