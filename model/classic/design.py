"""Graphic designs: background model, flat-colour shapes, embedded images and text.

Analysis runs at a working resolution of at most `DESIGN_SIDE` pixels; alphas and colours
are computed at full resolution, bottom up, by unmixing each piece's colour from what lies
below it (the completed background plus the pieces already placed).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from model.classic.background import SMOOTH_RMS, complete_background, eval_smooth, fit_smooth
from model.classic.frames import find_frames
from model.classic.kind import neighbour_step
from model.classic.naming import shape_name
from model.classic.occlusion import complete_convex, convex_hull, depth_map
from model.classic.pictures import BG_RESIDUAL, find_pictures, is_busy
from model.classic.pieces import (
    Piece,
    box_of,
    crop,
    dilate,
    erode,
    place_over,
    resize,
    union_box,
    working_size,
)
from model.classic.regions import REGION_STEP, Regions, carve, flat_regions, mean_per_label
from model.classic.text import TextLine
from model.classic.textblocks import (
    group_box,
    line_boxes,
    text_groups,
    text_on_picture,
    text_piece,
)
from model.classic.unmix import unmix

DESIGN_SIDE = 1024
BG_DEGREE = 4  # polynomial degree of the background colour model (radial gradients need 4)
TEXT_INSIDE = 0.8  # a region this much inside a text box is part of the text
TEXT_ON_PICTURE = 0.5  # a text box this much over a placed picture is keyed off the picture
GRADIENT_STD = 0.02  # a region with more colour spread than this gets a linear colour model
FLAT_SPREAD = 0.002  # over a textured or photo background, shapes must be this uniform
FILL_RMS = 0.0018  # ... or be a linear gradient fill to within 8-bit rounding (RMS 0.0011);
# smooth patches of photos fit no better than 0.0027 (astronaut sky at 256 px)
CRISP_CONTRAST = 0.12  # a shape's surroundings 2-3 pixels out differ at least this much
SMALL_REGION = 0.01  # regions smaller than this (fraction of the canvas) may be grouped
GROUP_GAP = 0.02  # ... when this close (fraction of the longer side)
GROUP_COLOUR = 0.08  # ... and this similar in colour
GROUP_HEIGHT = 1.0  # ... or, one above the other, closer than this times the shorter's height
OUTLIER = 0.016  # background pixels this far from its smooth model are something on it
OUTLIER_SCALE = 4.0  # ... or this many times the median residual, when that is larger
TRIM_KEEP = 0.5  # the background model is refitted to this share of its best-fitting pixels
TRIM_ROUNDS = 3
MIN_INLIERS = 0.7  # ... which must explain this share of its pixels for a smooth background
ROBUST_RMS = 0.004  # ... this well (RMS over those pixels; photo skies fit to ~0.006)
TRIM_SIDE = 256  # working size of that refitting
TRIM_SAMPLES = 5000  # pixels per fit
TINT_SPREAD = 0.03  # what lies under a shape must vary this much to tell its opacity
MIN_OPACITY = 0.2  # a translucent shape's opacity is fitted within these bounds
MAX_OPACITY = 0.95
TINT_RMS = 0.01  # ... and must explain its pixels this well
INK_SPREAD = 0.03  # a busy area whose flat pixels vary less than this is letters, not a picture
EDGE_STEP = 0.008  # a neighbour step above 2/255, so not the quantisation of a gradient
EDGE_SHARE = 0.5  # ... on this much of an outlier area's outline makes it a faint element


@dataclass
class _Plan:
    """One piece to build at full resolution: its working-resolution mask and kind."""

    kind: str
    mask: np.ndarray  # bool, working resolution, cropped to `wbox`
    wbox: tuple[int, int, int, int]
    filled_area: int
    labels: set[int] = field(default_factory=set)
    lines: list[TextLine] = field(default_factory=list)
    fbox: tuple[int, int, int, int] | None = None  # full-resolution box, when known exactly


def _scale_box(box, s: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    y0, y1, x0, x1 = box
    h, w = shape
    return (
        max(0, math.floor(y0 * s)),
        min(h, math.ceil(y1 * s)),
        max(0, math.floor(x0 * s)),
        min(w, math.ceil(x1 * s)),
    )


def _outlier_level(residual: np.ndarray, known: np.ndarray) -> float:
    """Residual above which a pixel is not explained by the model: OUTLIER, or more where
    the model fits the bulk of the pixels less well (the median is blind to the outliers)."""
    return max(OUTLIER, OUTLIER_SCALE * float(np.median(residual[known])))


def _fit(image: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, float] | None:
    return fit_smooth(image, known, degree=BG_DEGREE, samples=TRIM_SAMPLES)


def _robust_fit(
    small: np.ndarray, known: np.ndarray, start: np.ndarray | None = None
) -> tuple[np.ndarray, float] | None:
    """Smooth colour model of `known`, refitted on the pixels it explains best, so faint
    shapes or text whose soft edges joined them to the background region do not bend it.

    Fitted on a copy of at most TRIM_SIDE pixels (the model's coordinates are relative);
    from the coefficients `start` when given (one round then suffices)."""
    h, w = known.shape
    size = working_size(w, h, TRIM_SIDE)
    image = resize(small, size)
    known = resize(known.astype(np.float32), size) > 0.99
    fit = (start, 0.0) if start is not None else _fit(image, known)
    for _ in range(1 if start is not None else TRIM_ROUNDS):
        if fit is None:
            return None
        residual = np.abs(image - eval_smooth(fit[0], known.shape)).max(axis=-1)
        level = max(float(np.quantile(residual[known], TRIM_KEEP)), OUTLIER / 4)
        refit = _fit(image, known & (residual <= level))
        if refit is None:
            break
        fit = refit
    # Smooth when most of the region is explained, and explained well.
    residual = np.abs(image - eval_smooth(fit[0], known.shape)).max(axis=-1)[known]
    inliers = residual[residual < _outlier_level(residual, np.ones_like(residual, bool))]
    if inliers.size < MIN_INLIERS * residual.size:
        return fit[0], math.inf
    return fit[0], float(np.sqrt(np.mean(inliers**2)))


def _edged(outliers: np.ndarray, step: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The parts of `outliers` that end in an edge (a faint shape or letter), not the ones
    fading out smoothly (where a gradient departs from its polynomial model). Only their
    outline within the background (`known`) counts: next to a shape any area has an edge."""
    parts, n = ndimage.label(outliers, structure=np.ones((3, 3), bool))
    if n == 0:
        return outliers
    owner = ndimage.grey_dilation(parts, size=3)
    ring = (parts == 0) & (owner > 0) & known
    edges = np.bincount(owner[ring], weights=step[ring] > EDGE_STEP, minlength=n + 1)
    total = np.bincount(owner[ring], minlength=n + 1)
    keep = (edges >= EDGE_SHARE * total) & (total > 0)
    keep[0] = False
    return keep[parts]


def _background_labels(small: np.ndarray, regions: Regions, kept: np.ndarray, step: np.ndarray):
    """Labels of the background, its smooth colour model (None when it is textured), and
    the parts of those labels that the model does not explain and that end in an edge
    (None when it is textured)."""
    if kept.size == 0:
        return set(), None, None
    perimeter = 2 * (small.shape[0] + small.shape[1])
    seed = int(kept[np.argmax(regions.border[kept])])
    if regions.border[seed] < 0.2 * perimeter:
        return set(), None, None
    plain = fit_smooth(small, regions.labels == seed, degree=BG_DEGREE)
    fit = _robust_fit(small, regions.labels == seed)
    if plain is None or fit is None or (plain[1] > SMOOTH_RMS and fit[1] > ROBUST_RMS):
        return {seed}, None, None
    model = eval_smooth(fit[0], small.shape[:2])
    residual = mean_per_label(np.abs(small - model).max(axis=-1), regions)
    background = {int(k) for k in kept if residual[k] < BG_RESIDUAL} | {seed}
    known = np.isin(regions.labels, list(background))
    refit = _robust_fit(small, known, start=fit[0])
    if refit is not None and refit[1] <= SMOOTH_RMS:
        fit = refit
        model = eval_smooth(fit[0], small.shape[:2])
    residual = np.abs(small - model).max(axis=-1)
    outliers = known & (residual >= _outlier_level(residual, known))
    return background, fit[0], _edged(outliers, step, known)


def _plan(
    small: np.ndarray, visible: np.ndarray, lines: list[TextLine], s: float, rgb: np.ndarray
) -> tuple[list[_Plan], list[_Plan], np.ndarray | None, Regions, set[int]]:
    """Shapes/images (bottom first) and text blocks at working resolution, and the bg model."""
    wh, ww = visible.shape
    step = neighbour_step(small)
    regions = flat_regions(small, visible, step)
    min_area = max(12, int(1.5e-4 * ww * wh))
    kept = np.flatnonzero(regions.areas >= min_area)
    background, coeffs, outliers = _background_labels(small, regions, kept, step)
    if outliers is not None and outliers.any():
        # What the background's model does not explain is something on it, however faint.
        regions = carve(small, regions, outliers)
        kept = np.flatnonzero(regions.areas >= min_area)

    texts: list[_Plan] = []
    claimed: set[int] = set()
    for group in text_groups(lines, rgb, busy=coeffs is None):
        fbox = group_box(group, rgb.shape[:2])
        box = _scale_box(fbox, s, (wh, ww))
        y0, y1, x0, x1 = box
        # Only the lines' own boxes are text: a block's lines may lie around something else
        # (a picture laid over a line, a shape between two words).
        text_mask = np.zeros((y1 - y0, x1 - x0), bool)
        for line_box in line_boxes(group, rgb.shape[:2]):
            ly0, ly1, lx0, lx1 = _scale_box(line_box, s, (wh, ww))
            text_mask[ly0 - y0 : ly1 - y0, lx0 - x0 : lx1 - x0] = True
        inside = regions.labels[y0:y1, x0:x1][text_mask]
        ids, counts = np.unique(inside, return_counts=True)
        box_area = int(text_mask.sum())
        members = {
            int(k)
            for k, c in zip(ids, counts)
            if k
            and k not in background
            and c >= TEXT_INSIDE * regions.areas[k]
            and regions.areas[k] < 0.5 * box_area
        }
        claimed |= members
        texts.append(_Plan("text", text_mask, box, box_area, members, group, fbox))

    shapes = [int(k) for k in kept if int(k) not in background and int(k) not in claimed]
    if coeffs is None:
        # Over a textured or photo background only truly flat areas count as shapes.
        shapes = [
            k for k in shapes if _evenly_filled(regions, k, small) and _crisp(regions, k, small)
        ]
    text_boxes = np.zeros((wh, ww), bool)
    for t in texts:
        y0, y1, x0, x1 = t.wbox
        text_boxes[y0:y1, x0:x1] |= t.mask

    # On a smooth background a picture is a busy area that differs from it (unless it is all
    # one ink colour: letters OCR missed); on a busy one only a framed picture (a closed
    # outline) can be told from it.
    if coeffs is not None:
        found = [
            f
            for f in find_pictures(small, step, visible, text_boxes, coeffs)
            if not _one_colour(small, step, f[0], f[1])
        ]
    else:
        # a frame around one flat colour is a shape, found as such
        found = [
            (mask, (y0, y1, x0, x1), area)
            for mask, (y0, y1, x0, x1), area in find_frames(small, text_boxes)
            if is_busy(step[y0:y1, x0:x1], mask)
        ]
    plans = [_Plan("image", mask, box, area) for mask, box, area in found]
    if coeffs is not None:
        # Flat areas inside a placed picture are its own detail: inside its hull, since a
        # photo's edge pixels that match the background still enclose them. (Inside a framed
        # picture on a busy background they are shapes on top of it.)
        image_of = np.zeros((wh, ww), bool)
        for p in plans:
            y0, y1, x0, x1 = p.wbox
            image_of[y0:y1, x0:x1] |= convex_hull(p.mask)
        shapes = [k for k in shapes if _inside(regions, k, image_of) <= 0.9]
    for group in _group_small(regions, shapes, (wh, ww)):
        y0, y1, x0, x1 = union_box(
            (sl[0].start, sl[0].stop, sl[1].start, sl[1].stop)
            for sl in (regions.slices[k - 1] for k in group)
        )
        mask = np.isin(regions.labels[y0:y1, x0:x1], list(group))
        filled = int(ndimage.binary_fill_holes(mask).sum())
        plans.append(_Plan("shape", mask, (y0, y1, x0, x1), filled, set(group)))

    plans.sort(key=lambda p: -p.filled_area)
    return plans, texts, coeffs, regions, background


def _one_colour(small: np.ndarray, step: np.ndarray, mask: np.ndarray, box) -> bool:
    """Is a busy area one ink colour in its flat parts (letters OCR missed: their thin
    strokes are mostly edge), rather than a picture?"""
    y0, y1, x0, x1 = box
    flat = mask & (step[y0:y1, x0:x1] < REGION_STEP)
    if flat.sum() < 3:
        return False
    return float(small[y0:y1, x0:x1][flat].std(axis=0).max()) < INK_SPREAD


def _evenly_filled(regions: Regions, k: int, small: np.ndarray) -> bool:
    """One flat colour or one linear gradient, to within the 8-bit rounding."""
    if regions.spread[k] < FLAT_SPREAD:
        return True
    if regions.areas[k] < SMALL_REGION * small.shape[0] * small.shape[1] or regions.border[k]:
        return False  # small smooth patches (letters' insides, bits of a photo), or cut by
        # the frame like the background's own parts
    sl = regions.slices[k - 1]
    fit = fit_smooth(small[sl], regions.labels[sl] == k, degree=1, samples=4000)
    return fit is not None and fit[1] < FILL_RMS


def _inside(regions: Regions, k: int, area: np.ndarray) -> float:
    sl = regions.slices[k - 1]
    return float(area[sl][regions.labels[sl] == k].mean())


def _crisp(regions: Regions, k: int, small: np.ndarray) -> bool:
    """Does the region end in a sharp edge (a drawn shape) rather than fade (a photo patch)?"""
    sl = regions.slices[k - 1]
    pad = 4
    y0, x0 = max(0, sl[0].start - pad), max(0, sl[1].start - pad)
    y1, x1 = min(small.shape[0], sl[0].stop + pad), min(small.shape[1], sl[1].stop + pad)
    mask = regions.labels[y0:y1, x0:x1] == k
    ring = dilate(mask, 3) & ~dilate(mask, 1)
    if not ring.any():
        return True  # the region fills its whole surroundings
    contrast = np.abs(small[y0:y1, x0:x1][ring] - regions.means[k]).max(axis=-1)
    return float(np.median(contrast)) > CRISP_CONTRAST


def _group_small(regions: Regions, shapes: list[int], shape: tuple[int, int]) -> list[set[int]]:
    """Small regions of one colour close together (letters OCR missed, dots of a pattern)
    become one piece; big regions stay alone."""
    wh, ww = shape
    parent = {k: k for k in shapes}

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    small = [k for k in shapes if regions.areas[k] < SMALL_REGION * ww * wh]
    gap = GROUP_GAP * max(wh, ww) + 2
    for i, a in enumerate(small):
        sa = regions.slices[a - 1]
        for b in small[i + 1 :]:
            sb = regions.slices[b - 1]
            if np.abs(regions.means[a] - regions.means[b]).max() > GROUP_COLOUR:
                continue
            dy = max(sa[0].start - sb[0].stop, sb[0].start - sa[0].stop, 0)
            dx = max(sa[1].start - sb[1].stop, sb[1].start - sa[1].stop, 0)
            # Letters of one text block: lines are closer than the letters are tall.
            tall = GROUP_HEIGHT * min(sa[0].stop - sa[0].start, sb[0].stop - sb[0].start)
            if dy <= max(gap, tall) and dx <= gap:
                parent[root(a)] = root(b)
    groups: dict[int, set[int]] = {}
    for k in shapes:
        groups.setdefault(root(k), set()).add(k)
    return list(groups.values())


def _translucent(inside: np.ndarray, under: np.ndarray) -> tuple[float, np.ndarray] | None:
    """(opacity, colour) of a shape of one colour at one opacity over what lies below, when
    its pixels follow I = (1 - a) B + a F for a varying B (a gradient or a lower shape's edge
    under it); None when it is opaque or that cannot be told (B too uniform)."""
    if inside.shape[0] < 50 or under.std(axis=0).max() < TINT_SPREAD:
        return None
    b, i = under - under.mean(axis=0), inside - inside.mean(axis=0)
    slope = float((b * i).sum() / max(float((b * b).sum()), 1e-12))  # shared: 1 - a
    opacity = 1.0 - slope
    if not MIN_OPACITY <= opacity <= MAX_OPACITY:
        return None
    colour = (inside.mean(axis=0) - slope * under.mean(axis=0)) / opacity
    if colour.min() < -TINT_RMS or colour.max() > 1 + TINT_RMS:
        return None
    if float(np.sqrt(np.mean((i - slope * b) ** 2))) > TINT_RMS:
        return None
    return opacity, np.clip(colour, 0.0, 1.0).astype(np.float32)


def _colour_model(rgb: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Constant colour, or a linear gradient fitted to the core when the colour varies."""
    values = rgb[core]
    if values.shape[0] > 30 and values.std(axis=0).max() > GRADIENT_STD:
        fit = fit_smooth(rgb, core, degree=1)
        if fit is not None:
            return eval_smooth(fit[0], core.shape)
    return np.broadcast_to(values.mean(axis=0), rgb.shape).astype(np.float32)


def segment_design(
    rgb: np.ndarray,
    alpha_in: np.ndarray,
    lines: list[TextLine],
    check: Callable[[], None],
    report: Callable[[int, int], None] = lambda step, total: None,
) -> tuple[list[Piece], np.ndarray, np.ndarray | None]:
    """Pieces bottom first (shapes and images by decreasing size, then text), the completed
    background, both at full resolution, and the background's smooth model (None when the
    background is textured)."""
    h, w = alpha_in.shape
    size = working_size(w, h, DESIGN_SIDE)
    s = size[0] / w
    small = resize(rgb, size)
    visible = resize(alpha_in, size) > 0.02
    plans, texts, coeffs, regions, background = _plan(small, visible, lines, s, rgb)
    check()

    grow = max(1, math.ceil(1 / s))
    band = 2 + grow
    full_boxes = [p.fbox or _scale_box(p.wbox, 1 / s, (h, w)) for p in plans + texts]
    covered = np.zeros((h, w), bool)
    masks_full = []
    for plan, fbox in zip(plans + texts, full_boxes):
        y0, y1, x0, x1 = fbox
        mask = resize(plan.mask, (x1 - x0, y1 - y0), nearest=True)
        masks_full.append(mask)
        region = covered[y0:y1, x0:x1]
        region |= dilate(mask, band) if plan.kind != "text" else True
    covered = dilate(covered, 1)
    smooth = eval_smooth(coeffs, (h, w)) if coeffs is not None else None
    below = complete_background(rgb, covered, smooth)
    completed = below.copy()
    check()

    # Working-resolution labels of the background, for hole filling decisions.
    bg_small = np.isin(regions.labels, list(background)) if background else None
    zmap = depth_map(
        regions, background, [p.labels for p in plans + texts], textured=coeffs is None
    )
    pieces: list[Piece] = []
    total = len(plans) + len(texts)
    for index, (plan, fbox, mask) in enumerate(zip(plans, full_boxes, masks_full)):
        check()
        report(index, total)
        piece = _shape_piece(rgb, below, plan, fbox, mask, grow, band, bg_small, s, zmap, index)
        if piece is not None:
            pieces.append(piece)
    pictures = [p for p in pieces if p.kind == "image"]
    on_pictures = np.zeros((h, w), bool)
    for picture in pictures:
        y0, y1, x0, x1 = picture.box
        on_pictures[y0:y1, x0:x1] |= picture.alpha > 0.5
    for index, (plan, fbox) in enumerate(zip(texts, full_boxes[len(plans) :])):
        check()
        report(len(plans) + index, total)
        y0, y1, x0, x1 = fbox
        piece = None
        if on_pictures[y0:y1, x0:x1].mean() >= TEXT_ON_PICTURE:
            piece = text_on_picture(rgb, below, plan.lines, fbox, pictures)
        if piece is None:
            piece = text_piece(rgb, below, plan.lines, fbox, busy=coeffs is None)
        if piece is not None:
            pieces.append(piece)
    return pieces, completed, smooth


def _shape_piece(
    rgb, below, plan: _Plan, fbox, mask, grow, band, bg_small, s, zmap, z
) -> Piece | None:
    h, w = below.shape[:2]
    y0, y1, x0, x1 = fbox
    # Work in a box padded by the band so the soft edge fits.
    pbox = (max(0, y0 - band), min(h, y1 + band), max(0, x0 - band), min(w, x1 + band))
    py0, py1, px0, px1 = pbox
    core = np.zeros((py1 - py0, px1 - px0), bool)
    core[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0] = mask
    image = crop(rgb, pbox)
    under = crop(below, pbox)
    if plan.kind == "image":
        core = complete_convex(core, zmap, z, s, (py0, px0))
        alpha = core.astype(np.float32)
        colour = image.copy()
        name = "Image"
    else:
        if grow > 1:
            eroded = erode(core, grow - 1)
            core = eroded if eroded.any() else core
        holes = ndimage.binary_fill_holes(core) & ~core
        if holes.any() and bg_small is not None:
            # Holes showing the background stay holes; holes where something covers fill in.
            wy, wx = np.nonzero(holes)
            sy = np.clip(((wy + py0) * s).astype(int), 0, bg_small.shape[0] - 1)
            sx = np.clip(((wx + px0) * s).astype(int), 0, bg_small.shape[1] - 1)
            shows_bg = bg_small[sy, sx]
            holes[wy[shows_bg], wx[shows_bg]] = False
        solid = complete_convex(core | holes, zmap, z, s, (py0, px0))
        tint = _translucent(image[core], under[core])
        opacity = 1.0 if tint is None else tint[0]
        colour = (
            _colour_model(image, core)
            if tint is None
            else np.broadcast_to(tint[1], image.shape).astype(np.float32)
        )
        support = dilate(solid, band)
        alpha, reliable = unmix(image, under, colour)
        alpha[~support] = 0.0
        alpha = np.minimum(alpha, opacity)
        hard = dilate(solid, grow) & ~reliable
        alpha[hard] = opacity
        alpha[solid] = opacity
        name = shape_name(solid)
    tight = box_of(alpha > 0)
    if tight is None:
        return None
    ty0, ty1, tx0, tx1 = tight
    alpha, colour = alpha[ty0:ty1, tx0:tx1], np.ascontiguousarray(colour[ty0:ty1, tx0:tx1])
    box = (py0 + ty0, py0 + ty1, px0 + tx0, px0 + tx1)
    place_over(below, box, alpha, colour)
    return Piece(plan.kind, name, box, alpha, colour)
