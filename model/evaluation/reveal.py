"""What a designer sees after a decomposition, the moment they hide or move a layer.

- **Reveal test**: hide every predicted layer but the bottom one and compare it with the true
  background over the area the decomposer took out of it (where any layer above the bottom one
  has alpha > 0). The true background is the ground truth's bottom layer plus the true layers the
  decomposer left in its bottom layer (less than half of their visible alpha mass taken out), so
  a tint, a shadow or a missed element that stays in the background is not counted as a reveal
  error. Both are seen over mid
  grey (a transparent bottom layer shows what lies under the canvas).
  - `reveal_l1`: mean absolute RGB difference in [0, 1] over the removed area;
  - `outline`: the share of pixels in a band of `BAND` px either side of the removed area's
    outline where the bottom layer's grey-level gradient magnitude exceeds the true background's
    by more than `OUTLINE_LEVELS` grey levels (a ghost of the removed element's edge).
- **Edge colour** (`edge_l1`): for each true element layer, the predicted layer above the bottom
  with the highest soft IoU with it (at least `MATCH_IOU`); over the true layer's soft-edge
  pixels (0 < alpha < 255) where the predicted layer shows (alpha > 0), the mean absolute RGB
  difference in [0, 1] between the two layers' straight colours.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from model.evaluation.compose import over_premultiplied
from model.evaluation.metrics import soft_iou

BAND = 3  # pixels either side of the removed area's outline
OUTLINE_LEVELS = 8.0  # grey levels of gradient magnitude above the truth's that show an edge
LEFT_IN = 0.5  # a true layer with less of its alpha mass than this taken out stayed behind
MATCH_IOU = 0.5  # a predicted layer must overlap a true one this well to be compared with it
GREY = 0.5  # what a transparent background shows


@dataclass
class RevealScore:
    removed: float  # share of the canvas taken out of the bottom layer
    reveal_l1: float | None  # None when nothing was taken out
    outline: float | None
    edge_l1: float | None  # None when no true element was matched
    edge_pixels: int = 0
    matched: int = 0
    elements: int = 0

    def to_json(self) -> dict:
        return {
            "removed": round(self.removed, 5),
            "reveal_l1": _round(self.reveal_l1),
            "outline": _round(self.outline),
            "edge_l1": _round(self.edge_l1),
            "edge_pixels": self.edge_pixels,
            "matched": self.matched,
            "elements": self.elements,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 5)


def _on_grey(layers: Sequence[np.ndarray]) -> np.ndarray:
    """RGB float32 in [0, 1] of the layers' composite over mid grey."""
    premul = over_premultiplied(layers)
    return premul[:, :, :3] + (1.0 - premul[:, :, 3:]) * GREY


def _gradient(rgb: np.ndarray) -> np.ndarray:
    """Grey-level (0..255) gradient magnitude by central differences."""
    grey = (rgb @ np.array([0.299, 0.587, 0.114], np.float32)) * 255.0
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=1, borderType=cv2.BORDER_REPLICATE) / 2.0
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=1, borderType=cv2.BORDER_REPLICATE) / 2.0
    return np.hypot(gx, gy)


