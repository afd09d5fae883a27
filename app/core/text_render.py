"""A text layer's words and type (`TextSpec`) rendered to straight RGBA, at any scale.

Pillow with FreeType draws the glyphs, with Raqm's shaping (Arabic, Indic, ...) when Pillow
has it. Layout as a designer's type tool does it: each line placed on its baseline
(`spec.y` is the first line's, the next ones `line_spacing * size` lower), aligned at
`spec.x` (the left edge, the centre or the right edge), with tracking in 1/1000 em added
after every character but the last. The result is cropped to its ink and says where its
top-left pixel lies in document pixels (times `scale`).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from app.core import fonts
from model.text_spec import TextSpec

_RAQM = features.check("raqm")
_ANCHORS = {"left": "ls", "center": "ms", "right": "rs"}


@dataclass(frozen=True)
class TextRender:
    rgba: np.ndarray  # HxWx4 uint8, straight alpha, cropped to the ink
    origin: tuple[int, int]  # where rgba[0, 0] lies, in document pixels times the scale
    font_file: str | None  # the font file used (None: Pillow's built-in font)


class FontUnavailable(ValueError):
    """No font file could be found for a text layer (fontconfig is missing)."""


def font_file(spec: TextSpec) -> str:
    """The font file that renders `spec`: its family and style through fontconfig (the
    closest installed family when it is not installed), else the file it was found with."""
    found = fonts.match(spec.family, spec.style, spec.weight, spec.italic)
    if found is not None:
        return found.file
    if spec.font_file:
        return spec.font_file
    raise FontUnavailable(f"no font is available for {spec.family} (is fontconfig installed?)")


@lru_cache(maxsize=64)
def _font(path: str, size: float) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if _RAQM else ImageFont.Layout.BASIC
    return ImageFont.truetype(path, size=size, layout_engine=engine)


def _simple(line: str) -> bool:
    """Whether tracking may place this line character by character: no marks, no joining
    or right-to-left scripts (those keep their shaping and ignore tracking)."""
    for ch in line:
        if unicodedata.combining(ch) or unicodedata.bidirectional(ch) in ("R", "AL"):
            return False
        if ord(ch) >= 0x0900 and not 0x2000 <= ord(ch) <= 0x2BFF:
            return False
    return True


def _line_width(font: ImageFont.FreeTypeFont, line: str, track: float) -> float:
    return font.getlength(line) + track * max(len(line) - 1, 0)


def _draw_line(draw, font, line: str, x: float, y: float, track: float, align: str) -> None:
    if not track or not _simple(line):
        draw.text((x, y), line, fill=255, font=font, anchor=_ANCHORS.get(align, "ls"))
        return
    width = _line_width(font, line, track)
    left = x if align == "left" else x - width / 2 if align == "center" else x - width
    for i, ch in enumerate(line):
        if not ch.isspace():  # the prefix's length keeps the pair kerning of the font
            draw.text((left + font.getlength(line[:i]) + track * i, y), ch, fill=255,
                      font=font, anchor="ls")


def render_text(spec: TextSpec, scale: float = 1.0) -> TextRender:
    """`spec` drawn at `scale` (1 = document pixels), cropped to its ink."""
    if scale <= 0 or not math.isfinite(scale):
        raise ValueError(f"scale must be positive, got {scale}")
    path = font_file(spec)
    size = max(spec.size_px * scale, 1.0)
    font = _font(path, round(size * 64) / 64)
    track = spec.tracking / 1000.0 * size
    leading = spec.line_spacing * size
    lines = spec.lines or ("",)
    ascent, descent = font.getmetrics()
    widest = max(_line_width(font, line, track) for line in lines)
    pad = int(math.ceil(size)) + 2  # italics and swashes reach beyond the advance widths
    x, y = spec.x * scale, spec.y * scale
    if spec.align == "center":
        left = x - widest / 2
    elif spec.align == "right":
        left = x - widest
    else:
        left = x
    x0 = math.floor(left) - pad
    y0 = math.floor(y - ascent) - pad
    w = int(math.ceil(widest)) + 2 * pad + 1
    h = int(math.ceil(ascent + descent + leading * (len(lines) - 1))) + 2 * pad + 1
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    for i, line in enumerate(lines):
        if line:
            _draw_line(draw, font, line, x - x0, y - y0 + i * leading, track, spec.align)
    alpha = np.asarray(mask)
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return TextRender(np.zeros((1, 1, 4), np.uint8), (int(round(x)), int(round(y))), path)
    cols = np.flatnonzero(alpha.any(axis=0))
    alpha = alpha[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    rgba = np.empty((*alpha.shape, 4), np.uint8)
    rgba[:, :, :3] = np.asarray(spec.color, np.uint8)
    rgba[:, :, 3] = alpha
    return TextRender(rgba, (x0 + int(cols[0]), y0 + int(rows[0])), path)
