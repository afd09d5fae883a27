"""Translucent bands (model/classic/overlay.py): found when their edges are partly hidden or lie
on a flat stretch or on grain, with the elements placed on top of them cut out of the overlay;
no overlay where the picture has none."""

from __future__ import annotations

import numpy as np
import pytest

from model.base import DecomposeOptions
from model.classic import ClassicDecomposer
from model.classic.overlay import find_band
from tests.classic_fixtures import over, photo, psnr

DECOMPOSER = ClassicDecomposer()
H, W = 240, 320
BAND = slice(90, 170)


def _layer(rgb, alpha: np.ndarray) -> np.ndarray:
    layer = np.zeros((H, W, 4), np.uint8)
    layer[:, :, :3] = rgb
    layer[:, :, 3] = alpha
    return layer


def _background(kind: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, W)[None, :, None]
    if kind == "gradient":  # varies along the band's edges, so the tint is determined
        rgb = np.array([40, 160, 200]) * (1 - x) + np.array([230, 120, 40]) * x
        rgb = np.broadcast_to(rgb, (H, W, 3))
    else:  # a two-colour texture with per-pixel grain
        t = np.clip(0.5 + 0.3 * np.sin(x * 9 + np.linspace(0, 3, H)[:, None, None]), 0, 1)
        t = np.clip(t + rng.normal(0, 0.06, (H, W, 1)), 0, 1)
        rgb = np.array([30, 90, 20]) * (1 - t) + np.array([140, 200, 60]) * t
    return _layer(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), 255)


def _band(alpha: int, colour=(20, 20, 60)) -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    mask[BAND] = alpha
    return _layer(np.array(colour, np.uint8), mask)


def _disc(cy: int, cx: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    inside = np.clip(r + 0.5 - np.hypot(yy - cy, xx - cx), 0, 1)
    return np.rint(inside * 255).astype(np.uint8)


def _overlay(result) -> np.ndarray:
    assert result.layers[-1].name == "Overlay"
    return result.layers[-1].rgba


def _reconstructs(image: np.ndarray, result) -> None:
    composite = over([layer.rgba for layer in result.layers])
    assert psnr(composite[:, :, :3], image[:, :, :3]) >= 40


def test_band_with_a_shape_on_top_leaves_the_shape_out():
    # An opaque disc over the band hides part of its top edge; it must keep its own colour and
    # the overlay must not cover it, while the band around it is recovered.
    disc = _layer(np.array([250, 240, 90], np.uint8), _disc(95, 100, 40))
    image = over([_background("gradient"), _band(110), disc])
    assert find_band(image[:, :, :3].astype(np.float32) / 255.0) is not None
    result = DECOMPOSER.decompose(image, DecomposeOptions(layers=None))
    _reconstructs(image, result)
    top = _overlay(result)[:, :, 3].astype(int)
    solid = disc[:, :, 3] == 255
    assert top[solid & (np.arange(H) >= 90)[:, None]].max() == 0
    clear = np.zeros((H, W), bool)
    clear[BAND] = True
    clear &= ~(disc[:, :, 3] > 0)
    clear[:, 40:160] = False  # the disc's rim may be cut out with a small margin
    assert np.abs(top[clear] - 110).max() <= 3
    below = over([layer.rgba for layer in result.layers[:-1]])
    assert np.abs(below[solid, :3].astype(int) - [250, 240, 90]).max() <= 2


@pytest.mark.parametrize("alpha", [70, 130])
def test_band_over_grain_is_found(alpha):
    image = over([_background("texture"), _band(alpha, (0, 0, 0))])
    band = find_band(image[:, :, :3].astype(np.float32) / 255.0)
    assert band is not None
    assert (band.axis, band.start, band.stop) == (0, BAND.start, BAND.stop)
    assert abs(band.alpha - alpha) <= 3
    assert np.abs(band.colour.astype(int)).max() <= 8


def test_band_whose_far_edge_lies_on_a_flat_stretch_is_found():
    # Left of x = 200 the background is flat, so the edges there do not determine the tint;
    # the right part does, and the whole edge agrees with it.
    bg = _background("gradient")
    bg[:, :200, :3] = bg[0, 200, :3]
    bottom = _layer(np.array([200, 60, 60], np.uint8), 0)
    bottom[150:, 200:, 3] = 255  # an opaque block ends the gradient under the lower edge
    image = over([bg, bottom, _band(90)])
    band = find_band(image[:, :, :3].astype(np.float32) / 255.0)
    assert band is not None and (band.start, band.stop) == (BAND.start, BAND.stop)
    assert abs(band.alpha - 90) <= 3


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_no_band_in_photos(name):
    image = photo(name, (W, H))
    assert find_band(image[:, :, :3].astype(np.float32) / 255.0) is None
