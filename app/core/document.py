"""The layered document: a canvas, a layer stack (index 0 = bottom), a source image."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.layer import Layer


@dataclass(eq=False)
class Document:
    width: int
    height: int
    layers: list[Layer] = field(default_factory=list)
    source: np.ndarray | None = None  # the flat RGBA image the layers came from, if any
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"canvas size must be positive, got {self.width}x{self.height}")

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @classmethod
    def from_image(cls, rgba: np.ndarray, name: str = "Background") -> Document:
        """A one-layer document holding a flat RGBA image, kept as the source too.

        The layer is the photo itself, so its position is locked, as Photoshop's Background.
        """
        h, w = rgba.shape[:2]
        rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
        doc = cls(w, h, [Layer.from_canvas(rgba, name, locked=True)], source=rgba)
        return doc

    def index_of(self, layer_id: str) -> int:
        for i, layer in enumerate(self.layers):
            if layer.id == layer_id:
                return i
        raise KeyError(f"no layer with id {layer_id}")

    def layer(self, layer_id: str) -> Layer:
        return self.layers[self.index_of(layer_id)]

    def topmost_at(self, x: float, y: float, unlocked: bool = False) -> Layer | None:
        """The topmost visible layer with a non-transparent pixel at canvas (x, y); with
        `unlocked`, the topmost such layer whose position is not locked."""
        for layer in reversed(self.layers):
            if unlocked and layer.locked:
                continue
            if layer.params.visible and layer.contains(x, y):
                return layer
        return None

    def unique_name(self, base: str) -> str:
        names = {layer.name for layer in self.layers}
        if base not in names:
            return base
        n = 2
        while f"{base} {n}" in names:
            n += 1
        return f"{base} {n}"
