"""Extract to layer: lift the object inside a box (or a roughly painted region) onto its own
layer with a soft matte, and fill the hole it leaves in the source layer. Qt-free; runs in a
worker thread.

Works in the source layer's own pixel space, so both new layers keep the source's edits
(offset, scale, colour, opacity) and sit exactly where it was.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from scipy import ndimage

from app.core import commands
from app.core.document import Document
from app.core.errors import StrataError
from app.core.layer import Layer, content_bbox
from model.classic.separate import separate

GRABCUT_MAX_SIDE = 480
FEATHER_SIGMA = 1.2
Box = tuple[float, float, float, float]  # canvas x, y, width, height


class ExtractFailed(StrataError):
    """Nothing sensible could be extracted from the region."""


def _to_source(layer: Layer, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canvas points -> the layer's pixel coordinates (columns, rows; corner-based)."""
    (sx, sy), (dx, dy) = layer.params.scale, layer.params.offset
    cx, cy = layer.center
    bx = cx + sx * (layer.origin[0] - cx) + dx
    by = cy + sy * (layer.origin[1] - cy) + dy
    return (np.asarray(x, np.float64) - bx) / sx, (np.asarray(y, np.float64) - by) / sy


def box_region(layer: Layer, box: Box) -> np.ndarray:
    """The canvas box as a mask over the layer's pixels."""
    x, y, w, h = box
    (c0, c1), (r0, r1) = _to_source(layer, np.array([x, x + w]), np.array([y, y + h]))
    ph, pw = layer.pixels.shape[:2]
    c0, c1 = int(np.clip(np.floor(c0), 0, pw)), int(np.clip(np.ceil(c1), 0, pw))
    r0, r1 = int(np.clip(np.floor(r0), 0, ph)), int(np.clip(np.ceil(r1), 0, ph))
    region = np.zeros((ph, pw), bool)
    if c1 - c0 >= 2 and r1 - r0 >= 2:
        region[r0:r1, c0:c1] = True
    return region


