"""The intermediate result of segmentation: foreground pieces, and small image helpers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # y0, y1, x0, x1 (end exclusive)


@dataclass
class Piece:
    """One foreground layer-to-be, stored in its bounding box on the full canvas.

    `alpha` is float32 in [0, 1]; `colour` is the layer's intended straight colour
    (float32 HxWx3 in [0, 1]) used wherever a layer above hides part of it.
    """

    kind: str  # "text" | "shape" | "image" | "subject"
    name: str
    box: Box
    alpha: np.ndarray
    colour: np.ndarray
    area: float = 0.0  # importance, in full-resolution pixels of alpha mass

    def __post_init__(self) -> None:
        if self.area == 0.0:
            self.area = float(self.alpha.sum())


def box_of(mask: np.ndarray, pad: int = 0) -> Box | None:
    """Bounding box of a boolean mask, padded and clipped to the canvas; None if empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    return (
        max(0, int(rows[0]) - pad),
        min(h, int(rows[-1]) + 1 + pad),
        max(0, int(cols[0]) - pad),
        min(w, int(cols[-1]) + 1 + pad),
    )


def union_box(boxes: Iterable[Box]) -> Box:
    """The smallest box holding all of `boxes` (at least one)."""
    y0s, y1s, x0s, x1s = zip(*boxes)
    return min(y0s), max(y1s), min(x0s), max(x1s)


def crop(array: np.ndarray, box: Box) -> np.ndarray:
    y0, y1, x0, x1 = box
    return array[y0:y1, x0:x1]


def resize(image: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """Resize to (width, height): area averaging when shrinking, linear when growing."""
    w, h = size
    if image.shape[1] == w and image.shape[0] == h:
        return image
    if nearest:
        interp = cv2.INTER_NEAREST
    elif w < image.shape[1]:
        interp = cv2.INTER_AREA
    else:
        interp = cv2.INTER_LINEAR
    src = image.astype(np.uint8) if image.dtype == bool else image
    out = cv2.resize(src, (w, h), interpolation=interp)
    return out.astype(bool) if image.dtype == bool else out


def quantise(values: np.ndarray) -> np.ndarray:
    """Float values in [0, 1] as uint8 (rounded, clipped)."""
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def border(image: np.ndarray) -> np.ndarray:
    """The outermost pixels of an image (its four edges, corners repeated), as one array."""
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])


def channel_max(values: np.ndarray) -> np.ndarray:
    """Largest of the 3 channels (ndarray.max over that short last axis is ~10x slower)."""
    return np.maximum(np.maximum(values[..., 0], values[..., 1]), values[..., 2])


def working_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def disk(radius: int) -> np.ndarray:
    r = max(1, int(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return mask
    return cv2.dilate(mask.astype(np.uint8), disk(radius)).astype(bool)


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return mask
    return cv2.erode(mask.astype(np.uint8), disk(radius)).astype(bool)


def place_over(below: np.ndarray, box, alpha: np.ndarray, colour: np.ndarray) -> None:
    """Composite a piece onto the running `below` image in place."""
    y0, y1, x0, x1 = box
    a = alpha[:, :, None]
    below[y0:y1, x0:x1] = a * colour + (1.0 - a) * below[y0:y1, x0:x1]
