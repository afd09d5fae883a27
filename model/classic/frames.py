"""Framed pictures on a busy (textured or photo) background.

A photo placed on a design sits in a frame: a rectangle or rounded rectangle whose outline is a
long, closed, sharp edge. A texture or a background photo has edges too, but they rarely run
straight across a tenth of the picture and close into a box. So: find long straight runs of
edge pixels along rows and columns, pair two horizontal runs into the top and bottom of a box,
look for the two sides, and keep boxes whose four sides are mostly edge.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from model.classic.pieces import channel_max, resize, working_size

FRAME_SIDE = 512  # frames are searched for at most this many pixels wide or high
MIN_FRAME = 0.03  # smallest framed picture, fraction of the canvas (a photo's own round and
# square details are smaller)
EDGE = 0.12  # a colour step this large between the pixels either side is an edge
RUN_GAP = 3  # gaps this long (pixels) in an edge run are bridged
MIN_RUN = 0.12  # an edge run must span this fraction of the picture's side
MIN_SIDE = 0.1  # a frame's sides are at least this fraction of the picture's side
SIDE_COVER = 0.75  # each side of a frame must be edge over this fraction of its length
END_TOLERANCE = 0.03  # top and bottom runs end this close (fraction of the width)
MIN_ARC = 0.03  # an ellipse's flattest stretch (top, bottom, sides) spans this much of the side
CENTRE_TOLERANCE = 4  # the runs at opposite ends of an ellipse are centred this close (pixels)
ELLIPSE_COVER = 0.8  # an ellipse's outline must be edge over this fraction of its length
RIM_FLAT = 0.06  # a rim whose colours stay this close to their median is one colour
RING_WIDTH = 0.5  # a parallel outline this far inside (fraction of the radius) makes a ring
RING_COVER = 0.75  # ... when it is edge over this fraction of its length (a ring's second
# outline is nearly as complete as its first)


def _edges(small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels on a horizontal edge (step between the rows above and below) and on a
    vertical edge (step between the columns left and right)."""
    horizontal = np.zeros(small.shape[:2], bool)
    vertical = np.zeros(small.shape[:2], bool)
    horizontal[1:-1] = channel_max(np.abs(small[2:] - small[:-2])) > EDGE
    vertical[:, 1:-1] = channel_max(np.abs(small[:, 2:] - small[:, :-2])) > EDGE
    return horizontal, vertical


def _runs(edges: np.ndarray, min_length: int) -> list[tuple[int, int, int]]:
    """(row, start, stop) of straight edge runs at least `min_length` long, one per edge
    (an anti-aliased edge marks two or three adjacent rows; the longest run stands for them)."""
    closed = ndimage.binary_closing(edges, structure=np.ones((1, 2 * RUN_GAP + 1), bool))
    found = []
    for row in np.flatnonzero(closed.sum(axis=1) >= min_length):
        labels, count = ndimage.label(closed[row])
        for sl in ndimage.find_objects(labels):
            if sl[0].stop - sl[0].start >= min_length:
                found.append((int(row), sl[0].start, sl[0].stop))
    found.sort(key=lambda r: r[1] - r[2])  # longest first
    kept: list[tuple[int, int, int]] = []
    by_row: dict[int, list[tuple[int, int]]] = {}
    for row, start, stop in found:
        near = (k for r in range(row - 2, row + 3) for k in by_row.get(r, ()))
        if not any(min(stop, k[1]) > max(start, k[0]) for k in near):
            kept.append((row, start, stop))
            by_row.setdefault(row, []).append((start, stop))
    return kept


def _cover(edges: np.ndarray, line: int, start: int, stop: int, axis: int) -> float:
    """Fraction of a side (a row when axis is 0, a column when 1) that is edge within 1 px."""
    if stop <= start:
        return 0.0
    lo, hi = max(0, line - 1), line + 2
    strip = edges[lo:hi, start:stop] if axis == 0 else edges[start:stop, lo:hi].T
    return float(strip.any(axis=0).mean())