def stroke_region(layer: Layer, points: Sequence[tuple[float, float]], radius: float
                  ) -> np.ndarray:
    """A painted stroke (canvas points, brush radius in canvas pixels) as a mask over the
    layer's pixels; areas the stroke encloses count as painted."""
    ph, pw = layer.pixels.shape[:2]
    region = np.zeros((ph, pw), np.uint8)
    if not points:
        return region.astype(bool)
    xs, ys = zip(*points)
    cols, rows = _to_source(layer, np.array(xs), np.array(ys))
    thickness = max(1, round(2 * radius / abs(layer.params.scale[0])))
    path = np.round(np.stack([cols, rows], axis=1)).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(region, [path], False, 1, thickness=thickness, lineType=cv2.LINE_8)
    if len(points) == 1:
        cv2.circle(region, tuple(int(v) for v in path[0, 0]), thickness // 2, 1, -1)
    return ndimage.binary_fill_holes(region > 0)


def object_matte(rgba: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Soft matte (float32 0..1, the size of `rgba`) of the object within the `inside` mask."""
    h, w = rgba.shape[:2]
    alpha = rgba[:, :, 3].astype(np.float32) / 255.0
    grey = np.float32(128.0)
    rgb = rgba[:, :, :3].astype(np.float32) * alpha[..., None] + grey * (1 - alpha[..., None])
    k = min(1.0, GRABCUT_MAX_SIDE / max(h, w))
    small_w, small_h = max(2, round(w * k)), max(2, round(h * k))
    img = cv2.resize(rgb, (small_w, small_h), interpolation=cv2.INTER_AREA).astype(np.uint8)
    inside_u8 = inside.astype(np.uint8)
    inside_small = cv2.resize(inside_u8, (small_w, small_h), interpolation=cv2.INTER_NEAREST)
    opaque_small = cv2.resize(alpha, (small_w, small_h), interpolation=cv2.INTER_AREA) > 0.05
    mask = np.where(inside_small > 0, cv2.GC_PR_FGD, cv2.GC_BGD).astype(np.uint8)
    mask[~opaque_small] = cv2.GC_BGD
    if not (mask == cv2.GC_BGD).any():
        # the region covers everything: let its rim stand for the background
        mask[[0, -1], :] = cv2.GC_BGD
        mask[:, [0, -1]] = cv2.GC_BGD
    if not (mask == cv2.GC_PR_FGD).any():
        raise ExtractFailed("The region holds no visible pixels of the layer.")
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(img, mask, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        raise ExtractFailed("Could not tell the object from its background there.") from None
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.float32)
    fg = cv2.resize(fg, (w, h), interpolation=cv2.INTER_LINEAR)
    fg = (fg > 0.5).astype(np.float32)
    matte = cv2.GaussianBlur(fg, (0, 0), FEATHER_SIGMA) * inside_u8
    matte[matte < 0.01] = 0.0
    return matte * (alpha > 0)


def extract_region(layer: Layer, region: np.ndarray, name: str,
                   matte: np.ndarray | None = None) -> tuple[Layer, Layer]:
    """(source with the hole filled, extracted object) for a mask over the layer's pixels;
    `matte` (float 0..1 over the layer's pixels) replaces the GrabCut matte when given."""
    box = content_bbox(region.astype(np.uint8))
    if box is None:
        raise ExtractFailed("The region does not cover the selected layer.")
    c0, r0, bw0, bh0 = box
    c1, r1 = c0 + bw0, r0 + bh0
    pixels = layer.pixels
    ph, pw = pixels.shape[:2]
    margin = max(8, round(0.15 * max(bw0, bh0)))
    X0, Y0 = max(0, c0 - margin), max(0, r0 - margin)
    X1, Y1 = min(pw, c1 + margin), min(ph, r1 + margin)
    crop = pixels[Y0:Y1, X0:X1]
    if matte is None:
        matte = object_matte(crop, region[Y0:Y1, X0:X1])
    else:
        matte = np.clip(matte[Y0:Y1, X0:X1], 0.0, 1.0).astype(np.float32) * (crop[:, :, 3] > 0)
    if matte.max() < 0.5:
        raise ExtractFailed("No object found there; take in a little more around it.")

    # the object: its own colours (edges unmixed from what lies under them) with the matte as
    # extra alpha, cropped to its content; under it, the picture continued from clean pixels
    alpha, colour, under = separate(crop[:, :, :3].astype(np.float32) / 255.0, matte)
    obj = np.zeros_like(crop)
    obj[:, :, :3] = np.rint(colour * 255.0)
    obj[:, :, 3] = np.rint(crop[:, :, 3].astype(np.float32) * alpha).astype(np.uint8)
    bbox = content_bbox(obj[:, :, 3])
    assert bbox is not None
    bx, by, bw, bh = bbox
    obj = obj[by : by + bh, bx : bx + bw]

    # the hole's alpha: inpainted where the matte took anything, blended by the matte
    hole = cv2.dilate((alpha > 0).astype(np.uint8), np.ones((5, 5), np.uint8))
    filled_a = cv2.inpaint(np.ascontiguousarray(crop[:, :, 3]), hole, 5, cv2.INPAINT_TELEA)
    weight = np.clip(matte * 1.5, 0.0, 1.0)[..., None]  # fully replace under the object
    filled_crop = np.empty_like(crop)
    filled_crop[:, :, :3] = np.where(alpha[..., None] > 0, np.rint(under * 255.0), crop[:, :, :3])
    filled_crop[:, :, 3] = np.rint(crop[:, :, 3] * (1 - weight[..., 0])
                                   + filled_a * weight[..., 0])
    filled = pixels.copy()
    filled[Y0:Y1, X0:X1] = filled_crop

    background = Layer(filled, layer.origin, layer.params)
    origin = (layer.origin[0] + X0 + bx, layer.origin[1] + Y0 + by)
    extracted = Layer(obj, origin, layer.params.with_(name=name, locked=False))  # movable
    # keep the scale's centre: offset' = offset + (centre - centre') * (1 - scale)
    (cx, cy), (ncx, ncy) = layer.center, extracted.center
    (sx, sy), (dx, dy) = layer.params.scale, layer.params.offset
    extracted.params = extracted.params.with_(
        offset=(dx + (cx - ncx) * (1 - sx), dy + (cy - ncy) * (1 - sy))
    )
    return background, extracted


def extract_layers(layer: Layer, box: Box, name: str) -> tuple[Layer, Layer]:
    """(source with the hole filled, extracted object) for a canvas `box` over `layer`."""
    return extract_region(layer, box_region(layer, box), name)


def extract_command(doc: Document, layer: Layer, region: np.ndarray):
    """One undoable step: the layer replaced by [filled layer, extracted object]."""
    background, extracted = extract_region(layer, region, doc.unique_name("Extracted"))
    background = background.cropped_to_content()  # the hole may have emptied its edges
    return commands.replace_layer(doc, layer.id, [background, extracted], "Extract to Layer")
