"""Object Select without Qt: which picture the segmenter sees for a layer, canvas points in
that picture's pixels, the prompts gathered so far, and the undoable "object to layer" step.
Runs in worker threads.

The segmenter sees the layer's own pixels (its source pixels, before its offset and scale),
so a mask lies over exactly the pixels Extract would lift; transparent parts show as grey.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.core import commands
from app.core.document import Document
from app.core.layer import Layer
from app.ui.extract import ExtractFailed, _to_source, extract_region
from model.segment.segmenter import Box, Point, Prediction


def layer_picture(layer: Layer) -> np.ndarray:
    """The layer's pixels as an opaque RGB picture (uint8): transparency over mid grey."""
    px = layer.pixels
    alpha = px[:, :, 3:4].astype(np.float32) / 255.0
    rgb = px[:, :, :3].astype(np.float32) * alpha + 128.0 * (1.0 - alpha)
    return np.rint(rgb).astype(np.uint8)


def picture_point(layer: Layer, x: float, y: float) -> Point:
    """Canvas (x, y) -> the layer picture's pixel coordinates as Segment Anything takes them
    (pixel index, so the centre of pixel (c, r) is (c, r))."""
    cols, rows = _to_source(layer, np.array([x]), np.array([y]))
    return float(cols[0]) - 0.5, float(rows[0]) - 0.5


def picture_box(layer: Layer, x0: float, y0: float, x1: float, y1: float) -> Box:
    (a, b), (c, d) = picture_point(layer, x0, y0), picture_point(layer, x1, y1)
    return min(a, c), min(b, d), max(a, c), max(b, d)


@dataclass
class Prompts:
    """What the user has asked for so far: points with labels (1 add, 0 remove), a box."""

    points: list[Point] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    box: Box | None = None

    def add(self, point: Point, positive: bool = True) -> None:
        self.points.append(point)
        self.labels.append(1 if positive else 0)

    @property
    def empty(self) -> bool:
        return not self.points and self.box is None

    def with_point(self, point: Point) -> Prompts:
        """These prompts plus one positive point (what a hover would add)."""
        return Prompts([*self.points, point], [*self.labels, 1], self.box)

    def clear(self) -> None:
        self.points.clear()
        self.labels.clear()
        self.box = None


def object_command(doc: Document, layer: Layer, prediction: Prediction, matter=None):
    """One undoable step: `layer` replaced by [itself with the object's hole filled, the
    object matted onto its own layer]. The composite is unchanged until the object moves."""
    from model.segment.matte import matte

    mask = prediction.mask()  # the layer picture's size
    if not mask.any():
        raise ExtractFailed("Nothing is selected; click on an object first.")
    alpha = matte(layer_picture(layer), mask, matter) * (layer.pixels[:, :, 3] > 0)
    region = alpha > 0
    background, extracted = extract_region(layer, region, doc.unique_name("Object"), alpha)
    background = background.cropped_to_content()
    return commands.replace_layer(doc, layer.id, [background, extracted], "Object to Layer")
