"""The LayerD evaluation protocol, implemented from its description.

Layers are full-canvas straight-alpha RGBA uint8 arrays, bottom first, read as values in [0, 1].

- RGB L1 of a (pred, gt) pair: over the pixels where the ground-truth alpha is > 0, the mean
  absolute RGB difference (the predicted alpha is ignored); 0 when the ground truth is empty.
- Alpha soft IoU: sum(min(a_pred, a_gt)) / sum(max(a_pred, a_gt)); 0 when the union is empty.
- Pair cost: (RGB L1 + (1 - IoU)) / 2.
- Pre-grouping (both stacks): repeatedly take every remaining layer whose hard mask (alpha > 0)
  overlaps no remaining layer above it, composite that set into one layer (they are disjoint, so
  this changes no pixel of the composite) and put it on top; the rest continues below.
- Order-aware DTW over the cost matrix: a monotone path from the bottom pair to the top pair with
  steps (1, 1), (1, 0), (0, 1) (several-to-one both ways), minimal total cost, diagonal preferred
  on ties. The reported RGB L1 and IoU are the means over the path's pairs.
- Merge edits: up to k times, greedily apply the single merge of two neighbouring layers, on the
  predicted or the ground-truth side, that lowers the aligned mean cost the most, then re-align.
  When no merge lowers it, the sample's last value is carried forward.

Speed: every pair term is computed on the pixels that can contribute (the ground truth's mask
for L1, the intersection of bounding boxes for IoU), and a merge only computes the new row or
column of the cost matrix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from model.evaluation.compose import bbox, flatten

MAX_MERGES = 5
PSNR_CAP_DB = 100.0  # reported for a pixel-exact reconstruction
_IMPROVES = 1e-9  # a merge must lower the mean cost by more than this to count


class _Layer:
    """One layer with what the pair terms need, computed once."""

    def __init__(self, rgba: np.ndarray) -> None:
        if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
            raise ValueError(f"expected an HxWx4 uint8 layer, got {rgba.dtype} {rgba.shape}")
        self.rgba = rgba
        self.rgb = cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB)
        self.alpha = cv2.extractChannel(rgba, 3)
        self.box = bbox(self.alpha)
        self.alpha_sum = int(self.alpha.sum(dtype=np.int64))
        self.mask = (self.alpha > 0).view(np.uint8)


def _l1(pred: _Layer, gt: _Layer) -> float:
    if gt.box is None:
        return 0.0
    y0, y1, x0, x1 = gt.box
    diff = cv2.absdiff(pred.rgb[y0:y1, x0:x1], gt.rgb[y0:y1, x0:x1])
    means = cv2.mean(diff, mask=gt.mask[y0:y1, x0:x1])
    return (means[0] + means[1] + means[2]) / (3.0 * 255.0)


def _iou(pred: _Layer, gt: _Layer) -> float:
    inter = 0
    if pred.box is not None and gt.box is not None:
        y0, y1 = max(pred.box[0], gt.box[0]), min(pred.box[1], gt.box[1])
        x0, x1 = max(pred.box[2], gt.box[2]), min(pred.box[3], gt.box[3])
        if y0 < y1 and x0 < x1:
            both = cv2.min(pred.alpha[y0:y1, x0:x1], gt.alpha[y0:y1, x0:x1])
            inter = int(cv2.sumElems(both)[0])
    union = pred.alpha_sum + gt.alpha_sum - inter
    return inter / union if union > 0 else 0.0


def rgb_l1(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean absolute RGB difference in [0, 1] over the ground truth's alpha > 0 pixels."""
    return _l1(_Layer(pred), _Layer(gt))


def soft_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """sum(min(alphas)) / sum(max(alphas)); 0 when both are empty."""
    return _iou(_Layer(pred), _Layer(gt))


def pair_cost(pred: np.ndarray, gt: np.ndarray) -> float:
    return (rgb_l1(pred, gt) + 1.0 - soft_iou(pred, gt)) / 2.0


def _overlaps(a: _Layer, b: _Layer) -> bool:
    if a.box is None or b.box is None:
        return False
    y0, y1 = max(a.box[0], b.box[0]), min(a.box[1], b.box[1])
    x0, x1 = max(a.box[2], b.box[2]), min(a.box[3], b.box[3])
    if y0 >= y1 or x0 >= x1:
        return False
    return bool(cv2.countNonZero(cv2.bitwise_and(a.mask[y0:y1, x0:x1], b.mask[y0:y1, x0:x1])))


