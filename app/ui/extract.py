"""Extract to layer: lift the object inside a box onto its own layer with a soft matte and
fill the hole it leaves in the source layer. Qt-free; runs in a worker thread.

Works in the source layer's own pixel space, so both new layers keep the source's edits
(offset, scale, colour, opacity) and sit exactly where it was.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.core import commands
from app.core.document import Document
from app.core.errors import StrataError
from app.core.layer import Layer, content_bbox

GRABCUT_MAX_SIDE = 480
FEATHER_SIGMA = 1.2


class ExtractFailed(StrataError):
    """Nothing sensible could be extracted from the box."""


def _source_box(layer: Layer, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """The canvas box (x, y, w, h) in the layer's pixel columns/rows: c0, r0, c1, r1."""
    x, y, w, h = box
    (sx, sy), (dx, dy) = layer.params.scale, layer.params.offset
    cx, cy = layer.center
    bx = cx + sx * (layer.origin[0] - cx) + dx
    by = cy + sy * (layer.origin[1] - cy) + dy
    pw, ph = layer.size
    c0 = int(np.clip(np.floor((x - bx) / sx), 0, pw))
    c1 = int(np.clip(np.ceil((x + w - bx) / sx), 0, pw))
    r0 = int(np.clip(np.floor((y - by) / sy), 0, ph))
    r1 = int(np.clip(np.ceil((y + h - by) / sy), 0, ph))
    return c0, r0, c1, r1


def object_matte(rgba: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """Soft matte (float32 0..1, the size of `rgba`) of the object inside `rect` (x0,y0,x1,y1)."""
    h, w = rgba.shape[:2]
    x0, y0, x1, y1 = rect
    alpha = rgba[:, :, 3].astype(np.float32) / 255.0
    grey = np.float32(128.0)
    rgb = (rgba[:, :, :3].astype(np.float32) * alpha[..., None] + grey * (1 - alpha[..., None]))
    k = min(1.0, GRABCUT_MAX_SIDE / max(h, w))
    small_w, small_h = max(2, round(w * k)), max(2, round(h * k))
    img = cv2.resize(rgb, (small_w, small_h), interpolation=cv2.INTER_AREA).astype(np.uint8)
    inside = np.zeros((h, w), np.uint8)
    inside[y0:y1, x0:x1] = 1
    inside_small = cv2.resize(inside, (small_w, small_h), interpolation=cv2.INTER_NEAREST)
    opaque_small = cv2.resize(alpha, (small_w, small_h), interpolation=cv2.INTER_AREA) > 0.05
    mask = np.where(inside_small > 0, cv2.GC_PR_FGD, cv2.GC_BGD).astype(np.uint8)
    mask[~opaque_small] = cv2.GC_BGD
    if not (mask == cv2.GC_BGD).any():
        # the box covers everything: let its rim stand for the background
        mask[[0, -1], :] = cv2.GC_BGD
        mask[:, [0, -1]] = cv2.GC_BGD
    if not (mask == cv2.GC_PR_FGD).any():
        raise ExtractFailed("The box holds no visible pixels of the layer.")
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(img, mask, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        raise ExtractFailed("Could not tell the object from its background in that box.") from None
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.float32)
    fg = cv2.resize(fg, (w, h), interpolation=cv2.INTER_LINEAR)
    fg = (fg > 0.5).astype(np.float32)
    matte = cv2.GaussianBlur(fg, (0, 0), FEATHER_SIGMA) * inside
    matte[matte < 0.01] = 0.0
    return matte * (alpha > 0)


def extract_layers(layer: Layer, box: tuple[float, float, float, float], name: str
                   ) -> tuple[Layer, Layer]:
    """(source with the hole filled, extracted object) for a canvas `box` over `layer`."""
    c0, r0, c1, r1 = _source_box(layer, box)
    if c1 - c0 < 2 or r1 - r0 < 2:
        raise ExtractFailed("The box does not cover the selected layer.")
    pixels = layer.pixels
    ph, pw = pixels.shape[:2]
    margin = max(8, round(0.15 * max(c1 - c0, r1 - r0)))
    X0, Y0 = max(0, c0 - margin), max(0, r0 - margin)
    X1, Y1 = min(pw, c1 + margin), min(ph, r1 + margin)
    crop = pixels[Y0:Y1, X0:X1]
    matte = object_matte(crop, (c0 - X0, r0 - Y0, c1 - X0, r1 - Y0))
    if matte.max() < 0.5:
        raise ExtractFailed("No object found inside the box; draw it a little larger.")

    # the object: the source's pixels with the matte as extra alpha, cropped to its content
    obj = np.zeros_like(crop)
    obj[:, :, :3] = crop[:, :, :3]
    obj[:, :, 3] = np.rint(crop[:, :, 3].astype(np.float32) * matte).astype(np.uint8)
    bbox = content_bbox(obj[:, :, 3])
    assert bbox is not None
    bx, by, bw, bh = bbox
    obj = obj[by : by + bh, bx : bx + bw]

    # the hole: inpaint where the matte took anything, and blend by the matte
    hole = cv2.dilate((matte > 0.01).astype(np.uint8), np.ones((5, 5), np.uint8))
    rgb = np.ascontiguousarray(crop[:, :, :3])
    filled_rgb = cv2.inpaint(rgb, hole, 5, cv2.INPAINT_TELEA)
    filled_a = cv2.inpaint(np.ascontiguousarray(crop[:, :, 3]), hole, 5, cv2.INPAINT_TELEA)
    weight = np.clip(matte * 1.5, 0.0, 1.0)[..., None]  # fully replace under the object
    filled_crop = np.empty_like(crop)
    filled_crop[:, :, :3] = np.rint(crop[:, :, :3] * (1 - weight) + filled_rgb * weight)
    filled_crop[:, :, 3] = np.rint(crop[:, :, 3] * (1 - weight[..., 0])
                                   + filled_a * weight[..., 0])
    filled = pixels.copy()
    filled[Y0:Y1, X0:X1] = filled_crop

    background = Layer(filled, layer.origin, layer.params)
    origin = (layer.origin[0] + X0 + bx, layer.origin[1] + Y0 + by)
    extracted = Layer(obj, origin, layer.params.with_(name=name))
    # keep the scale's centre: offset' = offset + (centre - centre') * (1 - scale)
    (cx, cy), (ncx, ncy) = layer.center, extracted.center
    (sx, sy), (dx, dy) = layer.params.scale, layer.params.offset
    extracted.params = extracted.params.with_(
        offset=(dx + (cx - ncx) * (1 - sx), dy + (cy - ncy) * (1 - sy))
    )
    return background, extracted


def extract_command(doc: Document, layer: Layer, box: tuple[float, float, float, float]):
    """One undoable step: the layer replaced by [filled layer, extracted object]."""
    background, extracted = extract_layers(layer, box, doc.unique_name("Extracted"))
    return commands.replace_layer(doc, layer.id, [background, extracted], "Extract to Layer")
