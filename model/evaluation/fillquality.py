"""How much a hole fill looks like what it replaced, by patch statistics rather than pixel error.

A fill cannot know what was behind an object, so pixel error (L1 to the truth) rewards a
smooth blur, the mean of every guess. What a viewer sees is whether the fill has the
picture's texture. Three measures over the hole, against the true content there:
- `patch_distance`: bidirectional nearest-patch distance (Simakov et al. 2008, "Summarizing
  visual data using bidirectional similarity"): every 7x7 patch of the fill has a close patch
  in the truth (nothing invented) and every patch of the truth a close one in the fill
  (nothing lost); mean squared difference per value, in [0, 1] units, both directions averaged;
- `gradient_histogram`: L1 distance between the histograms of gradient magnitude of fill and
  truth in the hole (0 same, 2 disjoint); a smooth blob piles its gradients into the low bins;
- `gradient_ratio`: mean gradient magnitude of the fill over the truth's (1 = as busy; a
  smooth fill is well under 1).
"""

from __future__ import annotations

import cv2
import numpy as np

PATCH = 7
STRIDE = 3
MAX_PATCHES = 4000
BINS = np.concatenate([[0.0], np.geomspace(0.002, 1.0, 15)])


def _patches(image: np.ndarray, hole: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    r = PATCH // 2
    h, w = hole.shape
    ys, xs = np.nonzero(hole[r : h - r : STRIDE, r : w - r : STRIDE])
    ys, xs = ys * STRIDE + r, xs * STRIDE + r
    if ys.size > MAX_PATCHES:
        pick = rng.choice(ys.size, MAX_PATCHES, replace=False)
        ys, xs = ys[pick], xs[pick]
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    return image[ys[:, None] + dy.ravel(), xs[:, None] + dx.ravel()].reshape(ys.size, -1)


def _nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each row of a, the squared distance to its nearest row of b (in blocks)."""
    b2 = (b * b).sum(axis=1)
    out = np.empty(a.shape[0])
    for i in range(0, a.shape[0], 1024):
        block = a[i : i + 1024]
        d = (block * block).sum(axis=1)[:, None] + b2[None, :] - 2.0 * block @ b.T
        out[i : i + 1024] = np.maximum(d.min(axis=1), 0.0)
    return out


def patch_distance(fill: np.ndarray, truth: np.ndarray, hole: np.ndarray, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    a = _patches(fill.astype(np.float64), hole, rng)
    b = _patches(truth.astype(np.float64), hole, rng)
    if a.size == 0 or b.size == 0:
        return 0.0
    values = a.shape[1]
    return float((_nearest(a, b).mean() + _nearest(b, a).mean()) / (2 * values))


def _gradient(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image.astype(np.float32), cv2.COLOR_RGB2GRAY)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    return np.sqrt(gx * gx + gy * gy)


def gradient_scores(fill: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    inner = cv2.erode(hole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    if not inner.any():
        return {"gradient_histogram": 0.0, "gradient_ratio": 1.0}
    gf, gt = _gradient(fill)[inner], _gradient(truth)[inner]
    hf = np.histogram(np.clip(gf, 0, 1), BINS)[0] / gf.size
    ht = np.histogram(np.clip(gt, 0, 1), BINS)[0] / gt.size
    return {
        "gradient_histogram": float(np.abs(hf - ht).sum()),
        "gradient_ratio": float(gf.mean() / max(gt.mean(), 1e-6)),
    }


def fill_scores(fill: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    """All measures of a fill (HxWx3 float in [0, 1]) against the truth in `hole`."""
    l1 = float(np.abs(fill - truth)[hole].mean()) if hole.any() else 0.0
    scores = {"patch_distance": patch_distance(fill, truth, hole)}
    return {**scores, **gradient_scores(fill, truth, hole), "l1": l1}
