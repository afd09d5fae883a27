"""The LayerD-protocol metrics: hand-computed cases and properties that hold for all stacks."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.evaluation.compose import flatten
from model.evaluation.metrics import (
    PSNR_CAP_DB,
    align,
    dtw_path,
    pair_cost,
    pregroup,
    psnr,
    rgb_l1,
    score_sample,
    soft_iou,
)


def layer(h: int, w: int, box=None, rgb=(0, 0, 0), alpha: int = 255) -> np.ndarray:
    out = np.zeros((h, w, 4), np.uint8)
    if box is not None:
        y0, y1, x0, x1 = box
        out[y0:y1, x0:x1, :3] = rgb
        out[y0:y1, x0:x1, 3] = alpha
    return out


# --- pair terms, by hand ------------------------------------------------------------------


def test_pair_terms_hand_computed():
    # gt: top row of a 2x2 canvas, red, opaque. pred: only the top-left pixel red and opaque;
    # the top-right pixel is stored black with alpha 0.
    gt = layer(2, 2, (0, 1, 0, 2), (255, 0, 0))
    pred = layer(2, 2, (0, 1, 0, 1), (255, 0, 0))
    # L1 over gt's 2 pixels: (0 + (255/255 + 0 + 0) / 3) / 2 = 1/6 (pred alpha ignored)
    assert rgb_l1(pred, gt) == pytest.approx(1 / 6)
    # IoU: sum(min) = 1, sum(max) = 2 -> 0.5
    assert soft_iou(pred, gt) == pytest.approx(0.5)
    # cost: (1/6 + 1 - 1/2) / 2 = 1/3
    assert pair_cost(pred, gt) == pytest.approx(1 / 3)


def test_soft_iou_uses_alpha_values():
    pred = layer(1, 1, (0, 1, 0, 1), alpha=51)  # 0.2
    gt = layer(1, 1, (0, 1, 0, 1), alpha=102)  # 0.4
    assert soft_iou(pred, gt) == pytest.approx(0.5)  # 0.2 / 0.4
    assert soft_iou(layer(3, 3), layer(3, 3)) == 0.0  # empty union
    assert rgb_l1(layer(3, 3, (0, 3, 0, 3), (255, 255, 255)), layer(3, 3)) == 0.0  # empty gt


def test_l1_ignores_pixels_outside_the_ground_truth():
    gt = layer(4, 4, (0, 2, 0, 2), (100, 100, 100))
    pred = gt.copy()
    pred[3, 3] = (255, 255, 255, 255)  # outside gt's mask: no effect on L1
    assert rgb_l1(pred, gt) == 0.0
    pred[0, 0, 0] = 151  # +51 in one channel of one of 4 pixels: 51/255/3/4
    assert rgb_l1(pred, gt) == pytest.approx(0.2 / 3 / 4)


# --- DTW ----------------------------------------------------------------------------------


def test_dtw_known_path_and_diagonal_tie_break():
    cost = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    assert dtw_path(cost) == [(0, 0), (1, 1), (1, 2)]
    assert dtw_path(np.zeros((3, 3))) == [(0, 0), (1, 1), (2, 2)]  # ties: the diagonal
    assert dtw_path(np.zeros((1, 3))) == [(0, 0), (0, 1), (0, 2)]


def _all_paths(m: int, n: int):
    def walk(i, j):
        if (i, j) == (m - 1, n - 1):
            yield [(i, j)]
            return
        for di, dj in ((1, 1), (1, 0), (0, 1)):
            if i + di < m and j + dj < n:
                for rest in walk(i + di, j + dj):
                    yield [(i, j)] + rest

    return list(walk(0, 0))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 4),
    st.lists(st.floats(0, 1, allow_nan=False), min_size=16, max_size=16),
)
def test_dtw_is_a_minimal_monotone_path(m, n, values):
    cost = np.array(values[: m * n]).reshape(m, n)
    path = dtw_path(cost)
    assert path[0] == (0, 0) and path[-1] == (m - 1, n - 1)
    for (i0, j0), (i1, j1) in itertools.pairwise(path):
        assert (i1 - i0, j1 - j0) in {(1, 1), (1, 0), (0, 1)}
    best = min(sum(cost[p] for p in candidate) for candidate in _all_paths(m, n))
    assert sum(cost[p] for p in path) == pytest.approx(best)
    # aligning in the other direction is the transposed problem with the same optimum
    flipped = dtw_path(cost.T)
    assert sum(cost.T[p] for p in flipped) == pytest.approx(best)


def test_dtw_is_order_aware():
    h, w = 6, 6
    a = layer(h, w, (0, 6, 0, 6), (200, 0, 0))  # full background
    b = layer(h, w, (1, 3, 1, 3), (0, 200, 0))
    c = layer(h, w, (2, 5, 2, 5), (0, 0, 200))  # overlaps b: stays a separate group
    right = align([a, b, c], [a, b, c])
    assert right.path == [(0, 0), (1, 1), (2, 2)]
    assert right.rgb_l1 == 0.0 and right.alpha_iou == 1.0
    # the same layers in the wrong order cannot all be matched: a monotone path cannot cross
    wrong = align([a, c, b], [a, b, c])
    assert wrong.alpha_iou < 1.0


# --- pre-grouping -------------------------------------------------------------------------


def test_pregroup_joins_disjoint_top_layers_and_keeps_the_composite():
    h, w = 8, 8
    bg = layer(h, w, (0, 8, 0, 8), (10, 10, 10))
    left = layer(h, w, (1, 4, 0, 3), (255, 0, 0))
    right = layer(h, w, (1, 4, 5, 8), (0, 255, 0))
    above_left = layer(h, w, (0, 2, 0, 2), (0, 0, 255))  # overlaps `left` only
    stack = [bg, left, right, above_left]
    groups = pregroup(stack)
    # top set: above_left and right (they overlap nothing above); then left; then bg
    assert len(groups) == 3
    assert np.array_equal(groups[0], bg)
    assert np.array_equal(groups[1], left)
    assert np.array_equal(groups[2], flatten([right, above_left]))
    assert np.array_equal(flatten(groups), flatten(stack))


# --- whole samples ------------------------------------------------------------------------


def test_identical_stacks_are_perfect_at_every_k():
    h, w = 10, 12
    stack = [
        layer(h, w, (0, 10, 0, 12), (30, 60, 90)),
        layer(h, w, (2, 6, 2, 8), (250, 200, 0), alpha=128),
        layer(h, w, (4, 9, 5, 11), (0, 0, 255)),
    ]
    score = score_sample(stack, stack)
    assert score.rgb_l1 == [0.0] * 6
    assert score.alpha_iou == [1.0] * 6
    assert score.merges == []


def test_a_layer_split_in_two_is_perfect_after_one_merge():
    h, w = 20, 20
    bg = layer(h, w, (0, 20, 0, 20), (0, 0, 80))
    square = layer(h, w, (5, 15, 4, 16), (250, 120, 0))
    # the square as two overlapping halves: pre-grouping cannot join them
    half_a = layer(h, w, (5, 15, 4, 11), (250, 120, 0))
    half_b = layer(h, w, (5, 15, 9, 16), (250, 120, 0))
    score = score_sample([bg, half_a, half_b], [bg, square])
    assert score.pred_groups == 3 and score.gt_groups == 2
    assert score.rgb_l1[0] > 0.0 and score.alpha_iou[0] < 1.0
    assert score.merges[0] == "pred 1+2"
    assert score.rgb_l1[1:] == [0.0] * 5
    assert score.alpha_iou[1:] == [1.0] * 5


def test_single_layer_prediction_known_numbers():
    # 4x4 canvas: black opaque background, white opaque 2x2 square. Prediction: the composite.
    h, w = 4, 4
    bg = layer(h, w, (0, 4, 0, 4), (0, 0, 0))
    square = layer(h, w, (1, 3, 1, 3), (255, 255, 255))
    composite = flatten([bg, square])
    score = score_sample([composite], [bg, square])
    # k=0: path (0,0), (0,1).
    #   vs bg: L1 = 4 white pixels of 16 differ by 1 -> 0.25; IoU = 16/16 = 1
    #   vs square: L1 over the square = 0; IoU = 4/16 = 0.25
    #   means: L1 0.125, IoU 0.625
    assert score.rgb_l1[0] == pytest.approx(0.125)
    assert score.alpha_iou[0] == pytest.approx(0.625)
    # k=1: merging the ground truth's two layers gives the composite itself: perfect
    assert score.merges == ["gt 0+1"]
    assert score.rgb_l1[1] == 0.0 and score.alpha_iou[1] == 1.0
    assert score.pred_layers == 1 and score.gt_layers == 2


def test_mismatched_sizes_are_refused():
    with pytest.raises(ValueError):
        score_sample([layer(4, 4)], [layer(4, 5)])


# --- PSNR ---------------------------------------------------------------------------------


def test_psnr_hand_computed():
    target = layer(1, 2, (0, 1, 0, 2), (0, 0, 0))  # two opaque black pixels
    recon = target.copy()
    recon[0, 0, :3] = 255
    # opaque: RGB MSE = (3 * 1^2) / 6 = 0.5 -> 10 log10(2)
    assert psnr([recon], target) == pytest.approx(10 * math.log10(2))
    assert psnr([target], target) == PSNR_CAP_DB
    # transparent input: colours under alpha 0 do not count
    clear = layer(1, 2)
    hidden = clear.copy()
    hidden[0, 0, :3] = 255
    assert psnr([hidden], clear) == PSNR_CAP_DB


# --- properties over random stacks --------------------------------------------------------

H = W = 6


@st.composite
def stacks(draw, max_layers: int = 4):
    count = draw(st.integers(1, max_layers))
    out = []
    for _ in range(count):
        y0 = draw(st.integers(0, H - 1))
        x0 = draw(st.integers(0, W - 1))
        y1 = draw(st.integers(y0 + 1, H))
        x1 = draw(st.integers(x0 + 1, W))
        rgb = tuple(draw(st.integers(0, 255)) for _ in range(3))
        alpha = draw(st.sampled_from([255, 255, 200, 128, 1]))
        out.append(layer(H, W, (y0, y1, x0, x1), rgb, alpha))
    return out


@settings(max_examples=60, deadline=None)
@given(stacks(1), stacks(1))
def test_pair_terms_are_bounded_and_iou_is_symmetric(a, b):
    a, b = a[0], b[0]
    assert 0.0 <= soft_iou(a, b) <= 1.0
    assert soft_iou(a, b) == pytest.approx(soft_iou(b, a))
    assert 0.0 <= rgb_l1(a, b) <= 1.0
    assert soft_iou(a, a) == 1.0 and rgb_l1(a, a) == 0.0


@settings(max_examples=40, deadline=None)
@given(stacks())
def test_pregroup_keeps_the_composite(stack):
    groups = pregroup(stack)
    assert 1 <= len(groups) <= len(stack)
    diff = np.abs(flatten(groups).astype(int) - flatten(stack).astype(int))
    assert diff.max() <= 1  # rounding of the straight-alpha 8-bit composite


@settings(max_examples=40, deadline=None)
@given(stacks())
def test_a_stack_scored_against_itself_is_perfect(stack):
    score = score_sample(stack, stack)
    assert score.rgb_l1 == [0.0] * 6
    assert score.alpha_iou == [1.0] * 6


@settings(max_examples=40, deadline=None)
@given(stacks(), stacks())
def test_merges_never_make_the_score_worse(pred, gt):
    score = score_sample(pred, gt)
    costs = [(l1 + 1.0 - iou) / 2.0 for l1, iou in zip(score.rgb_l1, score.alpha_iou)]
    assert len(costs) == 6
    for before, after in itertools.pairwise(costs):
        assert after <= before + 1e-12
    assert all(0.0 <= v <= 1.0 for v in score.rgb_l1 + score.alpha_iou)
    assert len(score.merges) <= 5
