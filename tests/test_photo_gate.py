"""Classic's photo subject is gated: a cut becomes a layer only when it looks like an object
(model/classic/gate.py); otherwise the picture stays one layer and the warning points to Object
Select. Also the object-mask set with true mattes and its scores (model/evaluation/objects.py)."""

from __future__ import annotations

import numpy as np
import pytest
from classic_fixtures import photo
from PIL import Image

from model.base import DecomposeOptions
from model.classic import ClassicDecomposer
from model.classic.gate import judge, no_object
from model.classic.subject import subject_alpha
from model.evaluation.objects import mask_scores, object_sample


def decompose(rgb: np.ndarray):
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    return ClassicDecomposer().decompose(rgba, DecomposeOptions())


def noisy_backdrop(w: int, h: int, seed: int) -> np.ndarray:
    """A smooth, unremarkable photo-like backdrop: a few blurred colours plus sensor noise."""
    coarse = np.random.default_rng(seed).uniform(70, 180, (4, 6, 3)).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC))
    noise = np.random.default_rng(seed + 1).normal(0, 5, (h, w, 3))
    return np.clip(smooth + noise, 0, 255).astype(np.uint8)


def sky(w: int, h: int) -> np.ndarray:
    ys = np.linspace(0, 1, h)[:, None, None]
    top, bottom = np.array([60, 110, 200]), np.array([170, 200, 235])
    rgb = top * (1 - ys) + bottom * ys + np.random.default_rng(2).normal(0, 2.5, (h, w, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("picture", ["noise", "sky", "gradient"])
def test_a_picture_with_no_object_stays_one_layer(picture):
    h, w = 120, 180
    if picture == "noise":
        rgb = np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)
    elif picture == "sky":
        rgb = sky(w, h)
    else:
        xs = np.linspace(0, 1, w)[None, :, None]
        rgb = np.broadcast_to(np.array([30, 60, 90]) + xs * np.array([200, 150, 100]), (h, w, 3))
        rgb = np.rint(rgb).astype(np.uint8)
    result = decompose(rgb)
    assert len(result.layers) == 1
    assert np.array_equal(result.layers[0].rgba[:, :, :3], rgb)
    if picture != "gradient":  # a clean gradient is a design: nothing to cut, nothing to say
        assert any("Object Select (W)" in w for w in result.warnings), result.warnings


def test_a_clear_object_on_a_plain_background_is_two_layers():
    h, w = 160, 240
    backdrop = noisy_backdrop(w, h, 3)
    ys, xs = np.mgrid[0:h, 0:w]
    disc = ((ys - 80) / 50.0) ** 2 + ((xs - 120) / 70.0) ** 2 < 1
    cup = photo("coffee", (w, h))[:, :, :3]
    rgb = np.where(disc[:, :, None], cup, backdrop)
    result = decompose(rgb)
    names = [layer.name for layer in result.layers]
    assert len(result.layers) == 2 and names[1] == "Subject", (names, result.warnings)
    assert not any("Object Select" in w for w in result.warnings)
    alpha = result.layers[1].rgba[:, :, 3]
    assert mask_scores(alpha, disc.astype(np.uint8) * 255)["iou"] > 0.9


def _cup_on_backdrop() -> tuple[np.ndarray, np.ndarray]:
    h, w = 160, 240
    ys, xs = np.mgrid[0:h, 0:w]
    disc = ((ys - 80) / 45.0) ** 2 + ((xs - 120) / 60.0) ** 2 < 1
    rgb = np.where(disc[:, :, None], photo("coffee", (w, h))[:, :, :3], noisy_backdrop(w, h, 7))
    return rgb.astype(np.float32) / 255.0, disc


def test_the_gate_passes_the_true_outline_and_fails_each_kind_of_bad_cut():
    rgb, disc = _cup_on_backdrop()
    assert judge(rgb, disc).passed
    shifted = np.roll(disc, 25, axis=1)  # same shape, off the object's edges
    verdict = judge(rgb, shifted)
    assert not verdict.passed and "edges" in verdict.reason
    pieces = disc.copy()
    pieces[:, 110:130] = False  # cut in two halves
    assert not judge(rgb, pieces).passed
    assert "pieces" in judge(rgb, pieces).reason
    ragged = disc.copy()
    ragged[::6, :] = False  # a comb, not an object
    assert "ragged" in judge(rgb, ragged).reason or "pieces" in judge(rgb, ragged).reason
    tiny = np.zeros_like(disc)
    tiny[78:82, 118:122] = True
    assert "too small" in judge(rgb, tiny).reason


def test_the_warning_points_to_object_select_and_says_why():
    message = no_object("the best guess is ragged")
    assert message.startswith("no clear object found (the best guess is ragged)")
    assert message.endswith("use Object Select (W) to pick one")


def test_ungated_cut_is_still_available_for_measurement():
    h, w = 96, 128
    rgb = np.random.default_rng(4).random((h, w, 3)).astype(np.float32)
    gated, verdict = subject_alpha(rgb, np.ones((h, w), np.float32), lambda: None)
    assert gated is None
    if verdict is not None:  # GrabCut found something: the ungated path returns its matte
        ungated, again = subject_alpha(rgb, np.ones((h, w), np.float32), lambda: None, gated=False)
        assert again is not None and again.passed == verdict.passed
        assert ungated is not None and ungated.shape == (h, w)


def test_object_samples_are_seeded_and_their_mattes_are_true():
    a, b = object_sample(9, 3), object_sample(9, 3)
    assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.alpha, b.alpha)
    kinds = set()
    for index in range(12):
        s = object_sample(9, index)
        kinds.add(s.kind.split("-on-")[0])
        outside = s.alpha == 0
        assert np.array_equal(s.rgb[outside], s.background[outside])
        if s.kind.startswith("none"):
            assert not s.alpha.any()
        else:
            assert s.alpha.any() and (s.rgb[s.alpha == 255] != s.background[s.alpha == 255]).any()
    assert len(kinds) >= 3


def test_mask_scores():
    h, w = 200, 200
    ys, xs = np.mgrid[0:h, 0:w]
    disc = ((ys - 100) ** 2 + (xs - 100) ** 2 < 60**2).astype(np.uint8) * 255
    assert mask_scores(disc, disc) == {"iou": 1.0, "boundary_f": 1.0}
    assert mask_scores(np.zeros_like(disc), np.zeros_like(disc)) == {"iou": 1.0, "boundary_f": 1.0}
    assert mask_scores(np.zeros_like(disc), disc) == {"iou": 0.0, "boundary_f": 0.0}
    near = np.roll(disc, 1, axis=1)  # within the boundary tolerance
    far = np.roll(disc, 20, axis=1)
    assert mask_scores(near, disc)["boundary_f"] == 1.0
    far_scores = mask_scores(far, disc)
    assert far_scores["boundary_f"] < 0.3 and 0.5 < far_scores["iou"] < 0.8
