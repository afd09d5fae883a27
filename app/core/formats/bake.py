"""Edited pixels for export: each layer's offset, scale and recolor baked in.

Exporters write what the user sees: a layer is rendered with its edit parameters on the
canvas (clipped to it) and cropped to its content again. Opacity is baked only where the
format has no place for it (flat files, the folder of PNGs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.compositor import composite
from app.core.document import Document
from app.core.layer import Layer, content_bbox
from app.core.render import render_layer, unpremultiply_to_uint8


@dataclass
class Baked:
    """A layer's exported pixels: straight RGBA uint8 at canvas position (x, y)."""

    name: str
    pixels: np.ndarray  # may be empty (0x0x4) when nothing of the layer is on the canvas
    x: int
    y: int
    opacity: float
    visible: bool

    @property
    def empty(self) -> bool:
        return self.pixels.shape[0] == 0 or self.pixels.shape[1] == 0


def _is_plain(layer: Layer, with_opacity: bool) -> bool:
    p = layer.params
    dx, dy = p.offset
    return (
        p.scale == (1.0, 1.0)
        and float(dx).is_integer()
        and float(dy).is_integer()
        and p.recolor.is_identity()
        and (not with_opacity or p.opacity >= 1.0)
    )


def _crop(rgba: np.ndarray, x: int, y: int) -> tuple[np.ndarray, int, int]:
    box = content_bbox(rgba[:, :, 3])
    if box is None:
        return np.zeros((0, 0, 4), np.uint8), 0, 0
    bx, by, bw, bh = box
    if (bx, by, bw, bh) == (0, 0, rgba.shape[1], rgba.shape[0]):
        return rgba, x, y  # the same object: lets exporters reuse cached encodings
    return rgba[by : by + bh, bx : bx + bw], x + bx, y + by


def bake_layer(doc: Document, layer: Layer, with_opacity: bool = False) -> Baked:
    """The layer as it looks on the canvas (visible or not), cropped to its content."""
    p = layer.params
    if _is_plain(layer, with_opacity):
        # Integer move only: copy the source pixels exactly, no resampling or rounding.
        x0 = layer.origin[0] + int(p.offset[0])
        y0 = layer.origin[1] + int(p.offset[1])
        h, w = layer.pixels.shape[:2]
        cx0, cy0 = max(x0, 0), max(y0, 0)
        cx1, cy1 = min(x0 + w, doc.width), min(y0 + h, doc.height)
        if cx1 <= cx0 or cy1 <= cy0:
            pixels, x, y = np.zeros((0, 0, 4), np.uint8), 0, 0
        else:
            part = layer.pixels
            if (cx0, cy0, cx1, cy1) != (x0, y0, x0 + w, y0 + h):
                part = part[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
            pixels, x, y = _crop(part, cx0, cy0)
    else:
        shown = Layer(
            layer.pixels,
            layer.origin,
            p.with_(visible=True, opacity=p.opacity if with_opacity else 1.0),
            layer.id,
        )
        placed = render_layer(shown, 1.0, clip=(0, 0, doc.width, doc.height))
        if placed is None:
            pixels, x, y = np.zeros((0, 0, 4), np.uint8), 0, 0
        else:
            pixels, x, y = _crop(unpremultiply_to_uint8(placed.premul), placed.x, placed.y)
    opacity = 1.0 if with_opacity else float(np.clip(p.opacity, 0.0, 1.0))
    if not pixels.flags.c_contiguous:
        pixels = np.ascontiguousarray(pixels)
    return Baked(layer.name, pixels, x, y, opacity, bool(p.visible))


def full_canvas(doc: Document, baked: Baked) -> np.ndarray:
    out = np.zeros((doc.height, doc.width, 4), np.uint8)
    if not baked.empty:
        h, w = baked.pixels.shape[:2]
        out[baked.y : baked.y + h, baked.x : baked.x + w] = baked.pixels
    return out


def composite_rgba(doc: Document) -> np.ndarray:
    """The whole document flattened: straight RGBA uint8 of the canvas."""
    return composite(doc)
