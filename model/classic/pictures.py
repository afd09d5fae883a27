"""Pictures (photos, logos, illustrations) placed on a design with a smooth background."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from model.classic.background import eval_smooth
from model.classic.regions import REGION_STEP

BG_RESIDUAL = 0.04  # pixels this far from the background model are something on it
BUSY_FRACTION = 0.2  # an area this full of fast-changing pixels is a picture, not shapes
MIN_IMAGE = 2e-3  # smallest placed picture, fraction of the canvas


def is_busy(step: np.ndarray, mask: np.ndarray) -> bool:
    """Is the area under `mask` full of fast-changing pixels (a picture, not flat shapes)?"""
    return bool((step[mask] >= REGION_STEP).mean() >= BUSY_FRACTION)


def find_pictures(small, step, visible, text_boxes, coeffs) -> list[tuple]:
    """Photos and illustrations placed on a smooth background: connected areas that differ
    from the background model and are busy inside (many fast-changing pixels).

    Returns (mask, box, area) at working resolution, mask cropped to box."""
    wh, ww = visible.shape
    differs = np.abs(small - eval_smooth(coeffs, (wh, ww))).max(axis=-1) > BG_RESIDUAL
    differs &= visible
    comps, _ = ndimage.label(differs & ~text_boxes, structure=np.ones((3, 3), bool))
    min_image = max(64, int(MIN_IMAGE * ww * wh))
    plans = []
    for index, sl in enumerate(ndimage.find_objects(comps), start=1):
        if sl is None:
            continue
        inside = comps[sl] == index
        # A text box across the picture must not cut it open (the cut would be left out of
        # it, and flat parts of the photo there taken for shapes).
        joined = ndimage.binary_fill_holes(inside | text_boxes[sl])
        mask = ndimage.binary_fill_holes(joined & (inside | differs[sl]))
        area = int(mask.sum())
        if area < min_image or not is_busy(step[sl], mask):
            continue
        box = (sl[0].start, sl[0].stop, sl[1].start, sl[1].stop)
        plans.append((mask, box, area))
    return plans
