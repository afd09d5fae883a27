"""Meeting a requested layer count by merging or splitting finished layers.

Both operations keep the composite: merging two neighbours replaces them by their own
"over" composite; splitting divides one layer's pixels into two disjoint sets (separate
connected parts first, else two colour clusters), so nothing overlaps. A
split is only taken when both parts hold as much as a piece must (MIN_PIECE of the picture in
`model.layers.solid_pixels`); when no layer splits so, fewer layers than asked for come back
(never empty or speckled ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from model.layers import min_solid_pixels, over, solid_pixels

MAX_AUTO = 8
MIN_PIECE = 0.006  # pieces smaller than this fraction of the canvas stay in the background
TEXT_WEIGHT = 3.0  # text layers are worth keeping: merge them last


@dataclass
class Layer:
    rgba: np.ndarray
    name: str
    kind: str  # "background" | "text" | "shape" | "image" | "subject" | "part"
    _importance: float | None = None

    @property
    def importance(self) -> float:
        if self._importance is None:
            mass = float(self.rgba[:, :, 3].sum(dtype=np.float64)) / 255.0
            self._importance = mass * (TEXT_WEIGHT if self.kind == "text" else 1.0)
        return self._importance


def merge_to(layers: list[Layer], n: int) -> list[Layer]:
    layers = list(layers)
    while len(layers) > n:
        # The least important layer above the bottom joins the layer under it.
        i = 1 + int(np.argmin([layer.importance for layer in layers[1:]]))
        lower, upper = layers[i - 1], layers[i]
        keep = lower if i - 1 == 0 or lower.importance >= upper.importance else upper
        layers[i - 1 : i + 1] = [Layer(over(lower.rgba, upper.rgba), keep.name, keep.kind)]
    return layers


def _split_candidates(layer: Layer):
    """Ways to divide the layer's visible pixels into two disjoint, non-empty sets, in order of
    preference: separate connected parts, two colour clusters. (Cutting one flat area in two
    halves would make the count but finds nothing: such a layer stays whole.)"""
    visible = layer.rgba[:, :, 3] > 0
    if visible.sum() < 2:
        return
    labels, n = ndimage.label(visible, structure=np.ones((3, 3), bool))
    if n > 1:
        areas = np.bincount(labels.ravel())
        areas[0] = 0
        biggest = labels == int(np.argmax(areas))
        yield biggest, visible & ~biggest
    # Colour only: the edge of a flat shape differs in alpha, not in (straight) colour, and a
    # ring of edge pixels is not a layer.
    pixels = layer.rgba[visible][:, :3].astype(np.float32)
    if np.ptp(pixels, axis=0).max() > 0:
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
        sample = pixels if len(pixels) <= 50000 else pixels[:: len(pixels) // 50000 + 1]
        _, _, centres = cv2.kmeans(sample, 2, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
        d = ((pixels[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
        part = d.argmin(axis=1) == 0
        if 0 < part.sum() < len(part):
            first = np.zeros_like(visible)
            first[visible] = part
            yield first, visible & ~first


def _split(layer: Layer) -> list[Layer] | None:
    """The layer as two layers that each hold as much as a piece must (MIN_PIECE of the
    picture, in solid pixels, so never a dust of specks), or None when no split gives two."""
    canvas = layer.rgba.shape[0] * layer.rgba.shape[1]
    least = max(min_solid_pixels(canvas), MIN_PIECE * canvas)
    for masks in _split_candidates(layer):
        parts = []
        for mask in masks:
            rgba = layer.rgba.copy()
            rgba[~mask] = 0
            parts.append(rgba)
        if all(solid_pixels(part[:, :, 3]) >= least for part in parts):
            return [Layer(part, layer.name, layer.kind) for part in parts]
    return None


def split_to(layers: list[Layer], n: int) -> list[Layer]:
    layers = list(layers)
    unsplittable: set[int] = set()  # ids of layers no split turns into two big enough parts
    while len(layers) < n:
        # Split the most important splittable layer; foreground before background.
        order = sorted(
            range(len(layers)),
            key=lambda i: (layers[i].kind == "background", -layers[i].importance),
        )
        for i in order:
            if id(layers[i]) in unsplittable:
                continue
            parts = _split(layers[i])
            if parts is None:
                unsplittable.add(id(layers[i]))
                continue
            layers[i : i + 1] = parts
            break
        else:
            return layers  # no layer splits into two big enough parts
    return layers


def fit_count(layers: list[Layer], n: int | None) -> tuple[list[Layer], list[str]]:
    """At most `n` layers (or a sensible number when n is None) and any warnings. Fewer than
    `n` only when no layer splits into two big enough parts (model.layers then says so)."""
    warnings: list[str] = []
    if n is None:
        return merge_to(layers, MAX_AUTO), warnings
    if len(layers) > n:
        return merge_to(layers, n), warnings
    if len(layers) < n:
        found = len(layers)
        layers = split_to(layers, n)
        if len(layers) > found:
            warnings.append(
                f"found {found} distinct part(s); split some of them into separate pieces or "
                f"colours to make {len(layers)} layers"
            )
    return layers, warnings