def _side(vertical: np.ndarray, x_run: int, y0: int, y1: int, outward: int) -> tuple[int, float]:
    """The column of a frame's left (outward -1) or right (+1) side near the end of its
    top/bottom runs: rounded corners put it up to half the height beyond the run's end."""
    h, w = vertical.shape
    reach = max(2, (y1 - y0) // 2)
    best = (x_run, 0.0)
    for step in range(-2, reach):
        x = x_run + outward * step
        if not 0 <= x < w:
            break
        radius = max(0, step)
        cover = _cover(vertical, x, y0 + radius, y1 - radius, axis=1)
        if cover > best[1]:
            best = (x, cover)
    return best


def find_frames(small: np.ndarray, exclude: np.ndarray) -> list[tuple]:
    """Framed pictures: (mask, box, area) at the resolution of `small`, mask cropped to box.
    Boxes mostly inside `exclude` (text) are skipped. The search runs at most `FRAME_SIDE`
    pixels wide (frames are large); the masks are drawn at full size."""
    h, w = exclude.shape
    size = working_size(w, h, FRAME_SIDE)
    scale = size[0] / w
    image = resize(small, size)
    horizontal, vertical = _edges(image)
    reduced = resize(exclude, size, nearest=True)
    frames = _boxes(horizontal, vertical, reduced)
    taken = np.zeros(reduced.shape, bool)
    for mask, (y0, y1, x0, x1), _ in frames:
        taken[y0:y1, x0:x1] |= mask
    found = []
    for _, box, radius in frames + _ellipses(image, horizontal, vertical, reduced | taken):
        y0, y1, x0, x1 = (round(v / scale) for v in box)
        box = (max(0, y0), min(h, y1), max(0, x0), min(w, x1))
        height, width = box[1] - box[0], box[3] - box[2]
        full = (
            _ellipse(height, width)
            if radius < 0
            else _rounded(height, width, round(radius / scale))
        )
        if full.sum() >= MIN_FRAME * h * w:
            found.append((full, box, int(full.sum())))
    return _outermost(found, (h, w))


def _outermost(frames: list[tuple], shape: tuple[int, int]) -> list[tuple]:
    """Frames largest first, without those mostly inside a larger one (a photo's own
    rectangles and ellipses are part of it)."""
    covered = np.zeros(shape, bool)
    kept = []
    for mask, (y0, y1, x0, x1), area in sorted(frames, key=lambda f: -f[2]):
        if covered[y0:y1, x0:x1][mask].mean() > 0.5:
            continue
        covered[y0:y1, x0:x1] |= mask
        kept.append((mask, (y0, y1, x0, x1), area))
    return kept


def _ellipses(
    image: np.ndarray, horizontal: np.ndarray, vertical: np.ndarray, exclude: np.ndarray
) -> list[tuple]:
    """Axis-aligned elliptical frames: a short flat edge run at the top and the bottom centred
    on one column, two at the sides centred on the middle row, and an outline that is edge
    nearly all the way round."""
    h, w = horizontal.shape
    rows = _runs(horizontal, max(6, int(MIN_ARC * w)))
    cols = _runs(vertical.T, max(6, int(MIN_ARC * h)))
    col_x = np.array([c[0] for c in cols], int)
    col_centre = np.array([c[1] + c[2] - 1 for c in cols], int)
    edge = np.zeros((h + 2, w + 2), bool)
    edge[1:-1, 1:-1] = horizontal | vertical
    edge = ndimage.binary_dilation(edge, np.ones((3, 3), bool))
    found: list[tuple] = []
    taken = exclude.copy()
    for i, (top, tx0, tx1) in enumerate(rows):
        for bottom, bx0, bx1 in rows[i + 1 :]:
            cx2 = tx0 + tx1 - 1
            if (
                abs(cx2 - (bx0 + bx1 - 1)) > 2 * CENTRE_TOLERANCE
                or abs(bottom - top) < MIN_SIDE * h
            ):
                continue
            y0, y1 = min(top, bottom), max(top, bottom)
            cy2 = y0 + y1
            sides = col_x[np.abs(col_centre - cy2) <= 2 * CENTRE_TOLERANCE].tolist()
            best = None
            for j, left in enumerate(sides):
                for right in sides[j + 1 :]:
                    x0, x1 = min(left, right), max(left, right)
                    if abs(x0 + x1 - cx2) > 2 * CENTRE_TOLERANCE or x1 - x0 < MIN_SIDE * w:
                        continue
                    cover = _on_ellipse(edge, cx2 / 2, cy2 / 2, (x1 - x0) / 2, (y1 - y0) / 2)
                    if cover >= ELLIPSE_COVER and (best is None or cover > best[0]):
                        best = (cover, (y0, y1 + 1, x0, x1 + 1))
            if best is None or _is_ring(edge, best[1]) or _flat_rim(image, best[1]):
                continue
            found.append(best[1])
    # Largest first, so the features of a photo inside its frame are not frames themselves.
    found.sort(key=lambda b: (b[0] - b[1]) * (b[3] - b[2]))
    kept: list[tuple] = []
    for box in found:
        region = (slice(box[0], box[1]), slice(box[2], box[3]))
        if taken[region].mean() > 0.5:
            continue
        mask = _ellipse(box[1] - box[0], box[3] - box[2])
        taken[region] |= mask
        kept.append((mask, box, -1))
    return kept


def _on_ellipse(edge: np.ndarray, cx: float, cy: float, rx: float, ry: float) -> float:
    """Fraction of an ellipse's outline on edge pixels (`edge` is padded by one pixel)."""
    angles = np.linspace(0, 2 * np.pi, 256, endpoint=False)
    ys = np.rint(cy + ry * np.sin(angles)).astype(int) + 1
    xs = np.rint(cx + rx * np.cos(angles)).astype(int) + 1
    return float(edge[ys.clip(0, edge.shape[0] - 1), xs.clip(0, edge.shape[1] - 1)].mean())


def _flat_rim(image: np.ndarray, box) -> bool:
    """Is the band just inside the outline one colour (a drawn ring's stroke or a flat
    shape), where a picture would show its own varied content?"""
    y0, y1, x0, x1 = box
    cx, cy, rx, ry = (x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2, (x1 - x0 - 1) / 2, (y1 - y0 - 1) / 2
    angles = np.linspace(0, 2 * np.pi, 256, endpoint=False)
    h, w = image.shape[:2]
    for inset in (1.5, 2.5):
        ys = np.rint(cy + (ry - inset) * np.sin(angles)).astype(int).clip(0, h - 1)
        xs = np.rint(cx + (rx - inset) * np.cos(angles)).astype(int).clip(0, w - 1)
        rim = image[ys, xs]
        spread = np.abs(rim - np.median(rim, axis=0)).max(axis=-1)
        if float(np.percentile(spread, 75)) < RIM_FLAT:
            return True
    return False


def _is_ring(edge: np.ndarray, box) -> bool:
    """Is the outline one edge of a drawn ring (a second, parallel ellipse just inside or
    outside it, standing out from the edges around) rather than the edge of a picture?"""
    y0, y1, x0, x1 = box
    cx, cy, rx, ry = (x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2, (x1 - x0 - 1) / 2, (y1 - y0 - 1) / 2
    insets = range(5, max(6, int(RING_WIDTH * min(rx, ry))))  # nearer is this outline's own edge
    for side in (1, -1):
        covers = [_on_ellipse(edge, cx, cy, rx - side * d, ry - side * d) for d in insets]
        if max(covers) >= RING_COVER and max(covers) >= 2 * float(np.median(covers)):
            return True
    return False


def _ellipse(height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return ((yy + 0.5 - height / 2) / (height / 2)) ** 2 + (
        (xx + 0.5 - width / 2) / (width / 2)
    ) ** 2 <= 1.0


def _boxes(horizontal: np.ndarray, vertical: np.ndarray, exclude: np.ndarray) -> list[tuple]:
    """Rectangles and rounded rectangles whose four sides are mostly edge."""
    h, w = horizontal.shape
    runs = _runs(horizontal, max(8, int(MIN_RUN * w)))
    tolerance = END_TOLERANCE * w + 3
    frames: list[tuple] = []
    taken = np.zeros((h, w), bool)
    for i, (top, tx0, tx1) in enumerate(runs):
        for bottom, bx0, bx1 in runs[i + 1 :]:
            y0, y1 = min(top, bottom), max(top, bottom)
            if y1 - y0 < MIN_SIDE * h or abs(tx0 - bx0) > tolerance or abs(tx1 - bx1) > tolerance:
                continue
            left, left_cover = _side(vertical, min(tx0, bx0), y0, y1, -1)
            right, right_cover = _side(vertical, max(tx1, bx1) - 1, y0, y1, 1)
            if min(left_cover, right_cover) < SIDE_COVER or right - left < MIN_SIDE * w:
                continue
            radius = max(0, min(tx0, bx0) - left, right - max(tx1, bx1) + 1)
            inner = (left + radius, right - radius)
            if min(_cover(horizontal, y, *inner, 0) for y in (y0, y1)) < SIDE_COVER:
                continue
            box = (y0, y1 + 1, left, right + 1)
            if taken[box[0] : box[1], box[2] : box[3]].mean() > 0.5:
                continue
            if exclude[box[0] : box[1], box[2] : box[3]].mean() > 0.5:
                continue
            mask = _rounded(box[1] - box[0], box[3] - box[2], radius)
            taken[box[0] : box[1], box[2] : box[3]] |= mask
            frames.append((mask, box, radius))
            break
    return frames


def _rounded(height: int, width: int, radius: int) -> np.ndarray:
    """A filled rounded rectangle of the given size and corner radius."""
    mask = np.ones((height, width), bool)
    r = min(radius, height // 2, width // 2)
    if r <= 1:
        return mask
    yy, xx = np.mgrid[0:r, 0:r]
    corner = (yy + 0.5 - r) ** 2 + (xx + 0.5 - r) ** 2 <= r * r
    mask[:r, :r] = corner
    mask[:r, -r:] = corner[:, ::-1]
    mask[-r:, :r] = corner[::-1]
    mask[-r:, -r:] = corner[::-1, ::-1]
    return mask
