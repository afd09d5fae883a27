"""Photos: the main subject with a soft matte, or none when the guess is not an object.

GrabCut at a small working size, seeded by a saliency guess (colour distance from the
image border, weighted by a centre prior) with the border as sure background; the cut must then
pass a quality gate (`gate.py`: size, one compact piece, an outline on the picture's own
edges), else the picture stays one layer and the warning points to Object Select; a cut that
passes is turned into a trimap and matted with pymatting's closed-form matting, then upsampled.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from scipy import ndimage

from model.classic.gate import Verdict, judge, no_object
from model.classic.pieces import Piece, box_of, dilate, erode, quantise, resize, working_size

CUT_SIDE = 320
MATTE_SIDE = 400
GRABCUT_ITERATIONS = 4


def saliency(rgb: np.ndarray) -> np.ndarray:
    """0..1 guess of what stands out: Lab distance to the nearest border colour x centre prior."""
    h, w = rgb.shape[:2]
    lab = cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2LAB)
    m = max(2, int(0.04 * min(h, w)))
    frame = np.concatenate(
        [
            lab[:m].reshape(-1, 3),
            lab[-m:].reshape(-1, 3),
            lab[:, :m].reshape(-1, 3),
            lab[:, -m:].reshape(-1, 3),
        ]
    ).astype(np.float32)
    k = min(8, len(frame))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    _, _, centres = cv2.kmeans(frame, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    distance = np.full((h, w), np.inf, np.float32)
    for c in centres:
        distance = np.minimum(distance, np.linalg.norm(lab - c, axis=-1))
    distance = cv2.GaussianBlur(distance, (0, 0), max(1.0, 0.01 * max(h, w)))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    prior = np.exp(-(((xs / w - 0.5) ** 2 + (ys / h - 0.5) ** 2) / (2 * 0.3**2)))
    sal = distance * (0.4 + 0.6 * prior)
    return sal / max(float(sal.max()), 1e-6)


def cut_subject(rgb: np.ndarray, check: Callable[[], None]) -> np.ndarray | None:
    """Boolean subject mask at the given (small) size, or None when nothing stands out."""
    h, w = rgb.shape[:2]
    sal = saliency(rgb)
    u8 = (np.clip(sal * 255, 0, 255)).astype(np.uint8)
    level, _ = cv2.threshold(u8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    mask[u8 > level] = cv2.GC_PR_FGD
    mask[u8 > min(254, level + 0.5 * (255 - level))] = cv2.GC_FGD
    m = max(1, int(0.02 * min(h, w)))
    for edge in (mask[:m], mask[-m:], mask[:, :m], mask[:, -m:]):
        edge[...] = cv2.GC_BGD
    if not ((mask == cv2.GC_PR_FGD) | (mask == cv2.GC_FGD)).any():
        return None
    image = quantise(rgb)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(image, mask, None, bgd, fgd, 1, cv2.GC_INIT_WITH_MASK)
        for _ in range(GRABCUT_ITERATIONS - 1):
            check()
            cv2.grabCut(image, mask, None, bgd, fgd, 1, cv2.GC_EVAL)
    except cv2.error:
        return None
    fg = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    fg = cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
    labels, n = ndimage.label(fg)
    if n == 0:
        return None
    areas = np.bincount(labels.ravel())[1:]
    keep = np.flatnonzero(areas >= 0.15 * areas.max()) + 1
    fg = ndimage.binary_fill_holes(np.isin(labels, keep))
    fraction = fg.mean()
    if fraction < 0.01 or fraction > 0.9:
        return None
    return fg


def matte(rgb: np.ndarray, fg: np.ndarray) -> np.ndarray:
    """Closed-form alpha matte around the boundary of `fg` (same size as `rgb`)."""
    from pymatting import estimate_alpha_cf

    h, w = fg.shape
    band = max(2, int(0.015 * max(h, w)))
    trimap = np.full((h, w), 0.5)
    trimap[erode(fg, band)] = 1.0
    trimap[~dilate(fg, band)] = 0.0
    if not (trimap == 1.0).any() or not (trimap == 0.0).any():
        return fg.astype(np.float32)
    try:
        alpha = estimate_alpha_cf(np.clip(rgb.astype(np.float64), 0.0, 1.0), trimap)
    except Exception:  # pymatting's solver can fail on degenerate trimaps; keep the cut
        return fg.astype(np.float32)
    return np.clip(alpha, 0.0, 1.0).astype(np.float32)


def subject_alpha(
    rgb: np.ndarray, alpha_in: np.ndarray, check: Callable[[], None], gated: bool = True
) -> tuple[np.ndarray | None, Verdict | None]:
    """The subject's full-resolution matte (None when there is none, or when `gated` and the
    cut fails the quality gate) and the gate's verdict on the cut (None when nothing was cut)."""
    h, w = alpha_in.shape
    cut_size = working_size(w, h, CUT_SIDE)
    small = resize(rgb, cut_size)
    visible = resize(alpha_in, cut_size)
    small = small * visible[:, :, None] + (1.0 - visible[:, :, None]) * 0.5
    fg = cut_subject(small, check)
    if fg is None:
        return None, None
    verdict = judge(small, fg)
    if gated and not verdict.passed:
        return None, verdict
    check()
    matte_size = working_size(w, h, MATTE_SIDE)
    alpha_small = matte(resize(rgb, matte_size), resize(fg, matte_size, nearest=True))
    check()
    alpha = np.clip(resize(alpha_small, (w, h)), 0.0, 1.0) * alpha_in
    alpha[alpha < 0.01] = 0.0
    return (alpha if alpha.any() else None), verdict


def segment_subject(
    rgb: np.ndarray, alpha_in: np.ndarray, check: Callable[[], None]
) -> tuple[list[Piece], np.ndarray, str]:
    """The subject piece (if any), the full-resolution coverage mask of all pieces, and when
    there is no piece the warning that says why (empty otherwise)."""
    alpha, verdict = subject_alpha(rgb, alpha_in, check)
    if alpha is None:
        reason = verdict.reason if verdict is not None else ""
        return [], np.zeros(alpha_in.shape, bool), no_object(reason)
    y0, y1, x0, x1 = box = box_of(alpha > 0)
    piece = Piece("subject", "Subject", box, alpha[y0:y1, x0:x1], rgb[y0:y1, x0:x1].copy())
    return [piece], alpha > 0, ""
