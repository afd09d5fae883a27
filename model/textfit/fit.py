"""Font, size, tracking, baseline and colour of a text layer, fitted to its glyph matte.

For every OCR'd line the search runs in three passes, each on fewer faces:
1. features, no rendering: each installed face that covers the words is scaled so that its ink
   box is as tall as the line's; its ink box's width/height ratio and its stroke width (cached per
   face) are compared with the matte's;
2. the best `COARSE_KEEP` faces render the words at a small working height and are compared with
   the matte by soft IoU (shape only: alpha against alpha), centroids aligned, tracking set so the
   ink widths agree;
3. the best `FINE_KEEP` faces over all lines are refined per line (size by a bracketing search,
   tracking from the width, sub-pixel position from the centroids) at a larger working height.
The face with the best area-weighted IoU over the lines wins; the block's size, tracking, line
spacing and alignment follow from its lines' fits, and the whole TextSpec is rendered once more
at full resolution and compared with the layer's alpha: below `MIN_IOU` the layer stays pixels.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from model.text_spec import TextSpec
from model.textfit.fonts import Face, ink_stroke, text_faces
from model.textfit.render import draw_line, face_font, line_box, line_width, render_spec

MIN_IOU = 0.85  # below this the re-rendered text does not match the pixels: stay pixels
MIN_OCR = 0.85  # mean OCR confidence below this: the words themselves are in doubt
COARSE_KEEP = 48
FINE_KEEP = 4
COARSE_HEIGHT = 32.0  # px: ink height the second pass compares at
FINE_HEIGHT = 72.0  # px: ink height the refinement works at
INK = 0.35  # alpha above which a row or column counts as inked for the ink box
MAX_TRACKING = 0.25  # em: letter spacing beyond this is not believed
TRACKING_MIN = 0.01  # em: a width difference under this per letter is not spacing
SNAP_BELOW = 60.0  # px: smaller text is also tried at round sizes
TIGHT = 0.05  # em: negative letter spacing beyond this is not believed in the coarse pass


@dataclass
class LineFit:
    face: Face
    size: float  # em size, full-resolution px
    tracking_px: float
    x: float  # pen origin in layer px
    y: float  # baseline in layer px
    iou: float
    width: float  # advance width, layer px


@dataclass
class FitOutcome:
    spec: TextSpec | None
    reason: str  # why it stays pixels (empty when spec is set)
    ranking: list[tuple[str, str, float]] = field(default_factory=list)  # family, style, IoU
    seconds: float = 0.0
    nearest: TextSpec | None = None  # the best fit even when rejected (its fit_iou says how good)


@dataclass
class _Line:
    text: str
    matte: np.ndarray  # alpha of the line's box (+ margin), float32
    top: int  # the crop's position in the layer
    left: int
    ink: tuple[int, int, int, int]  # ink box in the crop: y0, y1, x0, x1
    stroke: float

    @property
    def height(self) -> int:
        return self.ink[1] - self.ink[0]

    @property
    def width(self) -> int:
        return self.ink[3] - self.ink[2]

    @property
    def mass(self) -> float:
        return float(self.matte.sum())


def soft_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = float(np.maximum(a, b).sum())
    return float(np.minimum(a, b).sum()) / union if union > 0 else 0.0


def _ink_box(matte: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(matte.max(axis=1) > INK)
    cols = np.flatnonzero(matte.max(axis=0) > INK)
    if rows.size == 0 or cols.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _centroid(matte: np.ndarray) -> tuple[float, float]:
    total = float(matte.sum())
    ys = np.arange(matte.shape[0], dtype=np.float64)
    xs = np.arange(matte.shape[1], dtype=np.float64)
    return (
        float(matte.sum(axis=1) @ ys) / total,
        float(matte.sum(axis=0) @ xs) / total,
    )


def _rows(lines: Sequence) -> list[tuple[tuple[int, int, int, int], str]]:
    """OCR boxes on one row (overlapping by half the smaller height) joined into one line,
    their words in reading order with a space between: a line of type, not the OCR's pieces."""
    rows: list[list] = []
    for line in sorted(lines, key=lambda t: (t.box[0], t.box[2])):
        y0, y1 = line.box[:2]
        for row in rows:
            ry0, ry1 = row[0].box[:2]
            if min(y1, ry1) - max(y0, ry0) > 0.5 * min(y1 - y0, ry1 - ry0):
                row.append(line)
                break
        else:
            rows.append([line])
    out = []
    for row in rows:
        row.sort(key=lambda t: t.box[2])
        box = (
            min(t.box[0] for t in row),
            max(t.box[1] for t in row),
            min(t.box[2] for t in row),
            max(t.box[3] for t in row),
        )
        text = row[0].text.strip()
        for left, right in zip(row, row[1:]):
            text = _joined(text, right.text.strip(), right.box[2] < left.box[3])
        out.append((box, text))
    return sorted(out)


