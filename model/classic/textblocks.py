"""Text layers from OCR lines: grouping lines into blocks, and each block's soft alpha."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from model.classic.naming import text_name
from model.classic.pieces import (
    Piece,
    border,
    box_of,
    crop,
    dilate,
    place_over,
    quantise,
    resize,
    union_box,
    working_size,
)
from model.classic.text import TextLine
from model.classic.unmix import unmix

ROW_GAP = 4.0  # parts of one line of text may lie this many line heights apart
TEXT_INK_MATCH = 0.12  # lines whose ink differs more than this are separate text layers
INK_BIN = 1 / 64  # colour histogram bin for finding the one ink colour of a block (text ink is
# exactly one colour, so a fine bin keeps it together while a photo spreads over many)
INK_KEY = 0.08  # over a busy background, pixels this close to the ink are glyph interior
INK_STANDS_OUT = 0.12  # ... and only where the ink differs this much from the fill below
FILL_SIDE = 256  # a line's surroundings are filled in at most this many pixels wide
EDGE_RING = 2  # anti-aliased glyph edges: this many pixels around the keyed interior


def ink_colour(rgb: np.ndarray, box) -> np.ndarray:
    """The text colour in a line's box: the pixels most unlike the box's rim."""
    y0, y1, x0, x1 = box
    patch = rgb[y0:y1, x0:x1]
    rim = border(patch)
    distance = np.abs(patch - np.median(rim, axis=0)).max(axis=-1)
    ink = distance >= 0.8 * float(distance.max())
    return np.median(patch[ink], axis=0)


def _line_inks(rgb: np.ndarray, box, busy: bool) -> list[np.ndarray]:
    """Estimates of a line's ink colour: the pixels most unlike the rim's median and, over a
    busy background (where that median means little), the colour over-represented among the
    pixels that differ from the box filled in from its surroundings. Either may be fooled by
    the background, so lines whose estimates agree in either way share their ink."""
    inks = [ink_colour(rgb, box)]
    if not busy:
        return inks
    y0, y1, x0, x1 = box
    pad = max(2, (y1 - y0) // 2)
    h, w = rgb.shape[:2]
    py0, py1, px0, px1 = max(0, y0 - pad), min(h, y1 + pad), max(0, x0 - pad), min(w, x1 + pad)
    patch = rgb[py0:py1, px0:px1]
    inner = np.zeros(patch.shape[:2], bool)
    inner[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0] = True
    candidates = inner & (np.abs(patch - _fill_in(patch, inner)).max(axis=-1) >= INK_STANDS_OUT)
    if candidates.sum() >= 8:
        inks.append(_dominant_ink(patch, candidates))
    return inks


def _fill_in(patch: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The patch with `hole` filled in from its surroundings (Telea), at most `FILL_SIDE`
    pixels wide: only a rough local background is needed, and Telea's cost grows with the
    hole."""
    h, w = hole.shape
    size = working_size(w, h, FILL_SIDE)
    u8 = quantise(resize(patch, size))
    mask = resize(hole, size, nearest=True).astype(np.uint8)
    fill = cv2.inpaint(u8, mask, 3, cv2.INPAINT_TELEA).astype(np.float32) / 255.0
    return resize(fill, (w, h))


def _same_row(box, other) -> bool:
    """Two parts of one line of text: side by side at the same height, the gap between them at
    most `ROW_GAP` line heights (a word gap, or a picture or shape laid over the line that
    split the OCR's reading)."""
    y0, y1, x0, x1 = box
    oy0, oy1, ox0, ox1 = other
    height, other_height = y1 - y0, oy1 - oy0
    if not 0.8 < height / max(other_height, 1) < 1.25:
        return False
    if min(y1, oy1) - max(y0, oy0) < 0.6 * min(height, other_height):
        return False
    return max(x0 - ox1, ox0 - x1) < ROW_GAP * max(height, other_height)


