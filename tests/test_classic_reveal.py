"""Clean reveals: hiding a decomposed element shows the background without a ghost of its
outline, the element's soft edges carry its own colour, and the layers still composite to the
input. Built pictures with known anti-aliasing (Pillow text, 4x supersampled shapes) over flat,
gradient and textured backgrounds; figures from model/evaluation/reveal.py."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from model.base import DecomposeOptions
from model.classic import ClassicDecomposer
from model.classic.separate import separate
from model.evaluation.compose import flatten
from model.evaluation.reveal import outline_band, outline_visibility, reveal_score

W, H = 360, 240
INK = (24, 30, 90)
SHAPE = (220, 60, 40)
OUTLINE_TARGET = {"flat": 0.02, "gradient": 0.02, "texture": 0.05}


def _background(kind: str, rng: np.random.Generator) -> np.ndarray:
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    c0, c1 = np.array([236.0, 214.0, 160.0]), np.array([150.0, 200.0, 226.0])
    if kind == "flat":
        t = np.zeros((H, W))
    elif kind == "gradient":
        t = (0.7 * xs / W + 0.3 * ys / H)[..., None] * np.ones(3)
        t = t[..., 0]
    else:  # a smooth random field with grain, like the synthetic generator's textures
        coarse = (rng.random((6, 9)) * 255).astype(np.uint8)
        smooth = np.asarray(Image.fromarray(coarse).resize((W, H), Image.Resampling.BICUBIC))
        t = np.clip(smooth / 255.0 * 0.7 + 0.15 + rng.normal(0, 0.04, (H, W)), 0, 1)
    rgb = c0 * (1 - t[..., None]) + c1 * t[..., None]
    out = np.full((H, W, 4), 255, np.uint8)
    out[:, :, :3] = np.clip(np.rint(rgb), 0, 255)
    return out


def _layer(alpha: np.ndarray, colour) -> np.ndarray:
    out = np.zeros((H, W, 4), np.uint8)
    out[:, :, :3] = np.where(alpha[..., None] > 0, np.array(colour, np.uint8), 0)
    out[:, :, 3] = alpha
    return out


def _text_alpha(word: str, x: int, y: int, size: int) -> np.ndarray:
    mask = Image.new("L", (W, H), 0)
    ImageDraw.Draw(mask).text((x, y), word, font=ImageFont.load_default(size=size), fill=255)
    return np.asarray(mask)


def _ellipse_alpha(box: tuple[int, int, int, int]) -> np.ndarray:
    big = Image.new("L", (W * 4, H * 4), 0)
    ImageDraw.Draw(big).ellipse([v * 4 for v in box], fill=255)
    return np.asarray(big.reduce(4))


def _poster(kind: str) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [
        _background(kind, rng),
        _layer(_ellipse_alpha((230, 120, 330, 210)), SHAPE),
        _layer(_text_alpha("Hello Spring", 24, 30, 44), INK),
    ]


@pytest.fixture(scope="module")
def decomposed():
    out = {}
    for kind in OUTLINE_TARGET:
        truth = _poster(kind)
        composite = flatten(truth)
        result = ClassicDecomposer().decompose(composite, DecomposeOptions())
        out[kind] = (truth, composite, [layer.rgba for layer in result.layers])
    return out


@pytest.mark.parametrize("kind", list(OUTLINE_TARGET))
def test_hiding_the_elements_shows_no_outline_of_them(decomposed, kind):
    truth, composite, layers = decomposed[kind]
    score = reveal_score(layers, truth)
    assert score.matched == 2, "the text and the ellipse each come out as a layer"
    assert score.outline is not None and score.outline <= OUTLINE_TARGET[kind], score


@pytest.mark.parametrize("kind", list(OUTLINE_TARGET))
def test_soft_edges_carry_the_elements_own_colour(decomposed, kind):
    truth, composite, layers = decomposed[kind]
    score = reveal_score(layers, truth)
    assert score.edge_pixels > 500
    assert score.edge_l1 is not None and score.edge_l1 <= 4 / 255, score


@pytest.mark.parametrize("kind", list(OUTLINE_TARGET))
def test_the_layers_still_composite_to_the_input(decomposed, kind):
    _, composite, layers = decomposed[kind]
    error = np.abs(flatten(layers).astype(int) - composite.astype(int))
    assert error.max() <= 1 and (error > 0).mean() < 1e-3


def _shadow_poster(kind: str, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    disc = _ellipse_alpha((130, 60, 230, 160))
    blurred = Image.fromarray(disc).filter(ImageFilter.GaussianBlur(8))
    shadow = np.roll(np.asarray(blurred).astype(np.float64) * 0.55, (8, 8), axis=(0, 1))
    truth = [_background(kind, rng), _layer(np.rint(shadow).astype(np.uint8), (20, 20, 20))]
    truth.append(_layer(disc, (70, 160, 90)))
    return truth, shadow * (1.0 - disc / 255.0)  # and the shadow where the disc shows it


@pytest.mark.parametrize("kind", ["flat", "gradient"])
def test_a_soft_shadow_goes_whole_with_its_element_or_stays_whole(kind):
    truth, seen = _shadow_poster(kind, np.random.default_rng(5))
    composite = flatten(truth)
    layers = [x.rgba for x in ClassicDecomposer().decompose(composite, DecomposeOptions()).layers]
    assert np.abs(flatten(layers).astype(int) - composite.astype(int)).max() <= 1
    taken = np.max([x[:, :, 3] for x in layers[1:]], axis=0).astype(np.float64) / 255.0
    share = float((seen * taken).sum() / seen.sum())
    assert share <= 0.1 or share >= 0.9, f"{share:.2f} of the shadow taken out"


@pytest.mark.xfail(
    strict=True,
    reason="issue 15, left: the shadow stays in the background, but under the disc its "
    "continuation (push-pull of the smooth model's residual) does not follow the hidden dark "
    "core, so the disc's rim shows (outline ~15 %); see notes/classic-reveal.md",
)
def test_a_shadow_that_stays_continues_under_its_element_without_an_outline():
    truth, _ = _shadow_poster("flat", np.random.default_rng(5))
    layers = [
        x.rgba for x in ClassicDecomposer().decompose(flatten(truth), DecomposeOptions()).layers
    ]
    score = reveal_score(layers, truth)
    assert score.outline is not None and score.outline <= 0.02, score


def test_extract_lifts_an_object_with_its_own_edge_colour_and_a_clean_hole():
    truth = _poster("texture")[:2]
    composite = flatten(truth)
    rgb = composite[:, :, :3].astype(np.float32) / 255.0
    true_alpha = truth[1][:, :, 3].astype(np.float32) / 255.0
    alpha, colour, under = separate(rgb, true_alpha)
    rebuilt = alpha[..., None] * colour + (1 - alpha[..., None]) * under
    assert np.abs(np.rint(rebuilt * 255) - composite[:, :, :3]).max() <= 1
    edge = (true_alpha > 0) & (true_alpha < 1)
    assert np.abs(colour[edge] * 255 - np.array(SHAPE)).mean() <= 4
    shown = under.astype(np.float32)
    bg = truth[0][:, :, :3].astype(np.float32) / 255.0
    assert outline_visibility(shown, bg, outline_band(true_alpha > 0)) <= 0.05


def test_the_reveal_figures_are_zero_for_the_truth_and_see_a_ghost():
    truth = _poster("flat")
    assert reveal_score(truth, truth).outline == 0.0
    assert reveal_score(truth, truth).edge_l1 == 0.0
    ghost = [layer.copy() for layer in truth]
    ring = (truth[2][:, :, 3] > 0) & (truth[2][:, :, 3] < 255)
    ghost[0][ring, :3] = INK  # the text's anti-aliased rim left in the background
    score = reveal_score(ghost, truth)
    assert score.outline > 0.05 and score.reveal_l1 > 0
