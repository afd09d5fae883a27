"""Automatic mask proposals: the picture's main objects, found by Segment Anything alone.

A grid of single-point prompts (all decoded against one embedding), each giving three
candidate masks; kept are those the model scores high and that are stable (the mask hardly
changes when its logit threshold moves), then duplicates are removed by mask IoU (greedy NMS,
best first), then what is background-like (touching three or more picture borders), tiny,
or a part of a larger kept object is dropped. As SAM's own automatic mask generator, without
the crops.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np

from model.base import CancelToken, Progress
from model.segment.segmenter import Embedding, Prediction, Segmenter

GRID = 16  # points per side
MIN_SCORE = 0.86  # predicted IoU
MIN_STABILITY = 0.9  # IoU of the mask at logit > -OFFSET and at logit > +OFFSET
STABILITY_OFFSET = 1.0
NMS_IOU = 0.7
MIN_AREA = 0.01  # of the picture
MAX_AREA = 0.85
MAX_BORDERS = 2  # a mask touching more picture borders than this is background-like
PART_OF = 0.85  # a mask this much inside a larger kept one is a part of it
MAX_OBJECTS = 4


def grid_points(size: tuple[int, int], n: int = GRID) -> np.ndarray:
    """n x n points (x, y) at the centres of an n x n grid over a picture of `size` (h, w)."""
    h, w = size
    t = (np.arange(n) + 0.5) / n
    xs, ys = np.meshgrid(t * w, t * h)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def stability(logits: np.ndarray, offset: float = STABILITY_OFFSET) -> np.ndarray:
    """Per mask (... x h x w): area above +offset over area above -offset."""
    high = (logits > offset).sum(axis=(-2, -1))
    low = (logits > -offset).sum(axis=(-2, -1))
    return high / np.maximum(low, 1)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def touches_borders(mask: np.ndarray) -> int:
    return int(mask[0].any()) + int(mask[-1].any()) + int(mask[:, 0].any()) + int(mask[:, -1].any())


def main_objects(
    rgb: np.ndarray,
    segmenter: Segmenter,
    embedding: Embedding | None = None,
    grid: int | None = None,
    max_objects: int | None = None,
    min_score: float | None = None,
    min_stability: float | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
) -> list[np.ndarray]:
    """The main objects of `rgb` (HxWx3 uint8) as boolean masks at its size, largest first.
    Empty when nothing passes (a flat sky, noise). Unset limits are the module's constants."""
    grid = GRID if grid is None else grid
    max_objects = MAX_OBJECTS if max_objects is None else max_objects
    min_score = MIN_SCORE if min_score is None else min_score
    min_stability = MIN_STABILITY if min_stability is None else min_stability
    if embedding is None:
        embedding = segmenter.embed(rgb, progress, cancel)
    if cancel is not None:
        cancel.check()
    logits, scores = segmenter.candidates(embedding, grid_points(embedding.size, grid))
    logits = logits.reshape(-1, *logits.shape[-2:])
    scores = scores.reshape(-1)
    keep = (scores >= min_score) & (stability(logits) >= min_stability)
    order = [i for i in np.argsort(-scores) if keep[i]]
    # NMS and the area/border tests on a small grid; only the kept masks at full size
    small = (min(embedding.size[0], 256), min(embedding.size[1], 256))
    kept: list[tuple[int, np.ndarray]] = []
    for i in order:
        if cancel is not None:
            cancel.check()
        m = Prediction(logits[i], float(scores[i]), embedding).mask(small)
        area = m.mean()
        if area < MIN_AREA or area > MAX_AREA or touches_borders(m) > MAX_BORDERS:
            continue
        if any(_iou(m, other) > NMS_IOU for _, other in kept):
            continue
        kept.append((i, m))
    kept.sort(key=lambda item: -item[1].sum())
    objects: list[tuple[int, np.ndarray]] = []
    for i, m in kept:
        inside = [np.logical_and(m, o).sum() / max(m.sum(), 1) for _, o in objects]
        if any(share >= PART_OF for share in inside):
            continue
        objects.append((i, m))
        if len(objects) == max_objects:
            break
    return [Prediction(logits[i], float(scores[i]), embedding).mask() for i, _ in objects]


_loaded: dict[str, Segmenter] = {}


def main_objects_if_weights(rgb: np.ndarray, cancel: CancelToken | None = None,
                            **kwargs) -> list[np.ndarray] | None:
    """`main_objects` with the first complete segmentation weights found offline (see
    model/segment/choice.py), or None when there are none: the call a decomposer makes to
    use Segment Anything only where it was downloaded."""
    from model.segment.choice import segment_request
    from model.segment.weights import first_usable

    if not all(importlib.util.find_spec(name) for name in ("torch", "transformers")):
        return None  # the plain install: weights alone cannot run
    report = first_usable(segment_request())
    if report is None:
        return None
    key = str(report.path)
    if key not in _loaded:
        _loaded[key] = Segmenter.load(report.path, report.name)
    return main_objects(rgb, _loaded[key], cancel=cancel, **kwargs)
