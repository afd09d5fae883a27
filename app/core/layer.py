"""A layer: immutable source pixels cropped to their content, plus edit parameters.

Edits are parameters applied at render and export time (see `render.py`), so undoing an
edit never copies pixels and nothing degrades after many edits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

import numpy as np

from model.text_spec import TextSpec

Rect = tuple[int, int, int, int]  # x, y, width, height


def new_layer_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Recolor:
    """Colour edits, applied in this order: hue, saturation, brightness, tint."""

    hue: float = 0.0  # degrees, -180..180
    saturation: float = 1.0  # multiplier: 0 grey, 1 unchanged, up to 2
    brightness: float = 0.0  # -1 black .. 0 unchanged .. 1 white
    tint: tuple[int, int, int] = (255, 255, 255)
    tint_strength: float = 0.0  # 0 none .. 1 flat tint colour

    def is_identity(self) -> bool:
        return (
            self.hue % 360 == 0
            and self.saturation == 1.0
            and self.brightness == 0.0
            and self.tint_strength == 0.0
        )


@dataclass(frozen=True)
class LayerParams:
    """Everything about a layer a user can change without touching its pixels."""

    name: str = "Layer"
    visible: bool = True
    opacity: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)  # translation in canvas pixels
    scale: tuple[float, float] = (1.0, 1.0)  # about the source content's centre
    recolor: Recolor = field(default_factory=Recolor)
    # Position lock (Photoshop's "lock position"): the layer cannot be moved or scaled.
    locked: bool = False

    def with_(self, **changes: object) -> LayerParams:
        return replace(self, **changes)  # type: ignore[arg-type]


def _readonly(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim != 3 or pixels.shape[2] != 4 or pixels.dtype != np.uint8:
        raise ValueError(f"layer pixels must be HxWx4 uint8, got {pixels.shape} {pixels.dtype}")
    if pixels.flags.writeable:
        pixels = pixels.copy()
        pixels.flags.writeable = False
    return pixels


def content_bbox(alpha: np.ndarray) -> Rect | None:
    """Bounding box of the pixels with alpha > 0, or None when all are transparent."""
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(alpha.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


@dataclass(eq=False)
class Layer:
    """One layer. `pixels` is straight-alpha RGBA uint8 and never modified in place."""

    pixels: np.ndarray
    origin: tuple[int, int] = (0, 0)  # canvas position of pixels[0, 0]
    params: LayerParams = field(default_factory=LayerParams)
    id: str = field(default_factory=new_layer_id)
    # A text layer: its words and type. `pixels` are then its render, or the pixels it was
    # found with (decomposition, an opened PSD) until its text is edited (text_layer.py).
    text: TextSpec | None = None

    def __post_init__(self) -> None:
        self.pixels = _readonly(self.pixels)
        self.origin = (int(self.origin[0]), int(self.origin[1]))

    @classmethod
    def from_canvas(
        cls, rgba: np.ndarray, name: str = "Layer", origin: tuple[int, int] = (0, 0), **params
    ) -> Layer:
        """A layer from an RGBA image placed at `origin`, cropped to its visible content."""
        box = content_bbox(rgba[:, :, 3])
        if box is None:
            x, y, w, h = 0, 0, 1, 1
            pixels = np.zeros((1, 1, 4), np.uint8)
        else:
            x, y, w, h = box
            pixels = rgba[y : y + h, x : x + w]
        return cls(pixels, (origin[0] + x, origin[1] + y), LayerParams(name=name, **params))

    @property
    def name(self) -> str:
        return self.params.name

    @property
    def is_text(self) -> bool:
        return self.text is not None

    @property
    def locked(self) -> bool:
        return self.params.locked

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.shape[1], self.pixels.shape[0]

    @property
    def source_rect(self) -> Rect:
        return (*self.origin, *self.size)

    @property
    def center(self) -> tuple[float, float]:
        w, h = self.size
        return self.origin[0] + w / 2, self.origin[1] + h / 2

    def bounds(self) -> tuple[float, float, float, float]:
        """Canvas rectangle (x0, y0, x1, y1) the edited layer covers, in float pixels."""
        cx, cy = self.center
        sx, sy = self.params.scale
        dx, dy = self.params.offset
        w, h = self.size
        x0 = cx + dx - abs(sx) * w / 2
        y0 = cy + dy - abs(sy) * h / 2
        return x0, y0, x0 + abs(sx) * w, y0 + abs(sy) * h

    def contains(self, x: float, y: float) -> bool:
        """Whether the edited layer has a non-transparent pixel at canvas point (x, y)."""
        sx, sy = self.params.scale
        if sx == 0 or sy == 0:
            return False
        cx, cy = self.center
        dx, dy = self.params.offset
        u = (x - cx - dx) / sx + cx - self.origin[0]
        v = (y - cy - dy) / sy + cy - self.origin[1]
        col, row = int(np.floor(u)), int(np.floor(v))
        w, h = self.size
        return 0 <= col < w and 0 <= row < h and self.pixels[row, col, 3] > 0

    def copy(self, name: str | None = None) -> Layer:
        """A new layer (new id) sharing these read-only pixels."""
        params = self.params if name is None else self.params.with_(name=name)
        return Layer(self.pixels, self.origin, params, text=self.text)

    def cropped_to_content(self) -> Layer:
        """This layer (same id) with its pixels cropped to those with alpha > 0, looking the
        same on the canvas: the offset moves the scale's centre back where it was. Itself when
        already tight; one transparent pixel at its origin when nothing is visible."""
        box = content_bbox(self.pixels[:, :, 3])
        w, h = self.size
        if box == (0, 0, w, h):
            return self
        if box is None:
            box = (0, 0, 1, 1)
            pixels = np.zeros((1, 1, 4), np.uint8)
        else:
            x, y, bw, bh = box
            pixels = self.pixels[y : y + bh, x : x + bw]
        cropped = Layer(pixels, (self.origin[0] + box[0], self.origin[1] + box[1]),
                        self.params, self.id, self.text)
        # offset' = offset + (centre - centre') * (1 - scale), as for any re-cropped layer
        (cx, cy), (ncx, ncy) = self.center, cropped.center
        (sx, sy), (dx, dy) = self.params.scale, self.params.offset
        cropped.params = self.params.with_(
            offset=(dx + (cx - ncx) * (1 - sx), dy + (cy - ncy) * (1 - sy))
        )
        return cropped