def _stacked(box, above) -> bool:
    """Is the row `box` the next row of a block whose last row is `above`: just below it,
    centred on it, flush with one of its sides or within its span (a row the OCR read only
    in part), of a similar height (OCR's box of a row with ascenders and descenders is up to
    half as tall again as one of capitals)?"""
    y0, y1, x0, x1 = box
    ly0, ly1, lx0, lx1 = above
    height = y1 - y0
    if not 0.65 < height / max(ly1 - ly0, 1) < 1.54:
        return False
    gap = y0 - ly1
    wide = max(x1 - x0, lx1 - lx0)
    centred = abs((x0 + x1) - (lx0 + lx1)) / 2 < 0.1 * wide
    flush = min(abs(x0 - lx0), abs(x1 - lx1)) < 0.05 * wide
    within = (lx0 <= x0 and x1 <= lx1) or (x0 <= lx0 and lx1 <= x1)
    return -0.3 * height < gap < 0.5 * height and (centred or flush or within)


def _joined(
    units: list[list[TextLine]], inks: dict, belongs, stacking: bool
) -> list[list[TextLine]]:
    """Units (lists of lines, in reading order) joined into bigger ones: each goes with the
    first joined unit whose last part shares its ink and that `belongs(box, last box)`
    accepts. The last part is the whole row when joining a row's parts, the last row added
    when stacking rows."""
    joined: list[tuple[list[TextLine], list[TextLine]]] = []  # (all lines, last unit)
    for unit in units:
        box = union_box([t.box for t in unit])
        for index, (lines, last) in enumerate(joined):
            same_ink = any(
                np.abs(a - b).max() < TEXT_INK_MATCH
                for t in unit
                for u in last
                for a, b in zip(inks[id(t)], inks[id(u)])
            )
            if same_ink and belongs(box, union_box([t.box for t in last])):
                joined[index] = (lines + unit, unit if stacking else last + unit)
                break
        else:
            joined.append((list(unit), list(unit)))
    return [lines for lines, _ in joined]


def text_groups(lines: list[TextLine], rgb: np.ndarray, busy: bool = False) -> list[list[TextLine]]:
    """Lines of one colour stacked closely above one another form one text block; parts of one
    row (words the OCR read apart, or a line cut by something laid over it) are joined first.
    Over a busy background a second ink estimate may also match them (see `_line_inks`),
    since the rim's median colour means little there."""
    lines = sorted(lines, key=lambda t: (t.box[0], t.box[2]))
    inks = {id(line): _line_inks(rgb, line.box, busy) for line in lines}
    rows = _joined([[line] for line in lines], inks, _same_row, stacking=False)
    return _joined(rows, inks, _stacked, stacking=True)


