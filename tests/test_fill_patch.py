"""The multi-scale patch fill behind `fill_hole` (model/classic/patchfill.py): it keeps a photo's
grain where a mean of patches leaves a smooth blob, never copies from the object's margin,
changes only the hole, and its numba kernels are on the warm-up list."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from model.classic import warmup
from model.classic.fill import fill_hole, push_pull
from model.classic.patchfill import PATCH, _grid, patch_fill
from model.evaluation.fillquality import fill_scores


def grainy_sky(h: int = 160, w: int = 200, seed: int = 0) -> np.ndarray:
    """A vertical gradient with film grain: what a photo's sky looks like up close."""
    ys = np.linspace(0, 1, h)[:, None, None]
    base = np.array([0.15, 0.25, 0.5]) * (1 - ys) + np.array([0.45, 0.55, 0.75]) * ys
    grain = np.random.default_rng(seed).normal(0, 0.04, (h, w, 1))
    return np.clip(base + grain, 0, 1).astype(np.float32)


def disc(h: int, w: int, cy: int, cx: int, radius: int) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w]
    return (ys - cy) ** 2 + (xs - cx) ** 2 < radius**2


def _highpass_std(image: np.ndarray, mask: np.ndarray) -> float:
    grey = image.mean(axis=-1)
    detail = grey - (np.roll(grey, 1, 0) + np.roll(grey, -1, 0) + np.roll(grey, 1, 1)
                     + np.roll(grey, -1, 1)) / 4  # fmt: skip
    return float(detail[mask].std())


def test_the_patch_fill_keeps_the_grain_where_the_mean_of_patches_blurs_it():
    truth = grainy_sky()
    hole = disc(*truth.shape[:2], 80, 100, 45)
    core = disc(*truth.shape[:2], 80, 100, 38)
    patch = fill_hole(truth, hole, method="patch")
    vectorised = fill_hole(truth, hole, method="vectorised")
    grain = _highpass_std(truth, core)
    assert _highpass_std(patch, core) > 0.8 * grain
    assert _highpass_std(vectorised, core) < 0.8 * grain  # the earlier fill: smoother
    # and the grain sits on the right shade (no lighter or darker blob)
    assert np.abs(patch[core].mean(axis=0) - truth[core].mean(axis=0)).max() < 0.05
    ours = fill_scores(patch, truth, hole)
    earlier = fill_scores(vectorised, truth, hole)
    assert ours["gradient_histogram"] < earlier["gradient_histogram"]


def test_sources_keep_away_from_the_hole_by_the_margin():
    """No source patch reaches within `margin` pixels of the hole (the object's anti-aliased
    rim is not copied in), and hole pixels are never sources."""
    h, w = 120, 160
    hole = disc(h, w, 60, 80, 30)
    r = PATCH // 2
    for margin in (0, 4):
        source, target = _grid(hole, margin, r)
        reach = cv2.dilate(hole.astype(np.uint8), np.ones((2 * (r + margin) + 1,) * 2, np.uint8))
        assert not (source & (reach > 0)).any()
        assert target[hole[r:-r, r:-r].nonzero()[0] + r, hole[r:-r, r:-r].nonzero()[1] + r].all()
    near = cv2.dilate(hole.astype(np.uint8), np.ones((2 * (r + 4) + 1,) * 2, np.uint8)) > 0
    assert (_grid(hole, 0, r)[0] & near).any()  # without a margin they do come that close


def test_only_the_hole_changes_and_the_same_seed_gives_the_same_fill():
    picture = grainy_sky(96, 128, seed=5)
    hole = np.zeros((96, 128), bool)
    hole[30:70, 20:50] = True
    hole[10:14, 90:120] = True  # a thin one too
    a = fill_hole(picture, hole, method="patch", seed=1)
    b = fill_hole(picture, hole, method="patch", seed=1)
    assert np.array_equal(a, b)
    assert np.array_equal(a[~hole], picture[~hole])
    assert np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1


def test_too_little_to_copy_from_falls_back():
    picture = grainy_sky(12, 12)
    hole = np.zeros((12, 12), bool)
    hole[3:9, 3:9] = True
    assert patch_fill(picture, hole, push_pull(picture, hole)) is None
    out = fill_hole(picture, hole, method="patch")  # the earlier fill takes over
    assert np.array_equal(out[~hole], picture[~hole]) and np.isfinite(out).all()
    everything = np.ones((40, 40), bool)
    big = grainy_sky(40, 40)
    assert np.allclose(fill_hole(big, everything, method="patch"), big.reshape(-1, 3).mean(0))


@pytest.mark.parametrize("shape", [(64, 300), (300, 64)])
def test_long_thin_pictures(shape):
    h, w = shape
    picture = grainy_sky(h, w, seed=6)
    hole = disc(h, w, h // 2, w // 2, 20)
    out = fill_hole(picture, hole, method="patch")
    assert np.array_equal(out[~hole], picture[~hole]) and np.isfinite(out).all()


def test_the_patch_fill_is_on_the_warm_up_list():
    assert "model.classic.patchfill" in warmup.NUMBA_MODULES
    warmup.warm_fill()  # what the set-up runs: every kernel, the carrying ones too
    assert warmup.module_cache_ready("model.classic.patchfill")
