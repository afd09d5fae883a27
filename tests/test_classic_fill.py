"""The patch-based hole fill behind removed photo subjects (model/classic/fill.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from model.classic.background import texture_fill
from model.classic.fill import fill_hole, push_pull


def _stripes(h: int, w: int, period: float, seed: int = 0) -> np.ndarray:
    """Diagonal colour stripes with a little grain: a texture with a clear structure."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    wave = 0.5 + 0.4 * np.sin(2 * np.pi * (xs + 0.5 * ys) / period)
    grain = np.random.default_rng(seed).normal(0, 0.02, (h, w)).astype(np.float32)
    t = np.clip(wave + grain, 0, 1)[:, :, None]
    dark, light = np.array([0.3, 0.15, 0.05], np.float32), np.array([0.9, 0.7, 0.4], np.float32)
    return dark * (1 - t) + light * t


def _disc(h: int, w: int, cy: float, cx: float, radius: float) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w]
    return (ys - cy) ** 2 + (xs - cx) ** 2 <= radius**2


def test_texture_continues_into_a_large_hole() -> None:
    truth = _stripes(240, 300, period=14.0)
    hole = _disc(240, 300, 120, 150, 60)
    filled = fill_hole(truth, hole)
    smooth = push_pull(truth, hole)
    # the stripes go on inside the hole: the fill varies like the texture does, where a
    # smooth fill (or front-propagating inpainting) flattens it
    assert filled[hole].std(axis=0).mean() > 0.7 * truth[hole].std(axis=0).mean()
    assert smooth[hole].std(axis=0).mean() < 0.5 * truth[hole].std(axis=0).mean()
    # and its local structure matches the truth's: neighbouring pixels along a stripe are
    # alike, across a stripe they differ
    along = np.abs(filled[1:, :-2] - filled[:-1, 2:]).mean(axis=2)  # direction (1, -2)
    inner = hole[1:, :-2] & hole[:-1, 2:]
    truth_along = np.abs(truth[1:, :-2] - truth[:-1, 2:]).mean(axis=2)
    assert along[inner].mean() < 2.5 * truth_along[inner].mean() + 0.02


def test_only_the_hole_changes_and_colours_stay_in_range() -> None:
    rng = np.random.default_rng(3)
    picture = rng.random((90, 130, 3)).astype(np.float32)
    hole = _disc(90, 130, 45, 40, 25) | _disc(90, 130, 10, 120, 12)  # one touches the border
    filled = fill_hole(picture, hole)
    assert np.array_equal(filled[~hole], picture[~hole])
    assert filled.min() >= 0.0 and filled.max() <= 1.0 and np.isfinite(filled).all()


def test_the_fill_is_made_of_the_picture_own_colours() -> None:
    """Two-colour picture: a patch fill copies those colours, it does not invent mixtures."""
    picture = np.zeros((160, 160, 3), np.float32)
    picture[:, :] = (0.9, 0.2, 0.1)
    picture[(np.arange(160)[:, None] // 10 + np.arange(160)[None, :] // 10) % 2 == 1] = (
        0.1,
        0.3,
        0.8,
    )
    hole = _disc(160, 160, 80, 80, 35)
    filled = fill_hole(picture, hole)[hole]
    nearest = np.minimum(
        np.abs(filled - (0.9, 0.2, 0.1)).max(axis=1), np.abs(filled - (0.1, 0.3, 0.8)).max(axis=1)
    )
    assert np.mean(nearest < 0.1) > 0.8


def test_degenerate_holes() -> None:
    picture = np.full((40, 50, 3), 0.25, np.float32)
    picture[:, 25:] = 0.75
    none = np.zeros((40, 50), bool)
    assert np.array_equal(fill_hole(picture, none), picture)
    everything = np.ones((40, 50), bool)
    assert np.allclose(fill_hole(picture, everything), picture.reshape(-1, 3).mean(axis=0))
    tiny = np.random.default_rng(0).random((5, 4, 3)).astype(np.float32)
    tiny_hole = np.zeros((5, 4), bool)
    tiny_hole[2, 1] = True
    out = fill_hole(tiny, tiny_hole)  # too small for patches: the smooth fill
    assert np.isfinite(out).all() and np.array_equal(out[~tiny_hole], tiny[~tiny_hole])


def test_texture_fill_on_a_large_picture_fills_at_a_working_size() -> None:
    picture = _stripes(1300, 700, period=30.0)
    hole = _disc(1300, 700, 650, 350, 120)
    out = texture_fill(picture, hole)
    assert out.shape == picture.shape
    assert np.array_equal(out[~hole], picture[~hole])
    assert out[hole].std(axis=0).mean() > 0.5 * picture[hole].std(axis=0).mean()


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(1, 48),
    w=st.integers(1, 48),
    seed=st.integers(0, 2**16),
    fraction=st.floats(0.0, 1.0),
)
def test_any_picture_and_hole(h: int, w: int, seed: int, fraction: float) -> None:
    rng = np.random.default_rng(seed)
    picture = rng.random((h, w, 3)).astype(np.float32)
    hole = rng.random((h, w)) < fraction
    out = fill_hole(picture, hole, seed=seed)
    assert out.shape == picture.shape and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(out[~hole], picture[~hole])
