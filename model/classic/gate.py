"""Is a photo's subject cut an object a designer can use? The quality gate of `subject.py`.

A cut passes when all of these hold (measured at the cut's working size, ~320 px):
- size: it covers 2-70 % of the picture;
- one piece: its largest connected part holds >= 90 % of it;
- compact: solidity (area / convex hull area) >= 0.75, and its outline at most sqrt(3) times
  a circle's of the same area (isoperimetric ratio perimeter^2 / (4 pi area) <= 3);
- on the picture's edges: >= 90 % of its outline lies within 2 px of a colour edge stronger
  than 70 % of the picture's own (Lab gradient, so the bar follows the picture's contrast;
  an outline drawn at random through a photo scores 0.3-0.6, a pasted object ~1.0).
Thresholds were set on the synthetic object set seed 1 (`model/evaluation/objects.py`) and
checked once on seed 2 and the PSD set (notes/photo.md); scikit-image's photos were only
looked at. A cut that fails leaves the picture as one layer, with a warning that says why and
points to Object Select, which lets the user say what the object is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from model.classic.pieces import erode

MIN_AREA, MAX_AREA = 0.02, 0.70
MAIN_PIECE = 0.90
MIN_SOLIDITY = 0.75
MAX_ROUGHNESS = 3.0
MIN_EDGE = 0.90
EDGE_PERCENTILE = 70
EDGE_REACH = 2  # px either way an outline may sit from the edge it follows
FRAME = 0.02  # outline pixels this close to the frame are not judged (the cut never reaches it)

OBJECT_SELECT = "use Object Select (W) to pick one"


def no_object(reason: str = "") -> str:
    """The warning for a photo left as one layer."""
    why = f" ({reason})" if reason else ""
    return f"no clear object found{why}; the picture stays one layer: {OBJECT_SELECT}"


@dataclass
class Verdict:
    passed: bool
    reason: str  # why it failed, in words ("" when it passed)
    scores: dict[str, float]


def scores(rgb: np.ndarray, fg: np.ndarray) -> dict[str, float]:
    """The gate's measures of the cut `fg` (HxW bool) of `rgb` (HxWx3 float in [0, 1])."""
    h, w = fg.shape
    area = float(fg.mean())
    out = {"area": area, "main_piece": 0.0, "solidity": 0.0, "roughness": np.inf, "edge": 0.0}
    if not fg.any():
        return out
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8), 8)
    sizes = stats[1:, cv2.CC_STAT_AREA]
    out["main_piece"] = float(sizes.max() / sizes.sum())
    contours, _ = cv2.findContours(fg.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    hull = cv2.contourArea(cv2.convexHull(np.concatenate(contours)))
    pixels = float(fg.sum())
    out["solidity"] = min(1.0, pixels / max(hull, 1.0))
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    out["roughness"] = perimeter**2 / (4 * np.pi * pixels)
    out["edge"] = _edge_share(rgb, fg)
    return out


def _edge_share(rgb: np.ndarray, fg: np.ndarray) -> float:
    h, w = fg.shape
    lab = cv2.cvtColor(cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), 1.0), cv2.COLOR_RGB2LAB)
    gx = cv2.Sobel(lab, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(lab, cv2.CV_32F, 0, 1)
    strength = np.sqrt((gx**2 + gy**2).sum(axis=-1))
    side = 2 * EDGE_REACH + 1
    near = cv2.dilate(strength, np.ones((side, side), np.uint8))
    m = max(2, int(FRAME * min(h, w)))
    inner = np.zeros((h, w), bool)
    inner[m:-m, m:-m] = True
    outline = fg & ~erode(fg, 1) & inner
    if not outline.any() or not inner.any():
        return 0.0
    bar = np.percentile(near[inner], EDGE_PERCENTILE)
    return float((near[outline] > bar).mean())


def judge(rgb: np.ndarray, fg: np.ndarray) -> Verdict:
    s = scores(rgb, fg)
    if not MIN_AREA <= s["area"] <= MAX_AREA:
        side = "too small" if s["area"] < MIN_AREA else "most of the picture"
        return Verdict(False, f"the best guess is {side}", s)
    if s["main_piece"] < MAIN_PIECE:
        return Verdict(False, "the best guess falls apart into pieces", s)
    if s["solidity"] < MIN_SOLIDITY or s["roughness"] > MAX_ROUGHNESS:
        return Verdict(False, "the best guess is ragged", s)
    if s["edge"] < MIN_EDGE:
        return Verdict(False, "the best guess does not follow the picture's edges", s)
    return Verdict(True, "", s)
