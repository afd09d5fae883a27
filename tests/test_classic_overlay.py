"""Translucent bands (model/classic/overlay.py): found when their edges are partly hidden or lie
on a flat stretch or on grain, with the elements placed on top of them cut out of the overlay;
no overlay where the picture has none."""

from __future__ import annotations

import numpy as np
import pytest

from model.base import DecomposeOptions
from model.classic import ClassicDecomposer
from model.classic.overlay import find_band
from model.classic.pieces import dilate
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


def _named(result, name: str) -> int:
    names = [layer.name for layer in result.layers]
    assert name in names
    return names.index(name)


def _reconstructs(image: np.ndarray, result) -> None:
    composite = over([layer.rgba for layer in result.layers])
    assert psnr(composite[:, :, :3], image[:, :, :3]) >= 40


def test_band_goes_whole_under_a_shape_on_top_of_it():
    # An opaque disc over the band hides part of its top edge. The band must still be found,
    # come back whole (a full-width strip at its alpha, under the disc too), and the disc must
    # stay above it in its own colour.
    disc = _layer(np.array([250, 240, 90], np.uint8), _disc(95, 100, 40))
    image = over([_background("gradient"), _band(110), disc])
    band = find_band(image[:, :, :3].astype(np.float32) / 255.0)
    assert band is not None and (band.start, band.stop) == (BAND.start, BAND.stop)
    result = DECOMPOSER.decompose(image, DecomposeOptions(layers=None))
    _reconstructs(image, result)
    at = _named(result, "Overlay")
    assert at < len(result.layers) - 1  # something (the disc) lies above the band
    top = result.layers[at].rgba[:, :, 3].astype(int)
    assert np.abs(top[BAND] - 110).max() <= 3
    assert top[: BAND.start].max() == 0 and top[BAND.stop :].max() == 0
    above = over([layer.rgba for layer in result.layers[at + 1 :]])
    solid = disc[:, :, 3] == 255
    assert (above[solid, 3] == 255).mean() > 0.98
    assert (
        np.abs(above[solid & (above[:, :, 3] == 255), :3].astype(int) - [250, 240, 90]).max() <= 2
    )


def test_band_cut_out_where_an_element_on_it_was_not_separated():
    # Requested as 2 layers, the disc cannot get a layer of its own above the band: the band is
    # then cut out under it instead of tinting it, and the disc keeps its colour below.
    disc = _layer(np.array([250, 240, 90], np.uint8), _disc(95, 100, 40))
    image = over([_background("gradient"), _band(110), disc])
    result = DECOMPOSER.decompose(image, DecomposeOptions(layers=2))
    _reconstructs(image, result)
    assert [layer.name for layer in result.layers][-1] == "Overlay"
    top = result.layers[-1].rgba[:, :, 3]
    solid = disc[:, :, 3] == 255
    assert top[solid].max() == 0
    clear = np.zeros((H, W), bool)
    clear[BAND] = True
    clear &= ~dilate(disc[:, :, 3] > 0, 6)  # the cut-out may take the disc's rim with it
    assert np.abs(top[clear].astype(int) - 110).max() <= 3


@pytest.mark.parametrize("alpha", [70, 130])
def test_band_over_grain_is_found(alpha):
    image = over([_background("texture"), _band(alpha, (0, 0, 0))])
    band = find_band(image[:, :, :3].astype(np.float32) / 255.0)
    assert band is not None
    assert (band.axis, band.start, band.stop) == (0, BAND.start, BAND.stop)
    assert abs(band.alpha - alpha) <= 3
    assert np.abs(band.colour.astype(int)).max() <= 8


def test_band_whose_far_edge_lies_on_a_flat_stretch_is_found():
    # The lower edge lies on a flat full-width block, where the tint cannot be solved; the
    # gradient at the upper edge determines it and the lower edge only has to agree.
    bottom = _layer(np.array([200, 60, 60], np.uint8), 0)
    bottom[150:, :, 3] = 255
    image = over([_background("gradient"), bottom, _band(90)])
    band = find_band(image[:, :, :3].astype(np.float32) / 255.0)
    assert band is not None and (band.start, band.stop) == (BAND.start, BAND.stop)
    assert abs(band.alpha - 90) <= 3


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_no_band_in_photos(name):
    image = photo(name, (W, H))
    assert find_band(image[:, :, :3].astype(np.float32) / 255.0) is None