def _joint_box(layers: Sequence[_Layer]) -> tuple[int, int, int, int] | None:
    boxes = [layer.box for layer in layers if layer.box is not None]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        max(b[1] for b in boxes),
        min(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _merge(layers: Sequence[_Layer]) -> _Layer:
    """The layers flattened into one ("over"). Only the upper layers' joint bounding box needs
    compositing; elsewhere the bottom layer shows as it is."""
    out = np.zeros(layers[0].rgba.shape, np.uint8)
    _paste_owned(out, layers[0])
    box = _joint_box(layers[1:])
    if box is not None:
        y0, y1, x0, x1 = box
        out[y0:y1, x0:x1] = flatten([layer.rgba[y0:y1, x0:x1] for layer in layers])
    return _Layer(out)


def _select(layers: Sequence[_Layer]) -> _Layer:
    """Composite of layers whose hard masks are disjoint: each pixel comes from its one owner."""
    if len(layers) == 1:
        return layers[0]
    out = np.zeros(layers[0].rgba.shape, np.uint8)
    for layer in layers:
        _paste_owned(out, layer)
    return _Layer(out)


def _paste_owned(out: np.ndarray, layer: _Layer) -> None:
    """Copy the layer's pixels into `out` where its hard mask is set (within its box)."""
    if layer.box is not None:
        y0, y1, x0, x1 = layer.box
        np.copyto(
            out[y0:y1, x0:x1],
            layer.rgba[y0:y1, x0:x1],
            where=layer.mask[y0:y1, x0:x1, None].astype(bool),
        )


def _pregroup(layers: Sequence[_Layer]) -> list[_Layer]:
    count = len(layers)
    overlap = np.zeros((count, count), bool)
    for i in range(count):
        for j in range(i + 1, count):
            overlap[i, j] = overlap[j, i] = _overlaps(layers[i], layers[j])
    remaining = list(range(count))
    groups_top_first: list[_Layer] = []
    while remaining:
        top_set = [
            i for pos, i in enumerate(remaining) if not overlap[i, remaining[pos + 1 :]].any()
        ]
        groups_top_first.append(_select([layers[i] for i in top_set]))
        remaining = [i for i in remaining if i not in top_set]
    return groups_top_first[::-1]


def pregroup(layers: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The pre-grouped stack (bottom first); its composite equals the input's."""
    return [layer.rgba for layer in _pregroup([_Layer(x) for x in layers])]


def dtw_path(cost: np.ndarray) -> list[tuple[int, int]]:
    """Minimal-cost monotone path from (0, 0) to (m-1, n-1); the diagonal step wins ties."""
    m, n = cost.shape
    if m == 0 or n == 0:
        raise ValueError("cannot align an empty stack")
    total = np.full((m + 1, n + 1), np.inf)
    total[0, 0] = 0.0
    for i in range(1, m + 1):
        for j in range(1, n + 1):
            total[i, j] = cost[i - 1, j - 1] + min(
                total[i - 1, j - 1], total[i - 1, j], total[i, j - 1]
            )
    path = [(m - 1, n - 1)]
    i, j = m, n
    while (i, j) != (1, 1):
        steps = ((i - 1, j - 1), (i - 1, j), (i, j - 1))  # diagonal first: it wins ties
        i, j = min(steps, key=lambda s: total[s])
        path.append((i - 1, j - 1))
    return path[::-1]


@dataclass
class Alignment:
    path: list[tuple[int, int]]  # (pred index, gt index), bottom first
    rgb_l1: float
    alpha_iou: float

    @property
    def cost(self) -> float:
        return (self.rgb_l1 + 1.0 - self.alpha_iou) / 2.0


class _Scorer:
    """Pair terms and merged layers, each computed once per sample."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[int, int], tuple[float, float]] = {}
        self._merged: dict[tuple[int, int], _Layer] = {}
        self._alive: list[_Layer] = []  # keeps ids unique while the caches use them

    def pair(self, pred: _Layer, gt: _Layer) -> tuple[float, float]:
        key = (id(pred), id(gt))
        if key not in self._pairs:
            self._pairs[key] = (_l1(pred, gt), _iou(pred, gt))
        return self._pairs[key]

    def merged(self, lower: _Layer, upper: _Layer) -> _Layer:
        key = (id(lower), id(upper))
        if key not in self._merged:
            self._merged[key] = _merge([lower, upper])
            self._alive += [lower, upper, self._merged[key]]
        return self._merged[key]

    def align(self, pred: Sequence[_Layer], gt: Sequence[_Layer]) -> Alignment:
        terms = np.array([[self.pair(p, g) for g in gt] for p in pred], np.float64)
        l1, iou = terms[:, :, 0], terms[:, :, 1]
        path = dtw_path((l1 + 1.0 - iou) / 2.0)
        rows, cols = zip(*path)
        return Alignment(path, float(l1[rows, cols].mean()), float(iou[rows, cols].mean()))


def align(pred: Sequence[np.ndarray], gt: Sequence[np.ndarray]) -> Alignment:
    """DTW alignment of two stacks as given (no pre-grouping, no merges)."""
    return _Scorer().align([_Layer(x) for x in pred], [_Layer(x) for x in gt])


@dataclass
class SampleScore:
    rgb_l1: list[float]  # index k = after k merge edits (k = 0..max_merges)
    alpha_iou: list[float]
    pred_layers: int  # as given
    gt_layers: int
    pred_groups: int  # after pre-grouping
    gt_groups: int
    merges: list[str] = field(default_factory=list)  # "pred 2+3", "gt 0+1", ... as applied
    path: list[tuple[int, int]] = field(default_factory=list)  # the k=0 alignment


def _merged_stack(scorer: _Scorer, stack: list[_Layer], i: int) -> list[_Layer]:
    return stack[:i] + [scorer.merged(stack[i], stack[i + 1])] + stack[i + 2 :]


def score_sample(
    pred: Sequence[np.ndarray],
    gt: Sequence[np.ndarray],
    max_merges: int = MAX_MERGES,
    grouping: bool = True,
) -> SampleScore:
    """The protocol for one sample: pre-group, align, then up to max_merges greedy merges."""
    if len(pred) == 0 or len(gt) == 0:
        raise ValueError("both stacks need at least one layer")
    shapes = {x.shape for x in pred} | {x.shape for x in gt}
    if len(shapes) != 1:
        raise ValueError(f"layers of different sizes cannot be compared: {sorted(shapes)}")
    pred_stack, gt_stack = [_Layer(x) for x in pred], [_Layer(x) for x in gt]
    if grouping:
        pred_stack, gt_stack = _pregroup(pred_stack), _pregroup(gt_stack)
    scorer = _Scorer()
    current = scorer.align(pred_stack, gt_stack)
    score = SampleScore(
        rgb_l1=[current.rgb_l1],
        alpha_iou=[current.alpha_iou],
        pred_layers=len(pred),
        gt_layers=len(gt),
        pred_groups=len(pred_stack),
        gt_groups=len(gt_stack),
        path=current.path,
    )
    for _ in range(max_merges):
        if current.cost <= 0.0:
            break  # already perfect: no merge can help
        best: tuple[Alignment, list[_Layer], list[_Layer], str] | None = None
        for i in range(len(pred_stack) - 1):
            stack = _merged_stack(scorer, pred_stack, i)
            alignment = scorer.align(stack, gt_stack)
            if best is None or alignment.cost < best[0].cost:
                best = (alignment, stack, gt_stack, f"pred {i}+{i + 1}")
        for i in range(len(gt_stack) - 1):
            stack = _merged_stack(scorer, gt_stack, i)
            alignment = scorer.align(pred_stack, stack)
            if best is None or alignment.cost < best[0].cost:
                best = (alignment, pred_stack, stack, f"gt {i}+{i + 1}")
        if best is None or best[0].cost >= current.cost - _IMPROVES:
            break
        current, pred_stack, gt_stack = best[0], best[1], best[2]
        score.merges.append(best[3])
        score.rgb_l1.append(current.rgb_l1)
        score.alpha_iou.append(current.alpha_iou)
    while len(score.rgb_l1) < max_merges + 1:  # no merge helped: carry the last value forward
        score.rgb_l1.append(score.rgb_l1[-1])
        score.alpha_iou.append(score.alpha_iou[-1])
    return score


def psnr(pred: Sequence[np.ndarray], target: np.ndarray) -> float:
    """Reconstruction PSNR (dB) of the predicted stack's composite against the input.

    Both sides are 8-bit straight RGBA. When both are opaque, RGB is compared; otherwise the
    premultiplied RGBA, so that colours under transparent pixels do not count. Capped at 100 dB.
    """
    recon = flatten(pred).astype(np.float64) / 255.0
    target_f = target.astype(np.float64) / 255.0
    if target_f.shape[2] == 3:
        target_f = np.concatenate([target_f, np.ones(target_f.shape[:2] + (1,))], axis=2)
    if recon.shape != target_f.shape:
        raise ValueError(f"reconstruction {recon.shape} and input {target_f.shape} differ")
    if recon[:, :, 3].min() == 1.0 and target_f[:, :, 3].min() == 1.0:
        mse = float(np.mean((recon[:, :, :3] - target_f[:, :, :3]) ** 2))
    else:
        a, b = recon.copy(), target_f.copy()
        a[:, :, :3] *= a[:, :, 3:]
        b[:, :, :3] *= b[:, :, 3:]
        mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, 10.0 * math.log10(1.0 / mse))
