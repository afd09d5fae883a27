"""The classic decomposer on smooth (flat or gradient) backgrounds: faint elements that the
background's colour model does not explain are layers, smooth backgrounds stay one layer."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from model.base import DecomposeOptions
from model.classic import ClassicDecomposer
from tests.classic_fixtures import over, psnr, soft_iou

DECOMPOSER = ClassicDecomposer()
H, W = 240, 320


def _gradient(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    t = np.linspace(0.0, 1.0, H)[:, None, None]
    rgb = (1 - t) * np.array(top) + t * np.array(bottom)
    out = np.full((H, W, 4), 255, np.uint8)
    out[:, :, :3] = np.rint(np.broadcast_to(rgb, (H, W, 3)))
    return out


def _soft_ellipse(box: tuple[int, int, int, int]) -> np.ndarray:
    """An anti-aliased ellipse layer (4x supersampled), colour left black."""
    canvas = Image.new("L", (W * 4, H * 4), 0)
    ImageDraw.Draw(canvas).ellipse([v * 4 for v in box], fill=255)
    alpha = np.asarray(canvas.resize((W, H), Image.Resampling.BOX))
    layer = np.zeros((H, W, 4), np.uint8)
    layer[:, :, 3] = alpha
    return layer


@pytest.mark.parametrize("flat", [True, False])
def test_faint_shape_on_smooth_background_is_a_layer(flat):
    # 9/255 lighter than the background under it: its anti-aliased edge changes too slowly
    # to separate it, but the background's colour model does not explain it.
    bg = _gradient((120, 140, 200), (120, 140, 200) if flat else (160, 110, 170))
    shape = _soft_ellipse((60, 50, 200, 170))
    shape[:, :, :3] = bg[:, :, :3] + 9
    image = over([bg, shape])
    result = DECOMPOSER.decompose(image, DecomposeOptions(layers=None))
    composite = over([layer.rgba for layer in result.layers])
    assert psnr(composite[:, :, :3], image[:, :, :3]) >= 40
    assert len(result.layers) == 2
    assert soft_iou(shape[:, :, 3], result.layers[1].rgba[:, :, 3]) >= 0.85


def test_radial_gradient_background_stays_one_layer():
    # A radial gradient its polynomial model fits only roughly: no part of it may be cut
    # out as a faint "shape" (its departures from the model fade out, they have no edge).
    ys, xs = np.mgrid[0:H, 0:W]
    r2 = ((ys - 0.6 * H) ** 2 + (xs - 0.4 * W) ** 2) / (0.45 * W) ** 2
    t = 1.0 - np.exp(-r2)[:, :, None]
    rgb = (1 - t) * np.array([110, 40, 130]) + t * np.array([20, 220, 90])
    image = np.full((H, W, 4), 255, np.uint8)
    image[:, :, :3] = np.rint(rgb)
    result = DECOMPOSER.decompose(image, DecomposeOptions(layers=None))
    assert len(result.layers) == 1


@pytest.mark.parametrize("opacity", [0.5, 0.8])
def test_translucent_shape_over_a_gradient_keeps_its_opacity_and_colour(opacity):
    bg = _gradient((40, 60, 200), (230, 200, 60))
    shape = _soft_ellipse((60, 50, 220, 190))
    shape[:, :, :3] = (200, 30, 90)
    shape[:, :, 3] = np.rint(shape[:, :, 3] * opacity)
    image = over([bg, shape])
    result = DECOMPOSER.decompose(image, DecomposeOptions(layers=None))
    composite = over([layer.rgba for layer in result.layers])
    assert psnr(composite[:, :, :3], image[:, :, :3]) >= 40
    assert len(result.layers) == 2
    layer = result.layers[1].rgba
    assert soft_iou(shape[:, :, 3], layer[:, :, 3]) >= 0.9
    inside = shape[:, :, 3] == shape[:, :, 3].max()
    assert abs(float(np.median(layer[:, :, 3][inside])) - 255 * opacity) <= 6
    assert np.abs(np.median(layer[:, :, :3][inside], axis=0) - (200, 30, 90)).max() <= 6


def test_opaque_gradient_fill_over_a_gradient_stays_opaque():
    bg = _gradient((40, 60, 200), (230, 200, 60))
    shape = _soft_ellipse((60, 50, 220, 190))
    shape[:, :, :3] = _gradient((250, 20, 20), (20, 20, 250))[:, :, :3]
    image = over([bg, shape])
    result = DECOMPOSER.decompose(image, DecomposeOptions(layers=None))
    assert len(result.layers) == 2
    assert soft_iou(shape[:, :, 3], result.layers[1].rgba[:, :, 3]) >= 0.95


def test_small_icon_is_its_own_layer():
    # 24x24 px on 320x240 (0.75 % of the canvas, above the 0.6 % speck limit): a designer
    # wants an icon as a layer. (A 0.3 % limit kept smaller ones too, but lost on held-out data.)
    bg = _gradient((240, 235, 220), (240, 235, 220))
    icon = np.zeros((H, W, 4), np.uint8)
    icon[40:64, 250:274] = (30, 60, 150, 255)
    image = over([bg, icon])
    result = DECOMPOSER.decompose(image, DecomposeOptions(layers=None))
    assert len(result.layers) == 2
    assert soft_iou(icon[:, :, 3], result.layers[1].rgba[:, :, 3]) >= 0.9
