"""Meeting a requested layer count by merging or splitting finished layers.

Both operations keep the composite: merging two neighbours replaces them by their own
"over" composite; splitting divides one layer's pixels into two disjoint sets (separate
connected parts first, else two colour clusters), so nothing overlaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from model.classic.pieces import box_of, quantise

MAX_AUTO = 8
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


def over(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Straight RGBA uint8 "over" of two layers, as one layer (worked out where the upper
    layer is visible; elsewhere the lower layer is kept as it is)."""
    out = lower.copy()
    box = box_of(upper[:, :, 3] > 0)
    if box is None:
        return out
    y0, y1, x0, x1 = box
    lo, up_ = lower[y0:y1, x0:x1], upper[y0:y1, x0:x1]
    la = lo[:, :, 3:4].astype(np.float32) / 255.0
    ua = up_[:, :, 3:4].astype(np.float32) / 255.0
    out_a = ua + (1.0 - ua) * la
    out_p = up_[:, :, :3].astype(np.float32) / 255.0 * ua + (1.0 - ua) * la * (
        lo[:, :, :3].astype(np.float32) / 255.0
    )
    rgb = np.where(out_a > 0, out_p / np.maximum(out_a, 1e-8), lo[:, :, :3] / 255.0)
    merged = np.concatenate([rgb, out_a], axis=-1)
    out[y0:y1, x0:x1] = quantise(merged)
    return out


def merge_to(layers: list[Layer], n: int) -> list[Layer]:
    layers = list(layers)
    while len(layers) > n:
        # The least important layer above the bottom joins the layer under it.
        i = 1 + int(np.argmin([layer.importance for layer in layers[1:]]))
        lower, upper = layers[i - 1], layers[i]
        keep = lower if i - 1 == 0 or lower.importance >= upper.importance else upper
        layers[i - 1 : i + 1] = [Layer(over(lower.rgba, upper.rgba), keep.name, keep.kind)]
    return layers


def _split_masks(layer: Layer) -> tuple[np.ndarray, np.ndarray] | None:
    """Two disjoint, non-empty pixel sets covering the layer's visible pixels."""
    visible = layer.rgba[:, :, 3] > 0
    if visible.sum() < 2:
        return None
    labels, n = ndimage.label(visible, structure=np.ones((3, 3), bool))
    if n > 1:
        areas = np.bincount(labels.ravel())
        areas[0] = 0
        biggest = labels == int(np.argmax(areas))
        return biggest, visible & ~biggest
    pixels = layer.rgba[visible][:, :4].astype(np.float32)
    if np.ptp(pixels, axis=0).max() > 0:
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
        sample = pixels if len(pixels) <= 50000 else pixels[:: len(pixels) // 50000 + 1]
        _, _, centres = cv2.kmeans(sample, 2, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
        d = ((pixels[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
        part = d.argmin(axis=1) == 0
        if 0 < part.sum() < len(part):
            first = np.zeros_like(visible)
            first[visible] = part
            return first, visible & ~first
    # One flat connected area: cut it in two halves along its longer side.
    ys, xs = np.nonzero(visible)
    if np.ptp(xs) >= np.ptp(ys):
        cut = xs < np.median(xs) if np.ptp(xs) else np.arange(xs.size) < xs.size // 2
    else:
        cut = ys < np.median(ys) if np.ptp(ys) else np.arange(ys.size) < ys.size // 2
    if not 0 < cut.sum() < cut.size:
        cut = np.arange(xs.size) < xs.size // 2
    first = np.zeros_like(visible)
    first[ys[cut], xs[cut]] = True
    return first, visible & ~first


def split_to(layers: list[Layer], n: int) -> list[Layer]:
    layers = list(layers)
    while len(layers) < n:
        # Split the most important splittable layer; foreground before background.
        order = sorted(
            range(len(layers)),
            key=lambda i: (layers[i].kind == "background", -layers[i].importance),
        )
        for i in order:
            masks = _split_masks(layers[i])
            if masks is None:
                continue
            parts = []
            for mask in masks:
                rgba = layers[i].rgba.copy()
                rgba[~mask] = 0
                parts.append(rgba)
            name, kind = layers[i].name, layers[i].kind
            layers[i : i + 1] = [Layer(parts[0], name, kind), Layer(parts[1], name, kind)]
            break
        else:
            return layers  # nothing left to split (every layer is a single pixel)
    return layers


def fit_count(layers: list[Layer], n: int | None) -> tuple[list[Layer], list[str]]:
    """Exactly `n` layers (or a sensible number when n is None) and any warnings."""
    warnings: list[str] = []
    if n is None:
        return merge_to(layers, MAX_AUTO), warnings
    if len(layers) > n:
        return merge_to(layers, n), warnings
    if len(layers) < n:
        found = len(layers)
        layers = split_to(layers, n)
        warnings.append(
            f"found {found} distinct part(s); split some of them to make the {n} layers asked for"
        )
        while len(layers) < n:
            h, w = layers[0].rgba.shape[:2]
            layers.append(Layer(np.zeros((h, w, 4), np.uint8), "Empty", "part"))
            if len(warnings) == 1:
                warnings.append("the image is too small to split further; added empty layers")
    return layers, warnings
