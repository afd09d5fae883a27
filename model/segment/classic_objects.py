"""Segment Anything for the classic decomposer's photos: the main objects as matted pieces,
in place of the saliency guess, when segmentation weights are downloaded.

Each object is the union of its mask and its matte, and what it covers in the background (to
be completed behind it) is that plus a small margin, so no ghost of its rim stays behind.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from model.classic.pieces import Piece, box_of
from model.segment.matte import matte
from model.segment.proposals import main_objects_if_weights

COVER_MARGIN = 0.01  # of the picture's longer side, around each object in the background


def object_pieces(
    rgb: np.ndarray, alpha_in: np.ndarray, check: Callable[[], None]
) -> tuple[list[Piece], np.ndarray] | None:
    """(pieces, covered) as `model.classic.subject.segment_subject` returns them, for `rgb`
    (float32 HxWx3 in [0, 1]); None when no segmentation weights are present or no object
    passes, so the caller keeps its own method."""
    rgb8 = np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
    masks = main_objects_if_weights(rgb8)
    check()
    if not masks:
        return None
    h, w = alpha_in.shape
    pad = max(2, round(COVER_MARGIN * max(h, w)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pad + 1, 2 * pad + 1))
    pieces, covered = [], np.zeros((h, w), bool)
    for i, mask in enumerate(masks):
        alpha = matte(rgb8, mask) * alpha_in
        alpha[alpha < 0.01] = 0.0
        check()
        box = box_of(alpha > 0)
        if box is None:
            continue
        y0, y1, x0, x1 = box
        name = "Subject" if i == 0 else f"Object {i + 1}"
        pieces.append(Piece("subject", name, box, alpha[y0:y1, x0:x1].astype(np.float32),
                            rgb[y0:y1, x0:x1].copy()))
        covered |= cv2.dilate((alpha > 0).astype(np.uint8), kernel) > 0
    if not pieces:
        return None
    return pieces, covered
