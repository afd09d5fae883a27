"""Text layers from OCR lines: grouping lines into blocks, and each block's soft alpha."""

from __future__ import annotations

import numpy as np

from model.classic.naming import text_name
from model.classic.pieces import Piece, box_of, crop, place_over
from model.classic.text import TextLine
from model.classic.unmix import unmix

TEXT_INK_MATCH = 0.12  # lines whose ink differs more than this are separate text layers


def ink_colour(rgb: np.ndarray, box) -> np.ndarray:
    """The text colour in a line's box: the pixels most unlike the box's rim."""
    y0, y1, x0, x1 = box
    patch = rgb[y0:y1, x0:x1]
    rim = np.concatenate([patch[0], patch[-1], patch[:, 0], patch[:, -1]])
    distance = np.abs(patch - np.median(rim, axis=0)).max(axis=-1)
    ink = distance >= 0.8 * float(distance.max())
    return np.median(patch[ink], axis=0)


def text_groups(lines: list[TextLine], rgb: np.ndarray) -> list[list[TextLine]]:
    """Lines of one colour stacked closely above one another form one text block."""
    lines = sorted(lines, key=lambda t: (t.box[0], t.box[2]))
    colours = {id(line): ink_colour(rgb, line.box) for line in lines}
    groups: list[list[TextLine]] = []
    for line in lines:
        y0, y1, x0, x1 = line.box
        height = y1 - y0
        for group in groups:
            last = group[-1]
            ly0, ly1, lx0, lx1 = last.box
            gap = y0 - ly1
            wide = max(x1 - x0, lx1 - lx0)
            centred = abs((x0 + x1) - (lx0 + lx1)) / 2 < 0.1 * wide
            flush = min(abs(x0 - lx0), abs(x1 - lx1)) < 0.05 * wide
            similar = 0.8 < height / max(ly1 - ly0, 1) < 1.25
            same_ink = np.abs(colours[id(line)] - colours[id(last)]).max() < TEXT_INK_MATCH
            if -0.3 * height < gap < 0.5 * height and (centred or flush) and similar and same_ink:
                group.append(line)
                break
        else:
            groups.append([line])
    return groups


def group_box(group: list[TextLine], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    y0 = min(t.box[0] for t in group)
    y1 = max(t.box[1] for t in group)
    x0 = min(t.box[2] for t in group)
    x1 = max(t.box[3] for t in group)
    pad = max(2, int(0.15 * min(t.box[1] - t.box[0] for t in group)))
    h, w = shape
    return max(0, y0 - pad), min(h, y1 + pad), max(0, x0 - pad), min(w, x1 + pad)


def text_piece(rgb, below, lines: list[TextLine], fbox) -> Piece | None:
    """A text layer for a block of lines: one ink colour unmixed from what lies below."""
    image = crop(rgb, fbox)
    under = crop(below, fbox)
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
