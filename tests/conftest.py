"""Shared fixtures: a seeded random generator and a builder of random small documents."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app.core.document import Document
from app.core.formats.limits import set_max_pixels
from app.core.layer import Layer, LayerParams, Recolor
from tests.shared_data import shared_psd


def random_pixels(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """RGBA uint8 with a mix of transparent, opaque and soft alpha (the hard cases)."""
    pixels = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    kind = rng.integers(0, 3, (h, w))
    pixels[:, :, 3] = np.where(kind == 0, 0, np.where(kind == 1, 255, pixels[:, :, 3]))
    return pixels


def random_params(rng: np.random.Generator, name: str, edits: bool = True) -> LayerParams:
    if not edits:
        return LayerParams(name=name)
    integer = rng.random() < 0.4
    offset = (
        (float(rng.integers(-6, 7)), float(rng.integers(-6, 7)))
        if integer
        else (float(rng.uniform(-6, 6)), float(rng.uniform(-6, 6)))
    )
    scale = (1.0, 1.0) if integer else (float(rng.uniform(0.2, 2.5)), float(rng.uniform(0.2, 2.5)))
    recolor = Recolor()
    if rng.random() < 0.3:
        recolor = Recolor(
            hue=float(rng.uniform(-180, 180)),
            saturation=float(rng.uniform(0, 2)),
            brightness=float(rng.uniform(-1, 1)),
            tint=tuple(int(v) for v in rng.integers(0, 256, 3)),
            tint_strength=float(rng.uniform(0, 1)),
        )
    return LayerParams(
        name=name,
        visible=bool(rng.random() < 0.85),
        opacity=float(rng.choice([1.0, rng.uniform(0, 1)])),
        offset=offset,
        scale=scale,
        recolor=recolor,
    )


def make_random_document(
    rng: np.random.Generator,
    width: int = 24,
    height: int = 20,
    n_layers: int = 4,
    edits: bool = True,
) -> Document:
    """A small document whose layers have random sizes, places, alpha and edit parameters."""
    layers = []
    for i in range(n_layers):
        w, h = int(rng.integers(1, width + 1)), int(rng.integers(1, height + 1))
        origin = (int(rng.integers(-w // 2, width)), int(rng.integers(-h // 2, height)))
        params = random_params(rng, f"Layer {i}", edits)
        layers.append(Layer(random_pixels(rng, w, h), origin, params))
    return Document(width, height, layers)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def random_document() -> Callable[..., Document]:
    """`random_document(seed_or_rng, width=24, height=20, n_layers=4, edits=True)`.

    Stateless, so hypothesis tests may use it (suppress the function-scoped-fixture check).
    """

    def build(seed: int | np.random.Generator = 0, **kwargs) -> Document:
        gen = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        return make_random_document(gen, **kwargs)

    return build


@pytest.fixture
def shared_psd_dir() -> Path:
    """../shared/data/psd: skips with where to put it when absent; fails in CI (CI=true)."""
    return shared_psd()


@pytest.fixture
def default_pixel_limit(monkeypatch):
    """The program's own pixel limit, neither the environment's nor one a test set."""
    monkeypatch.delenv("STRATA_MAX_PIXELS", raising=False)
    set_max_pixels(None)
    yield
    set_max_pixels(None)