def _joined(left: str, right: str, overlapping: bool) -> str:
    """Two OCR pieces of a row: a space between them, or, where their boxes overlap, the
    letters both read (the end of one that begins the other) kept once."""
    if overlapping:
        for k in range(min(len(left), len(right)), 0, -1):
            if left[-k:].lower() == right[:k].lower():
                return left + right[k:]
    return f"{left} {right}"


def _observe(alpha: np.ndarray, box, text: str, above: int, below: int) -> _Line | None:
    """The line's matte: its box with a margin, cut halfway to the lines above and below."""
    y0, y1, x0, x1 = box
    h, w = alpha.shape
    pad_y, pad_x = max(2, (y1 - y0) // 8), max(2, (y1 - y0) // 2)
    top, left = max(0, y0 - pad_y, above), max(0, x0 - pad_x)
    bottom = min(h, y1 + pad_y, below)
    matte = alpha[top:bottom, left : min(w, x1 + pad_x)]
    ink = _ink_box(matte)
    if ink is None or ink[1] - ink[0] < 4 or not text.strip():
        return None
    return _Line(text.strip(), matte, top, left, ink, ink_stroke(matte))


def _cut(alpha: np.ndarray, upper, lower) -> int:
    """The row between two stacked lines where they part: the emptiest row between the upper
    box's bottom and the lower box's top (OCR boxes of close lines overlap)."""
    a, b = sorted((upper[1], lower[0]))
    if b - a < 2:
        return (a + b) // 2
    x0, x1 = min(upper[2], lower[2]), max(upper[3], lower[3])
    profile = alpha[a:b, x0:x1].sum(axis=1)
    quiet = np.flatnonzero(profile <= profile.min() + 1e-3)
    return a + int(quiet[len(quiet) // 2])


def _observed(alpha: np.ndarray, lines: Sequence) -> list[_Line]:
    rows = _rows(lines)
    cuts = [_cut(alpha, rows[i][0], rows[i + 1][0]) for i in range(len(rows) - 1)]
    out = []
    for i, (box, text) in enumerate(rows):
        above = cuts[i - 1] if i > 0 else 0
        below = cuts[i] if i < len(cuts) else alpha.shape[0]
        line = _observe(alpha, box, text, above, below)
        if line is not None:
            out.append(line)
    return out


def _scaled(line: _Line, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return line.matte
    h, w = line.matte.shape
    size = max(1, round(w * scale)), max(1, round(h * scale))
    return cv2.resize(line.matte, size, interpolation=cv2.INTER_AREA)


def _render_at_origin(face: Face, text: str, size: float, tracking_px: float):
    """The line rendered with its pen at a known place: (matte, pen x, pen y)."""
    f = face_font(face, size)
    bx0, by0, bx1, by1 = line_box(f, text, tracking_px)
    canvas = np.zeros((by1 - by0, bx1 - bx0), np.float32)
    draw_line(canvas, f, text, -bx0, -by0, tracking_px)
    return canvas, -bx0, -by0


def _evaluate(
    face: Face,
    text: str,
    size: float,
    target: np.ndarray,
    want_w: float,
    tracking: float | None = None,
    exact: bool = True,
):
    """IoU of the face at `size` (working px) against `target` (working scale), placed so that
    the centroids agree. `tracking` None: the spacing that makes the ink widths agree (0 when
    that is under TRACKING_MIN em). `exact` False: placed to the nearest pixel, no second
    render. Returns (iou, tracking px, pen x, pen y) in working pixels."""
    matte, px, py = _render_at_origin(face, text, size, 0.0)
    ink = _ink_box(matte)
    if ink is None:
        return 0.0, 0.0, 0.0, 0.0
    if tracking is None:
        tracking = 0.0
        gaps = len(text) - 1
        if gaps > 0 and not _complex(text):
            tracking = (want_w - (ink[3] - ink[2])) / gaps
            tracking = float(np.clip(tracking, -MAX_TRACKING * size, MAX_TRACKING * size))
            if abs(tracking) < TRACKING_MIN * size:
                tracking = 0.0
    if tracking != 0.0:
        matte, px, py = _render_at_origin(face, text, size, tracking)
    if float(matte.sum()) <= 0:
        return 0.0, tracking, 0.0, 0.0
    oy, ox = _aligned(matte, target)
    x, y = ox + px, oy + py
    if exact:
        placed = np.zeros_like(target)
        draw_line(placed, face_font(face, size), text, x, y, tracking)
    else:  # the render moved by a bilinear shift: a fraction of a pixel without a second render
        shift = np.float32([[1, 0, ox], [0, 1, oy]])
        h, w = target.shape
        placed = cv2.warpAffine(matte, shift, (w, h), flags=cv2.INTER_LINEAR)
    return soft_iou(placed, target), tracking, x, y


def _aligned(matte: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Where the render's top-left goes on the target (y, x, fractional): the centroids give
    a first guess, normalised cross-correlation within a few pixels of it the answer (a
    centroid moves with any letter the matte lost or gained), a parabola through the peak
    its fraction."""
    cy, cx = _centroid(matte)
    ty, tx = _centroid(target)
    oy, ox = round(ty - cy), round(tx - cx)
    h, w = matte.shape
    reach = max(2, round(0.06 * h))
    padded = np.zeros((h + 2 * reach, w + 2 * reach), np.float32)
    th, tw = target.shape
    y0, x0 = oy - reach, ox - reach
    sy0, sx0, sy1, sx1 = (
        max(0, y0),
        max(0, x0),
        min(th, y0 + padded.shape[0]),
        min(tw, x0 + padded.shape[1]),
    )
    if sy1 <= sy0 or sx1 <= sx0:
        return ty - cy, tx - cx
    padded[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = target[sy0:sy1, sx0:sx1]
    score = cv2.matchTemplate(padded, matte, cv2.TM_CCORR_NORMED)
    py, px = np.unravel_index(int(np.argmax(score)), score.shape)

    def vertex(a: float, b: float, c: float) -> float:
        bend = a - 2 * b + c
        return float(np.clip(0.5 * (a - c) / bend, -0.5, 0.5)) if bend < 0 else 0.0

    fy = (
        vertex(score[py - 1, px], score[py, px], score[py + 1, px])
        if 0 < py < score.shape[0] - 1
        else 0.0
    )
    fx = (
        vertex(score[py, px - 1], score[py, px], score[py, px + 1])
        if 0 < px < score.shape[1] - 1
        else 0.0
    )
    return y0 + py + fy, x0 + px + fx


def _complex(text: str) -> bool:
    """Scripts whose letters join or reorder (tracking would break their shaping)."""
    return any(ord(c) >= 0x0590 and not (0x1E00 <= ord(c) < 0x2000) for c in text)


def _stroke_bias(line: _Line, faces: list[Face]) -> float:
    """How much the stroke measure of small, anti-aliased text differs from the face's cached
    one: measured on one face (the median stroke) rendered at this line's size."""
    face = sorted(faces, key=lambda f: f.stroke)[len(faces) // 2]
    size = _size_guess(face, line)
    matte, _, _ = _render_at_origin(face, line.text, size, 0.0)
    measured = ink_stroke(matte)
    return measured / (face.stroke * size) if measured > 0 and face.stroke > 0 else 1.0


def _coarse(line: _Line, faces: list[Face]) -> list[tuple[float, Face]]:
    """Pass 1: features only, lower is better. Each face is scaled to the line's ink height;
    the width it then leaves to letter spacing (per letter, in em) is penalised mildly within
    the believable range (-TIGHT .. MAX_TRACKING em) and by the width ratio beyond it; the
    stroke width is compared with the face's (cached) one."""
    gaps = max(1, len(line.text) - 1)
    bias = _stroke_bias(line, faces)
    scored = []
    for face in faces:
        f = face_font(face, 100.0)
        x0, y0, x1, y1 = f.getbbox(line.text, anchor="ls")
        if y1 - y0 <= 0 or x1 - x0 <= 0:
            continue
        size = 100.0 * line.height / (y1 - y0)
        width = (x1 - x0) * size / 100.0
        spacing = (line.width - width) / gaps / size
        if _complex(line.text) or not -TIGHT <= spacing <= MAX_TRACKING:
            aspect = abs(math.log(line.width / width)) + 0.5 * abs(spacing)
        else:
            aspect = 0.5 * abs(spacing)
        stroke = abs(math.log(max(line.stroke, 1e-3) / max(face.stroke * size * bias, 1e-3)))
        scored.append((aspect + 0.5 * stroke, face))
    scored.sort(key=lambda item: item[0])
    return scored


def _size_guess(face: Face, line: _Line) -> float:
    x0, y0, x1, y1 = face_font(face, 100.0).getbbox(line.text, anchor="ls")
    return 100.0 * line.height / max(1, y1 - y0)


def _working(line: _Line, face: Face, height: float):
    """The line's matte at a working scale, its ink width there, and the face's size guess
    there: the ink-height guess corrected by one render measured the same way as the matte
    (so that anti-aliased rows count alike on both sides)."""
    scale = min(1.0, height / line.height)
    target = _scaled(line, scale)
    ink = _ink_box(target) or (0, 1, 0, 1)
    guess = _size_guess(face, line) * scale
    matte, _, _ = _render_at_origin(face, line.text, guess, 0.0)
    drawn = _ink_box(matte)
    if drawn is not None and drawn[1] > drawn[0]:
        guess *= (ink[1] - ink[0]) / (drawn[1] - drawn[0])
    return scale, target, float(ink[3] - ink[2]), guess


def _second(line: _Line, face: Face) -> float:
    """Pass 2: one small render (two when spaced), its ink box stretched onto the matte's:
    the shapes of the letters compared, the exact size left to pass 3 (the aspect error of
    the stretch is subtracted, since the stretch hides it)."""
    scale = min(1.0, COARSE_HEIGHT / line.height)
    target = _scaled(line, scale)
    ink = _ink_box(target)
    size = _size_guess(face, line) * scale
    matte, _, _ = _render_at_origin(face, line.text, size, 0.0)
    drawn = _ink_box(matte)
    if ink is None or drawn is None:
        return 0.0
    y0, y1, x0, x1 = ink
    scores = [_stretched_iou(matte, drawn, target, ink)]
    gaps = len(line.text) - 1
    spacing = ((x1 - x0) - (drawn[3] - drawn[2])) / max(1, gaps)
    if gaps > 0 and not _complex(line.text) and 3 * TRACKING_MIN * size < abs(spacing):
        spacing = float(np.clip(spacing, -TIGHT * size, MAX_TRACKING * size))
        matte, _, _ = _render_at_origin(face, line.text, size, spacing)
        drawn = _ink_box(matte)
        if drawn is not None:
            scores.append(_stretched_iou(matte, drawn, target, ink))
    return max(scores)


def _stretched_iou(matte: np.ndarray, drawn, target: np.ndarray, ink) -> float:
    y0, y1, x0, x1 = ink
    crop = matte[drawn[0] : drawn[1], drawn[2] : drawn[3]]
    stretched = cv2.resize(crop, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    aspect = abs(
        math.log(((drawn[3] - drawn[2]) / (drawn[1] - drawn[0])) / ((x1 - x0) / (y1 - y0)))
    )
    return soft_iou(stretched, target[y0:y1, x0:x1]) - 0.5 * aspect


def _refine(line: _Line, face: Face) -> LineFit:
    """Pass 3: size by a bracketing search around the ink-height guess, at FINE_HEIGHT, first
    without letter spacing; when the widths still disagree by TRACKING_MIN em or more per
    letter, again with the spacing that makes them agree, and the better of the two kept."""
    scale, target, width, guess = _working(line, face, FINE_HEIGHT)

    def search(spacing: float, exact: bool) -> tuple[float, tuple]:
        """The best size factor; `spacing` in em, fixed while the size changes."""
        cache: dict[float, tuple] = {}

        def at(factor: float):
            key = round(factor, 4)
            if key not in cache:
                size = guess * factor
                cache[key] = _evaluate(
                    face, line.text, size, target, width, spacing * size, exact=exact
                )
            return cache[key]

        best = max((0.97, 1.0, 1.03), key=lambda k: at(k)[0])
        step = 0.015
        while step > 0.003:
            best = max((best - step, best, best + step), key=lambda k: at(k)[0])
            step /= 2
        return best, at(best)

    best, result = search(0.0, exact=True)
    # The spacing the widths ask for at the ink-height guess (a search without spacing drifts
    # to bigger sizes on spaced text).
    residual = _evaluate(face, line.text, guess, target, width, None)[1]
    if residual != 0.0:
        # Spaced renders go character by character: placed by a shift, not rendered twice.
        spaced = search(residual / guess, exact=False)
        spaced_exact = _evaluate(face, line.text, guess * spaced[0], target, width, None)
        if spaced_exact[0] > result[0]:
            best, result = spaced[0], spaced_exact
    spacing = None if result[1] != 0.0 else 0.0
    size = guess * best / scale
    # Placed at full resolution with a real render: a fraction of a pixel matters.
    ink = _ink_box(line.matte) or (0, 1, 0, 1)
    iou, tracking, x, y = _evaluate(
        face, line.text, size, line.matte, float(ink[3] - ink[2]), spacing
    )
    return LineFit(
        face=face,
        size=size,
        tracking_px=tracking,
        x=line.left + x,
        y=line.top + y,
        iou=iou,
        width=line_width(face_font(face, size), line.text, tracking),
    )


def _finer(line: _Line, fit: LineFit, width: float) -> LineFit:
    """The size to 0.3 % at full resolution (the working height leaves ~1 % on large text)."""
    best = fit
    for step in (0.006, 0.003):
        centre = best
        for sign in (-1, 1):
            size = centre.size * (1 + sign * step)
            tracking = centre.tracking_px * size / centre.size
            iou, tracking, x, y = _evaluate(fit.face, line.text, size, line.matte, width, tracking)
            if iou > best.iou:
                advance = line_width(face_font(fit.face, size), line.text, tracking)
                best = LineFit(fit.face, size, tracking, line.left + x, line.top + y, iou, advance)
    return best


def _placed(line: _Line, fit: LineFit) -> LineFit:
    """The fit's position to a tenth of a pixel at full resolution: hinting makes a render at
    a fractional start more than a shifted copy, so the centroids only come close."""
    f = face_font(fit.face, fit.size)

    def iou(x: float, y: float) -> float:
        placed = np.zeros_like(line.matte)
        draw_line(placed, f, line.text, x - line.left, y - line.top, fit.tracking_px)
        return soft_iou(placed, line.matte)

    best, score = (fit.x, fit.y), fit.iou
    for step in (0.3, 0.1):
        for axis in (0, 1):
            for sign in (-1, 1):
                trial = list(best)
                trial[axis] += sign * step
                value = iou(*trial)
                if value > score:
                    best, score = (trial[0], trial[1]), value
    return LineFit(fit.face, fit.size, fit.tracking_px, best[0], best[1], score, fit.width)


def _polish(line: _Line, fit: LineFit) -> LineFit:
    """The winner placed precisely; small text also tried at the whole and half pixel sizes
    next to the fitted one (designers set round sizes, and hinting makes small text's IoU
    jagged around them)."""
    ink = _ink_box(line.matte) or (0, 1, 0, 1)
    fit = _finer(line, fit, float(ink[3] - ink[2]))
    best = _placed(line, fit)
    if fit.size > SNAP_BELOW:
        return best
    for size in sorted({round(fit.size), round(fit.size * 2) / 2}):
        if abs(size / fit.size - 1) > 0.015 or size == fit.size:
            continue
        tracking = fit.tracking_px * size / fit.size
        iou, tracking, x, y = _evaluate(
            fit.face, line.text, size, line.matte, float(ink[3] - ink[2]), tracking
        )
        width = line_width(face_font(fit.face, size), line.text, tracking)
        trial = _placed(
            line, LineFit(fit.face, size, tracking, line.left + x, line.top + y, iou, width)
        )
        if trial.iou > best.iou:
            best = trial
    return best


def _alignment(fits: list[LineFit]) -> tuple[str, float]:
    if len(fits) == 1:
        return "left", fits[0].x
    anchors = {
        "left": [f.x for f in fits],
        "center": [f.x + f.width / 2 for f in fits],
        "right": [f.x + f.width for f in fits],
    }
    align = min(anchors, key=lambda k: (float(np.ptp(anchors[k])), k != "left"))
    return align, float(np.mean(anchors[align]))


def _ink_colour(rgba: np.ndarray) -> tuple[int, int, int]:
    alpha = rgba[:, :, 3]
    solid = alpha >= max(1, int(0.8 * alpha.max()))
    return tuple(int(v) for v in np.median(rgba[solid][:, :3], axis=0).round())


def _spec_from(fits: list[LineFit], lines: list[_Line], rgba: np.ndarray) -> TextSpec:
    weights = np.array([line.mass for line in lines])
    face = fits[0].face
    order = np.argsort([f.size for f in fits])
    cumulative = np.cumsum(weights[order])
    size = fits[order[np.searchsorted(cumulative, cumulative[-1] / 2)]].size
    tracking_em = float(np.median([f.tracking_px / f.size for f in fits]))
    gaps = [(b.y - a.y) / size for a, b in zip(fits, fits[1:])]
    align, x = _alignment(fits)
    return TextSpec(
        lines=tuple(line.text for line in lines),
        family=face.family,
        style=face.style,
        weight=face.weight,
        italic=face.italic,
        size_px=round(size, 2),
        color=_ink_colour(rgba),
        tracking=round(1000 * tracking_em, 1),
        line_spacing=round(float(np.median(gaps)), 4) if gaps else 1.2,
        align=align,
        x=round(x, 2),
        y=round(fits[0].y, 2),
        font_file=face.file,
    )


def _final_iou(spec: TextSpec, face: Face, alpha: np.ndarray, lines: list[_Line]) -> float:
    """The whole spec re-rendered at full resolution against the layer's alpha, over the
    lines' boxes (everything else in the layer is not text's to explain)."""
    y0 = min(line.top for line in lines)
    x0 = min(line.left for line in lines)
    y1 = max(line.top + line.matte.shape[0] for line in lines)
    x1 = max(line.left + line.matte.shape[1] for line in lines)
    shifted = TextSpec(**{**spec.__dict__, "x": spec.x - x0, "y": spec.y - y0})
    rendered = render_spec(shifted, (y1 - y0, x1 - x0), face)
    return soft_iou(rendered, alpha[y0:y1, x0:x1])


def fit_lines(layer_rgba: np.ndarray, lines: Sequence) -> TextSpec | None:
    """The TextSpec of a text layer (HxWx4 uint8, straight alpha) whose OCR'd lines (objects
    with `.box` = (y0, y1, x0, x1) in the layer, `.text`, `.score`) are given, or None when it
    does not fit well (`fit_outcome` says why)."""
    return fit_outcome(layer_rgba, lines).spec


def fit_outcome(
    layer_rgba: np.ndarray, lines: Sequence, exclude_families: Sequence[str] = ()
) -> FitOutcome:
    """The fit with its reason and ranking; `exclude_families` leaves fonts out of the search
    (the benchmark's held-out fonts)."""
    started = time.perf_counter()

    def done(spec: TextSpec | None, reason: str, ranking=(), nearest=None) -> FitOutcome:
        seconds = round(time.perf_counter() - started, 3)
        return FitOutcome(spec, reason, list(ranking), seconds, nearest or spec)

    if not lines:
        return done(None, "no text was read in the layer")
    chars = sum(len(t.text) for t in lines)
    confidence = sum(t.score * len(t.text) for t in lines) / max(1, chars)
    if confidence < MIN_OCR:
        return done(None, f"the words were read with low confidence ({confidence:.2f})")
    alpha = layer_rgba[:, :, 3].astype(np.float32) / 255.0
    observed = _observed(alpha, lines)
    if not observed:
        return done(None, "the text's pixels are too small or faint to fit a font")
    text = "".join(o.text for o in observed)
    faces = [f for f in text_faces(text) if f.family not in set(exclude_families)]
    if not faces:
        return done(None, "no installed font covers these characters")
    mass = np.array([o.mass for o in observed])
    shortlist: dict[Face, None] = {}
    for line in observed:
        for _, face in _coarse(line, faces)[:COARSE_KEEP]:
            shortlist[face] = None
    second = {
        face: float(np.average([_second(line, face) for line in observed], weights=mass))
        for face in shortlist
    }
    finalists = sorted(second, key=second.__getitem__, reverse=True)[:FINE_KEEP]
    fitted = []
    for face in finalists:
        fits = [_refine(line, face) for line in observed]
        fitted.append((float(np.average([f.iou for f in fits], weights=mass)), face, fits))
    fitted.sort(key=lambda item: item[0], reverse=True)
    ranking = [(face.family, face.style, round(score, 4)) for score, face, _ in fitted]
    rest = sorted(set(second) - set(finalists), key=second.__getitem__, reverse=True)
    ranking += [(face.family, face.style, round(second[face], 4)) for face in rest]
    _, face, fits = fitted[0]
    fits = [_polish(line, fit) for line, fit in zip(observed, fits)]
    spec = _spec_from(fits, observed, layer_rgba)
    iou = _final_iou(spec, face, alpha, observed)
    spec = TextSpec(**{**spec.__dict__, "fit_iou": round(iou, 4)})
    if iou < MIN_IOU:
        nearest = f"{face.family} {face.style}"
        reason = f"the nearest font ({nearest}) matches at IoU {iou:.2f} < {MIN_IOU}"
        return done(None, reason, ranking, spec)
    return done(spec, "", ranking)