def outline_band(removed: np.ndarray, width: int = BAND) -> np.ndarray:
    """Pixels within `width` px of the removed area's outline, on either side."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    mask = removed.astype(np.uint8)
    grown = cv2.dilate(mask, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    shrunk = cv2.erode(mask, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=1)
    return (grown > 0) & (shrunk == 0)


def outline_visibility(shown: np.ndarray, truth: np.ndarray, band: np.ndarray) -> float | None:
    """Share of `band` where `shown` (RGB [0, 1]) has an edge `truth` does not have."""
    if not band.any():
        return None
    excess = _gradient(shown.astype(np.float32)) - _gradient(truth.astype(np.float32))
    return float((excess[band] > OUTLINE_LEVELS).mean())


def true_background(
    gt: Sequence[np.ndarray], taken_alpha: np.ndarray
) -> tuple[np.ndarray, list[int]]:
    """The truth's bottom layer with the true layers the decomposer left in its bottom layer
    (RGB over grey), and the indices of the true layers it took out. A true layer counts as
    taken out when at least `LEFT_IN` of its visible alpha mass (what the layers above it do
    not hide) lies under the predicted upper layers' alpha (`taken_alpha`, [0, 1]); a layer
    hidden entirely counts by where it lies."""
    kept, taken = [gt[0]], []
    hidden = np.zeros(taken_alpha.shape, np.float64)  # how much the layers above hide
    visible = []
    for layer in reversed(gt[1:]):
        alpha = layer[:, :, 3].astype(np.float64) / 255.0
        visible.append(alpha * (1.0 - hidden))
        hidden = alpha + (1.0 - alpha) * hidden
    for index, (layer, seen) in enumerate(zip(gt[1:], reversed(visible)), start=1):
        weight = seen if seen.sum() > 0 else layer[:, :, 3].astype(np.float64)
        mass = weight.sum()
        if mass > 0 and (weight * taken_alpha).sum() >= LEFT_IN * mass:
            taken.append(index)
        else:
            kept.append(layer)
    return _on_grey(kept), taken


def _edge_colour(
    pred: Sequence[np.ndarray], gt: Sequence[np.ndarray]
) -> tuple[float | None, int, int]:
    """(edge L1, soft-edge pixels compared, true elements matched)."""
    total, pixels, matched = 0.0, 0, 0
    for layer in gt[1:]:
        if len(pred) < 2 or not layer[:, :, 3].any():
            continue
        ious = [soft_iou(p, layer) for p in pred[1:]]
        best = int(np.argmax(ious))
        if ious[best] < MATCH_IOU:
            continue
        matched += 1
        other = pred[1 + best]
        a_gt = layer[:, :, 3]
        edge = (a_gt > 0) & (a_gt < 255) & (other[:, :, 3] > 0)
        if not edge.any():
            continue
        diff = np.abs(other[:, :, :3][edge].astype(np.int32) - layer[:, :, :3][edge])
        total += float(diff.sum()) / (3 * 255.0)
        pixels += int(edge.sum())
    return (total / pixels if pixels else None), pixels, matched


def reveal_score(pred: Sequence[np.ndarray], gt: Sequence[np.ndarray]) -> RevealScore:
    """The reveal and edge-colour figures of one predicted stack against its ground truth."""
    h, w = gt[0].shape[:2]
    taken_alpha = np.zeros((h, w), np.uint8)
    for layer in pred[1:]:
        np.maximum(taken_alpha, layer[:, :, 3], out=taken_alpha)
    removed = taken_alpha > 0
    edge_l1, edge_pixels, matched = _edge_colour(pred, gt)
    score = RevealScore(
        removed=float(removed.mean()),
        reveal_l1=None,
        outline=None,
        edge_l1=edge_l1,
        edge_pixels=edge_pixels,
        matched=matched,
        elements=sum(1 for layer in gt[1:] if layer[:, :, 3].any()),
    )
    if removed.any():
        truth, _ = true_background(gt, taken_alpha.astype(np.float64) / 255.0)
        shown = _on_grey(pred[:1])
        score.reveal_l1 = float(np.abs(shown - truth)[removed].mean())
        score.outline = outline_visibility(shown, truth, outline_band(removed))
    return score


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 5) if present else None


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 5) if present else None


def summarise(scores: Sequence[tuple[str, RevealScore]]) -> dict:
    """Means (and the outline's median) over all samples and per group (a background kind)."""

    def figures(group: list[RevealScore]) -> dict:
        return {
            "samples": len(group),
            "reveal_l1": _mean(s.reveal_l1 for s in group),
            "outline_mean": _mean(s.outline for s in group),
            "outline_median": _median(s.outline for s in group),
            "edge_l1": _mean(s.edge_l1 for s in group),
            "matched": sum(s.matched for s in group),
            "elements": sum(s.elements for s in group),
        }

    groups: dict[str, list[RevealScore]] = {}
    for kind, score in scores:
        groups.setdefault(kind, []).append(score)
    out = {"all": figures([s for _, s in scores])}
    for kind in sorted(groups):
        out[kind] = figures(groups[kind])
    return out


def background_kinds(dataset: Path) -> dict[str, str]:
    """Sample name -> its background kind ("flat", "gradient", "texture", "photo") from a
    synthetic dataset's dataset.json; empty for other datasets (their samples count as "other")."""
    index = Path(dataset) / "dataset.json"
    try:
        info = json.loads(index.read_text())
        return {
            s["name"]: s["layers"][0].split(":", 1)[1]
            for s in info["samples"]
            if s.get("layers") and str(s["layers"][0]).startswith("background:")
        }
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}
