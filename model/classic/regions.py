"""Flat-colour regions of a design: connected areas whose pixels change slowly.

Two flat areas are always separated by their (anti-aliased) edge, whose pixels change fast,
so labelling the slowly-changing pixels splits a design into its flat-colour pieces, with
gradient fills staying whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from model.classic.kind import neighbour_step
from model.classic.pieces import border

REGION_STEP = 0.03


@dataclass
class Regions:
    labels: np.ndarray  # int32 HxW, 0 = edge/unlabelled
    areas: np.ndarray  # pixels per label (index 0 unused)
    means: np.ndarray  # mean colour per label
    spread: np.ndarray  # colour standard deviation per label (largest channel)
    border: np.ndarray  # pixels per label on the image frame
    slices: list  # bounding slices per label (index i -> label i + 1)

    @property
    def count(self) -> int:
        return int(self.areas.size - 1)


def flat_regions(rgb: np.ndarray, visible: np.ndarray, step: np.ndarray | None = None) -> Regions:
    step = neighbour_step(rgb) if step is None else step
    interior = (step < REGION_STEP) & visible
    labels, n = ndimage.label(interior)
    return _with_stats(rgb, labels, n)


def carve(rgb: np.ndarray, regions: Regions, outliers: np.ndarray) -> Regions:
    """The regions with the `outliers` pixels taken out of them and labelled anew: each
    connected part of them becomes a region of its own (ids after the existing ones)."""
    parts, n = ndimage.label(outliers & (regions.labels > 0))
    if n == 0:
        return regions
    labels = np.where(parts > 0, parts + regions.count, regions.labels).astype(np.int32)
    return _with_stats(rgb, labels, regions.count + n)


def _with_stats(rgb: np.ndarray, labels: np.ndarray, n: int) -> Regions:
    flat = labels.ravel()
    areas = np.bincount(flat, minlength=n + 1).astype(np.int64)
    areas[0] = 0
    sums = np.stack(
        [np.bincount(flat, weights=rgb[:, :, c].ravel(), minlength=n + 1) for c in range(3)], -1
    )
    means = (sums / np.maximum(areas, 1)[:, None]).astype(np.float32)
    squares = np.stack(
        [np.bincount(flat, weights=rgb[:, :, c].ravel() ** 2, minlength=n + 1) for c in range(3)],
        -1,
    )
    variance = squares / np.maximum(areas, 1)[:, None] - means.astype(np.float64) ** 2
    spread = np.sqrt(np.maximum(variance, 0.0)).max(axis=1)
    on_frame = np.bincount(border(labels), minlength=n + 1)
    on_frame[0] = 0
    return Regions(labels, areas, means, spread, on_frame, ndimage.find_objects(labels))


def mean_per_label(values: np.ndarray, regions: Regions) -> np.ndarray:
    sums = np.bincount(regions.labels.ravel(), weights=values.ravel(), minlength=regions.count + 1)
    return sums / np.maximum(regions.areas, 1)
