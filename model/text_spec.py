"""What a text layer is, as words and type rather than pixels: shared by the decomposers that
find text (model/classic, the font fit) and by the editor's text layers (app/core)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextSpec:
    lines: tuple[str, ...]  # the words, one entry per line, top first
    family: str  # fontconfig family name, e.g. "DejaVu Sans"
    style: str = "Regular"  # fontconfig style name, e.g. "Bold Italic"
    weight: int = 400  # CSS weight, 100-900
    italic: bool = False
    size_px: float = 32.0  # em size in document pixels
    color: tuple[int, int, int] = (0, 0, 0)  # sRGB ink colour
    tracking: float = 0.0  # letter spacing in 1/1000 em (Photoshop's unit)
    line_spacing: float = 1.2  # baseline-to-baseline distance as a multiple of size_px
    align: str = "left"  # left | center | right
    x: float = 0.0  # document px: the text box's left edge (align left), centre or right edge
    y: float = 0.0  # document px: the first line's baseline
    font_file: str | None = None  # the font file it was fitted or rendered with, when known
    fit_iou: float | None = None  # soft IoU of the re-rendered text against the glyph matte
