"""What each pixel shows, and completing shapes under the pieces that hide part of them."""

from __future__ import annotations

import cv2
import numpy as np

from model.classic.regions import Regions

CONVEX_SLACK = 0.03  # a form that shows this little background or lower piece is accepted


def depth_map(
    regions: Regions, background: set[int], stack: list[set[int]], textured: bool
) -> np.ndarray:
    """Working-resolution map of what each pixel shows: -2 background, i >= 0 the i-th piece
    from the bottom (text above all), -3 a flat area that is no piece, -1 edges (-3 too over
    a textured background, where edges are mostly the background's own detail)."""
    lut = np.full(regions.count + 1, -3, np.int32)
    lut[list(background)] = -2
    for i, labels in enumerate(stack):
        lut[list(labels)] = i
    lut[0] = -3 if textured else -1
    return lut[regions.labels]


def convex_hull(mask: np.ndarray) -> np.ndarray:
    """The smallest convex area holding every pixel of a non-empty mask."""
    hull = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(cv2.findNonZero(mask.astype(np.uint8))), 1)
    return hull > 0


def complete_convex(solid: np.ndarray, zmap: np.ndarray, z: int, s: float, origin) -> np.ndarray:
    """A rectangle or convex shape partly hidden by pieces above it is completed under them:
    its bounding box, else its convex hull, is added where no background or lower piece shows
    (if they show, the shape is not that form)."""
    if solid.sum() < 16:
        return solid
    x, y, bw, bh = cv2.boundingRect(cv2.findNonZero(solid.astype(np.uint8)))
    rect = np.zeros(solid.shape, bool)
    rect[y : y + bh, x : x + bw] = True
    for form in (rect, convex_hull(solid)):
        extra = form & ~solid
        if not extra.any():
            return solid
        ys, xs = np.nonzero(extra)
        sy = np.clip(((ys + origin[0]) * s).astype(int), 0, zmap.shape[0] - 1)
        sx = np.clip(((xs + origin[1]) * s).astype(int), 0, zmap.shape[1] - 1)
        shown = zmap[sy, sx]
        against = (shown == -2) | (shown == -3) | ((shown >= 0) & (shown < z))
        if against.sum() <= CONVEX_SLACK * form.sum():
            out = solid.copy()
            out[ys[~against], xs[~against]] = True
            return out
    return solid