def line_boxes(group: list[TextLine], shape: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """The block's line boxes with a margin for anti-aliasing and OCR's tight boxes."""
    pad = max(2, int(0.15 * min(t.box[1] - t.box[0] for t in group)))
    h, w = shape
    return [
        (max(0, y0 - pad), min(h, y1 + pad), max(0, x0 - pad), min(w, x1 + pad))
        for y0, y1, x0, x1 in (t.box for t in group)
    ]


def group_box(group: list[TextLine], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    return union_box(line_boxes(group, shape))


def _colour_codes(pixels: np.ndarray) -> np.ndarray:
    bins = np.minimum((pixels / INK_BIN).astype(np.int32), int(1 / INK_BIN) - 1)
    return (bins[..., 0] * 256 + bins[..., 1]) * 256 + bins[..., 2]


def _dominant_ink(image: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """The ink: the colour most over-represented among the candidate pixels compared with the
    box's rim (text is one flat colour found only inside; a busy background's many colours
    show on the rim as well), refined to the median of the candidates near it."""
    pixels = image[candidates]
    codes = _colour_codes(pixels)
    rim = border(image)
    values, counts = np.unique(codes, return_counts=True)
    rim_values, rim_counts = np.unique(_colour_codes(rim), return_counts=True)
    expected = np.zeros(values.size)
    at = np.searchsorted(rim_values, values).clip(0, rim_values.size - 1)
    hit = rim_values[at] == values
    expected[hit] = rim_counts[at[hit]] * (candidates.size / rim.shape[0])
    # A ratio, not a difference: a background colour that is common inside and on the rim
    # must lose to a colour found only inside.
    top = values[np.argmax(counts / (expected + max(5.0, 0.02 * codes.size)))]
    near = codes == top
    return np.median(pixels[near], axis=0)


def _keyed_alpha(image: np.ndarray, under: np.ndarray, lines: list[TextLine]) -> tuple | None:
    """Alpha of one-colour text over a busy background: the glyph interior keyed by the ink
    colour, soft edges unmixed only in a thin ring around it, so the background's own
    texture never leaks into the text layer."""
    distance = np.abs(image - under).max(axis=-1)
    candidates = distance >= INK_STANDS_OUT
    if candidates.sum() < 8:
        return None
    ink = _dominant_ink(image, candidates)
    core = (np.abs(image - ink).max(axis=-1) <= INK_KEY) & candidates
    labels, count = ndimage.label(core, structure=np.ones((3, 3), bool))
    if count == 0:
        return None
    line_height = min(t.box[1] - t.box[0] for t in lines)
    sizes = ndimage.sum_labels(core, labels, np.arange(1, count + 1))
    keep = np.flatnonzero(sizes >= max(3.0, (0.08 * line_height) ** 2)) + 1
    core = np.isin(labels, keep)
    if not core.any():
        return None
    colour = np.broadcast_to(ink, image.shape).astype(np.float32)
    alpha, _ = unmix(image, under, colour)
    alpha[~dilate(core, EDGE_RING)] = 0.0
    alpha[core] = 1.0
    return alpha, colour


def text_on_picture(rgb, below, lines: list[TextLine], fbox, pictures: list[Piece]) -> Piece | None:
    """A text layer over a placed picture, whose layer holds the text's pixels too: the ink
    is keyed against the picture filled in around it, and the picture's own colour under the
    glyphs becomes that fill (moving the text shows the photo, not a copy of the text)."""
    image = crop(rgb, fbox)
    inside = np.zeros(image.shape[:2], bool)
    inside[1:-1, 1:-1] = True
    rough = _fill_in(image, inside)  # from the box's rim
    keyed = _keyed_alpha(image, rough, lines)
    if keyed is None:
        return None
    # The picture's own details may out-number thin letters: the keyed ink must be the ink
    # the lines were read in.
    inks = [ink for line in lines for ink in _line_inks(rgb, line.box, busy=True)]
    if min(float(np.abs(ink - keyed[1][0, 0]).max()) for ink in inks) > TEXT_INK_MATCH:
        return None
    under = _fill_in(image, dilate(keyed[0] > 0, 1))  # the photo around the glyphs, closer
    piece = text_piece(rgb, below, lines, fbox, busy=True, under=under)
    if piece is None:
        return None
    y0, y1, x0, x1 = fbox
    inked = np.zeros(image.shape[:2], bool)
    ty0, ty1, tx0, tx1 = piece.box
    inked[ty0 - y0 : ty1 - y0, tx0 - x0 : tx1 - x0] = piece.alpha > 0
    for picture in pictures:
        py0, py1, px0, px1 = picture.box
        iy0, iy1, ix0, ix1 = max(y0, py0), min(y1, py1), max(x0, px0), min(x1, px1)
        if iy0 >= iy1 or ix0 >= ix1:
            continue
        hidden = inked[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0]
        colour = picture.colour[iy0 - py0 : iy1 - py0, ix0 - px0 : ix1 - px0]
        colour[hidden] = under[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0][hidden]
    return piece


def text_piece(
    rgb, below, lines: list[TextLine], fbox, busy: bool = False, under: np.ndarray | None = None
) -> Piece | None:
    """A text layer for a block of lines: one ink colour unmixed from what lies below
    (keyed by that colour when the background is busy)."""
    image = crop(rgb, fbox)
    under = crop(below, fbox) if under is None else under
    keyed = _keyed_alpha(image, under, lines) if busy else None
    if keyed is not None:
        alpha, colour = keyed
    else:
        distance = np.abs(image - under).max(axis=-1)
        strong = float(np.percentile(distance, 99))
        if strong < 0.1:
            return None
        ink = distance >= 0.8 * strong
        colour = np.broadcast_to(np.median(image[ink], axis=0), image.shape).astype(np.float32)
        alpha, _ = unmix(image, under, colour)
        alpha[alpha < 0.05] = 0.0
    tight = box_of(alpha > 0)
    if tight is None:
        return None
    ty0, ty1, tx0, tx1 = tight
    y0, _, x0, _ = fbox
    box = (y0 + ty0, y0 + ty1, x0 + tx0, x0 + tx1)
    alpha = alpha[ty0:ty1, tx0:tx1]
    colour = np.ascontiguousarray(colour[ty0:ty1, tx0:tx1])
    place_over(below, box, alpha, colour)
    return Piece("text", text_name([t.text for t in lines]), box, alpha, colour)
