"""Rendering a line, or a whole TextSpec, into a soft matte with Pillow's FreeType (and Raqm's
shaping where Pillow has it), the way the fit compares candidates with the picture.

Positions are fractional: the pen starts at `x` on the baseline `y`, and FreeType renders the
fractional part (`getmask2(start=...)`), so a fit can place text to a fraction of a pixel.
Letter spacing (tracking, 1/1000 em) is added after each character; with tracking the line is
set character by character at the positions the whole line's advances give (kerning kept).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageFont

from model.text_spec import TextSpec
from model.textfit.fonts import Face, find_face, font


def line_width(f: ImageFont.FreeTypeFont, text: str, tracking_px: float) -> float:
    """Advance width of a line in px: the pen's travel, spacing after all but the last."""
    return f.getlength(text) + tracking_px * max(0, len(text) - 1)


def _pen_positions(f: ImageFont.FreeTypeFont, text: str, tracking_px: float) -> list[float]:
    """Each character's pen position: its advance with the kerning of the pair it starts
    (the length of the pair less that of its second character), plus the spacing."""
    positions, x = [], 0.0
    for i in range(len(text)):
        positions.append(x)
        if i + 1 < len(text):
            pair = text[i : i + 2]
            x += f.getlength(pair) - f.getlength(text[i + 1]) + tracking_px
    return positions


def _pixels(mask) -> np.ndarray:
    """A Pillow core mask's bytes as uint8 (numpy reads a bare core image pixel by pixel, ten
    times slower than through an Image's buffer)."""
    try:
        return np.frombuffer(Image.Image()._new(mask).tobytes(), np.uint8)
    except AttributeError:  # a Pillow without the private constructor
        return np.asarray(mask, np.uint8)


def _paste(canvas: np.ndarray, mask, offset: tuple[int, int], at: tuple[int, int]) -> None:
    w, h = mask.size
    if w == 0 or h == 0:
        return
    glyphs = _pixels(mask).reshape(h, w).astype(np.float32) / 255.0
    y0, x0 = at[1] + offset[1], at[0] + offset[0]
    ch, cw = canvas.shape
    sy0, sx0 = max(0, -y0), max(0, -x0)
    dy0, dx0 = max(0, y0), max(0, x0)
    dy1, dx1 = min(ch, y0 + h), min(cw, x0 + w)
    if dy1 <= dy0 or dx1 <= dx0:
        return
    part = glyphs[sy0 : sy0 + dy1 - dy0, sx0 : sx0 + dx1 - dx0]
    region = canvas[dy0:dy1, dx0:dx1]
    np.maximum(region, part, out=region)


def draw_line(
    canvas: np.ndarray,
    f: ImageFont.FreeTypeFont,
    text: str,
    x: float,
    y: float,
    tracking_px: float = 0.0,
) -> None:
    """Draw `text` into the float matte `canvas` with its pen starting at (x, y), y the baseline."""
    if abs(tracking_px) < 1e-3:
        pieces = [(text, 0.0)]
    else:
        pieces = list(zip(text, _pen_positions(f, text, tracking_px)))
    for piece, dx in pieces:
        if piece.isspace():
            continue
        px = x + dx
        ix, iy = math.floor(px), math.floor(y)
        mask, offset = f.getmask2(piece, mode="L", anchor="ls", start=(px - ix, y - iy))
        _paste(canvas, mask, offset, (ix, iy))


def line_box(f: ImageFont.FreeTypeFont, text: str, tracking_px: float) -> tuple[int, int, int, int]:
    """A box (x0, y0, x1, y1) relative to the pen origin on the baseline that holds the line."""
    x0, y0, x1, y1 = f.getbbox(text, anchor="ls")
    width = line_width(f, text, tracking_px)
    size = f.size
    return (
        math.floor(min(x0, 0) - 0.2 * size) - 2,
        math.floor(y0) - 2,
        math.ceil(max(x1, width) + 0.2 * size) + 2,
        math.ceil(y1) + 2,
    )


def face_font(face: Face, size: float) -> ImageFont.FreeTypeFont:
    return font(face.file, face.index, size)


def spec_origins(spec: TextSpec, f: ImageFont.FreeTypeFont) -> list[tuple[float, float]]:
    """Each line's pen origin (x, baseline y) in document pixels."""
    tracking = spec.tracking * spec.size_px / 1000.0
    origins = []
    for i, text in enumerate(spec.lines):
        width = line_width(f, text, tracking)
        x = spec.x
        if spec.align == "center":
            x -= width / 2
        elif spec.align == "right":
            x -= width
        origins.append((x, spec.y + i * spec.line_spacing * spec.size_px))
    return origins


def render_spec(spec: TextSpec, shape: tuple[int, int], face: Face | None = None) -> np.ndarray:
    """The spec's text as a soft matte (float32 in [0, 1]) on a canvas of `shape` (h, w)."""
    face = face or find_face(spec.family, spec.style, spec.font_file)
    if face is None:
        raise ValueError(f"the font {spec.family} {spec.style} is not installed")
    f = face_font(face, spec.size_px)
    canvas = np.zeros(shape, np.float32)
    tracking = spec.tracking * spec.size_px / 1000.0
    for text, (x, y) in zip(spec.lines, spec_origins(spec, f)):
        draw_line(canvas, f, text, x, y, tracking)
    return canvas
