"""Any layer to text: read its words with OCR, then fit the font (`fit_outcome`)."""

from __future__ import annotations

import numpy as np

from model.text_spec import TextSpec
from model.textfit.fit import FitOutcome, fit_outcome

MARGIN = 16  # px of empty border kept around the layer's pixels for the OCR


def _backdrop(rgba: np.ndarray) -> np.ndarray:
    """The layer over a plain background that contrasts with its ink, float RGB in [0, 1]."""
    rgb = rgba[:, :, :3].astype(np.float32) / 255.0
    alpha = rgba[:, :, 3:].astype(np.float32) / 255.0
    ink = rgb[alpha[:, :, 0] > 0.5]
    luma = float((ink @ np.array([0.299, 0.587, 0.114], np.float32)).mean()) if ink.size else 0.0
    paper = 0.0 if luma > 0.5 else 1.0
    return rgb * alpha + paper * (1.0 - alpha)


def fit_layer_outcome(rgba: np.ndarray, exclude_families=()) -> FitOutcome:
    """OCR on the layer's pixels (over a contrasting plain background), then the font fit."""
    from model.classic.text import TextLine, detect_text

    alpha = rgba[:, :, 3]
    rows = np.flatnonzero(alpha.max(axis=1) > 0)
    cols = np.flatnonzero(alpha.max(axis=0) > 0)
    if rows.size == 0:
        return FitOutcome(None, "the layer is empty")
    h, w = alpha.shape
    y0, y1 = max(0, rows[0] - MARGIN), min(h, rows[-1] + 1 + MARGIN)
    x0, x1 = max(0, cols[0] - MARGIN), min(w, cols[-1] + 1 + MARGIN)
    crop = rgba[y0:y1, x0:x1]
    lines = [
        TextLine((b[0] + y0, b[1] + y0, b[2] + x0, b[3] + x0), t.text, t.score)
        for t in detect_text(_backdrop(crop))
        for b in (t.box,)
    ]
    return fit_outcome(rgba, lines, exclude_families)


def fit_layer(rgba: np.ndarray) -> TextSpec | None:
    """The layer as live text (HxWx4 uint8, straight alpha), or None when it should stay
    pixels: no words read, low OCR confidence, or no installed font re-renders it at soft
    IoU >= 0.85 (`fit_layer_outcome(rgba).reason` says which)."""
    return fit_layer_outcome(rgba).spec
