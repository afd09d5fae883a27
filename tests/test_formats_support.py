"""Shared helpers for the file-format tests (no tests here)."""

from __future__ import annotations

import numpy as np

from app.core.document import Document
from app.core.layer import Layer, LayerParams, Recolor

NAMES = ["Background", "Слой 1", "Ébauche", "图层", "Layer 4", "Layer 5"]


def blob(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """An RGBA patch: an opaque ellipse with a soft edge on a transparent ground, noisy colour."""
    yy, xx = np.mgrid[0:h, 0:w]
    r = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    alpha = np.clip((1.1 - r) * 400, 0, 255).astype(np.uint8)
    out = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    out[:, :, 3] = alpha
    return out


def make_doc(
    seed: int = 0, layers: int = 4, size: tuple[int, int] = (64, 48), edits: bool = False
) -> Document:
    rng = np.random.default_rng(seed)
    width, height = size
    doc = Document(width, height)
    background = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    background[:, :, 3] = 255
    doc.layers.append(Layer(background, (0, 0), LayerParams(name=NAMES[0])))
    for i in range(1, layers):
        w = int(rng.integers(min(8, width // 2), width // 2 + 1))
        h = int(rng.integers(min(8, height // 2), height // 2 + 1))
        x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
        params = LayerParams(
            name=NAMES[i % len(NAMES)],
            opacity=float(rng.choice([1.0, 0.5, 0.8])),
            visible=i != 2,
        )
        if edits:
            params = params.with_(
                offset=(float(rng.integers(-4, 5)), float(rng.integers(-4, 5))),
                scale=(1.25, 1.25) if i % 2 else (1.0, 1.0),
                recolor=Recolor(hue=40.0) if i % 3 == 0 else Recolor(),
            )
        doc.layers.append(Layer(blob(rng, w, h), (x, y), params))
    doc.source = background.copy()
    doc.metadata = {"backend": "test", "timings": {"total": 1.5}}
    return doc


def premultiplied(rgba: np.ndarray) -> np.ndarray:
    a = rgba.astype(np.float64)
    return np.concatenate([a[:, :, :3] * a[:, :, 3:4] / 255.0, a[:, :, 3:4]], axis=2)
