"""Layer names a designer would give: "Background", the words of a text layer, "Rectangle"..."""

from __future__ import annotations

import cv2
import numpy as np

MAX_TEXT_NAME = 40


RECT_FILL = 0.95  # share of its (possibly rotated) bounding box a rectangle fills
ELLIPSE_IOU = 0.95  # overlap with the fitted ellipse, a one-pixel band along its outline aside
ELLIPSE_SPREAD = 0.05  # and how much the outline's radius may vary around it (see below)
NAMING_SIDE = 400  # masks are judged at most this big
_SUB = 4  # cv2.ellipse's fractional bits: the fitted ellipse is drawn to 1/16 pixel


def _box_fill(mask: np.ndarray) -> float:
    """How much of its tightest bounding box, upright or rotated, the mask fills."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    area = float(mask.sum())
    upright = area / float((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1))
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    points = np.concatenate([c.reshape(-1, 2) for c in contours]).astype(np.float32)
    (_, _), (w, h), _ = cv2.minAreaRect(points)  # through pixel centres: one pixel more
    return max(upright, area / max((w + 1.0) * (h + 1.0), 1.0))


Ellipse = tuple[tuple[float, float], tuple[float, float], np.ndarray]  # centre, axes, axis dirs


def moment_ellipse(mask: np.ndarray) -> Ellipse:
    """The ellipse with the mask's centroid and second moments (a filled ellipse with
    semi-axes a >= b has variances a**2/4 and b**2/4 along them); its axis directions are
    the columns of the returned matrix, the long one first."""
    ys, xs = np.nonzero(mask)
    cx, cy = xs.mean(), ys.mean()
    # each pixel is a unit square, which adds 1/12 to the variance along each axis
    cov = np.cov(np.stack([xs - cx, ys - cy]), bias=True) + np.eye(2) / 12.0
    values, vectors = np.linalg.eigh(cov)
    a, b = 2.0 * np.sqrt(np.maximum(values[::-1], 1e-6))
    return (float(cx), float(cy)), (float(a), float(b)), vectors[:, ::-1]


def fitted_ellipse(mask: np.ndarray) -> np.ndarray:
    """The moment ellipse of the mask, filled, as a uint8 mask of the same size."""
    (cx, cy), (a, b), vectors = moment_ellipse(mask)
    angle = float(np.degrees(np.arctan2(vectors[1, 0], vectors[0, 0])))
    scale = 1 << _SUB
    fit = np.zeros(mask.shape, np.uint8)
    centre = (round(cx * scale), round(cy * scale))
    axes = (max(1, round(a * scale)), max(1, round(b * scale)))
    cv2.ellipse(fit, centre, axes, angle, 0, 360, 1, -1, cv2.LINE_8, _SUB)
    return fit


def outline_spread(mask: np.ndarray) -> tuple[float, float]:
    """How far the mask's outline strays from its moment ellipse: the spread (10th to 90th
    percentile, so that a bite another layer took out of a side does not count) of the
    outline's radius in units of the ellipse (1 = on it), and the spread that pixel steps
    alone explain (two pixels over the short semi-axis).

    An area overlap cannot tell a large hexagon or octagon from a circle (IoU ~0.97); their
    straight sides show here: the radius of an octagon varies by 8 %, a hexagon's by 13 %."""
    (cx, cy), (a, b), vectors = moment_ellipse(mask)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    # the outline of the main part; specks beside it are the segmentation's, not the shape's
    points = max(contours, key=cv2.contourArea).reshape(-1, 2).astype(np.float64)
    # boundary pixel centres lie half a pixel inside the outline
    u = (points - (cx, cy)) @ vectors
    radius = np.hypot(u[:, 0] / max(a - 0.5, 0.5), u[:, 1] / max(b - 0.5, 0.5))
    low, high = np.percentile(radius, [10, 90])
    return float(high - low), 2.0 / b


def ellipse_match(mask: np.ndarray) -> float:
    """Intersection over union of the mask and its fitted ellipse, not counting the pixels
    within one pixel of the ellipse's outline (where any raster of an ellipse may differ)."""
    fit = fitted_ellipse(mask)
    kernel = np.ones((3, 3), np.uint8)
    band = cv2.dilate(fit, kernel) != cv2.erode(fit, kernel)
    fit_b = fit.astype(bool)
    union = float((fit_b | mask).sum())
    wrong = float(((fit_b ^ mask) & ~band).sum())
    return 1.0 - wrong / union if union else 0.0


def _fill_specks(mask: np.ndarray, share: float = 0.02) -> np.ndarray:
    """The mask with its small holes (each under `share` of its area) filled: specks a
    segmentation leaves inside a shape say nothing about its outline; a ring's hole stays."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((~mask).astype(np.uint8), 4)
    h, w = mask.shape
    limit = share * float(mask.sum())
    filled = mask.copy()
    for i in range(1, count):
        x, y, bw, bh, area = stats[i]
        touches_edge = x == 0 or y == 0 or x + bw == w or y + bh == h
        if not touches_edge and area < limit:
            filled[labels == i] = True
    return filled


def shape_name(mask: np.ndarray) -> str:
    """ "Rectangle" when the mask fills its (possibly rotated) box, "Ellipse" when it matches
    the ellipse fitted to it closely (area and outline), else "Shape" (a blob, a star, a
    hexagon, two touching discs...)."""
    mask = np.asarray(mask, bool)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size < 4 or cols.size < 4:
        return "Shape"
    # the mask's own box, with room for a fitted ellipse that spills out of it
    crop = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    # a name needs no more detail, and big masks are slow; a thin one keeps 16 px across
    k = min(1.0, max(NAMING_SIDE / max(crop.shape), 16 / min(crop.shape)))
    if k < 1.0:
        size = (max(4, round(crop.shape[1] * k)), max(4, round(crop.shape[0] * k)))
        crop = cv2.resize(crop.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.5
        if crop.any(axis=0).sum() < 4 or crop.any(axis=1).sum() < 4:  # a hairline
            return "Shape"
    h, w = crop.shape
    crop = np.pad(crop, ((3 + h // 2, 3 + h // 2), (3 + w // 2, 3 + w // 2)))
    # a thin crack or notch a segmentation leaves says nothing about the outline either
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    crop = _fill_specks(cv2.morphologyEx(crop.astype(np.uint8), cv2.MORPH_CLOSE, kernel) > 0)
    if _box_fill(crop) >= RECT_FILL:
        return "Rectangle"
    if ellipse_match(crop) >= ELLIPSE_IOU:
        spread, pixel_steps = outline_spread(crop)
        if spread <= max(ELLIPSE_SPREAD, pixel_steps):
            return "Ellipse"
    return "Shape"


def text_name(words: list[str]) -> str:
    text = " ".join(w.strip() for w in words if w.strip())
    if not text:
        return "Text"
    return text if len(text) <= MAX_TEXT_NAME else text[: MAX_TEXT_NAME - 1].rstrip() + "…"


def unique_names(names: list[str]) -> list[str]:
    """Number repeated names: "Shape", "Shape 2", "Shape 3"..."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return out
