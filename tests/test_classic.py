"""The classic decomposer: exact reconstruction, layer counts, text/shape/subject layers,
background completion, cancel and progress, bad input."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from model.base import Cancelled, CancelToken, DecomposeError, DecomposeOptions
from model.classic import ClassicDecomposer
from model.classic import text as text_module
from model.classic.text import TextLine
from model.classic.textblocks import text_groups
from model.layers import is_meaningful
from tests.classic_fixtures import design, over, photo, premultiplied, psnr, soft_iou

DECOMPOSER = ClassicDecomposer()


def run(image: np.ndarray, layers: int | None = None, **kwargs):
    return DECOMPOSER.decompose(image, DecomposeOptions(layers=layers), **kwargs)


def assert_reconstructs(image: np.ndarray, result, floor: float = 40.0) -> None:
    rgba = image if image.ndim == 3 and image.shape[2] == 4 else None
    for layer in result.layers:
        assert layer.rgba.dtype == np.uint8
        assert layer.rgba.shape == image.shape[:2] + (4,)
    composite = over([layer.rgba for layer in result.layers])
    if rgba is None:  # grayscale or RGB input: compare colours, composite must be opaque
        expected = image if image.ndim == 3 else np.stack([image] * 3, -1)
        assert psnr(composite[:, :, :3], expected[:, :, :3]) >= floor
        assert composite[:, :, 3].min() == 255
    else:
        # Straight colour is undefined where alpha is 0; compare premultiplied values.
        assert psnr(premultiplied(composite), premultiplied(rgba)) >= floor
        for layer in result.layers:  # no layer adds opacity the input does not have
            assert (layer.rgba[:, :, 3] <= rgba[:, :, 3]).all()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_designs_reconstruct(seed):
    sample = design(seed, (200, 160))
    result = run(sample.image)
    assert_reconstructs(sample.image, result)
    assert result.layers[0].name == "Background"
    assert result.backend == "classic"


@pytest.mark.parametrize("size", [(97, 61), (33, 180), (2, 2), (3, 7), (15, 16)])
def test_odd_and_tiny_sizes_reconstruct(size):
    sample = design(7, size)
    result = run(sample.image)
    assert_reconstructs(sample.image, result)


def test_photo_reconstructs_with_subject_and_background():
    # the cup on its table: a clear object, which the photo gate lets through (the astronaut,
    # whose cut loses the helmet, stays one layer now: tests/test_photo_gate.py)
    image = photo("coffee", (256, 171))
    result = run(image)
    assert_reconstructs(image, result)
    names = [layer.name for layer in result.layers]
    assert names[0] == "Background" and "Subject" in names
    subject = result.layers[names.index("Subject")].rgba[:, :, 3]
    soft = (subject > 0) & (subject < 255)
    assert soft.sum() > 100  # a soft matte, not a hard cut
    assert result.layers[0].rgba[:, :, 3].min() == 255  # background complete


def test_grayscale_and_rgb_inputs():
    gray = (photo("coffee", (120, 80))[:, :, 0]).copy()
    assert_reconstructs(gray, run(gray))
    rgb = design(3, (90, 70)).image[:, :, :3].copy()
    assert_reconstructs(rgb, run(rgb))


def test_transparent_input_reconstructs_and_adds_no_opacity():
    sample = design(4, (160, 120))
    image = sample.image.copy()
    ys, xs = np.mgrid[0:120, 0:160]
    alpha = np.clip(xs * 2, 0, 255).astype(np.uint8)  # a ramp from transparent to opaque
    alpha[40:70, 60:100] = 0  # a transparent hole
    alpha[:, :8] = 0
    image[:, :, 3] = alpha
    result = run(image)
    assert_reconstructs(image, result)
    result = run(image, layers=5)
    assert len(result.layers) == 5
    assert_reconstructs(image, result)


def test_fully_transparent_input():
    image = np.zeros((40, 50, 4), np.uint8)
    result = run(image, layers=3)
    assert len(result.layers) == 1  # nothing to split: never padded with empty layers
    assert result.layers[0].rgba[:, :, 3].max() == 0


def assert_meaningful(result) -> None:
    """Every layer of a stack of two or more holds enough of the picture (model.layers)."""
    if len(result.layers) > 1:
        assert all(is_meaningful(layer.rgba) for layer in result.layers)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 9])
def test_exact_layer_count_design(n):
    sample = design(2, (160, 160))
    result = run(sample.image, layers=n)
    assert len(result.layers) == n  # colour clusters of its gradient make up any shortfall
    assert_meaningful(result)
    if n > len(sample.layers):
        assert result.warnings  # more than it found: it says it split
    assert_reconstructs(sample.image, result)


@pytest.mark.parametrize("n", [1, 3, 20])
def test_layer_count_photo_and_tiny(n):
    image = photo("chelsea", (96, 64))
    result = run(image, layers=n)
    assert len(result.layers) == n  # a photo's colours split into meaningful layers
    assert_meaningful(result)
    assert_reconstructs(image, result)
    tiny = design(1, (2, 2)).image
    result = run(tiny, layers=n)
    assert len(result.layers) == 1  # 4 pixels hold no two meaningful layers
    assert_reconstructs(tiny, result)


def test_auto_count_is_sensible():
    sample = design(11, (256, 256), shapes=3, texts=1)
    result = run(sample.image)
    assert 3 <= len(result.layers) <= 8
    flat = design(0, (128, 128), shapes=0, texts=0, gradient=True)
    assert len(run(flat.image).layers) == 1


def _best_iou(truth_alpha: np.ndarray, result) -> tuple[float, int]:
    scores = [soft_iou(truth_alpha, layer.rgba[:, :, 3]) for layer in result.layers[1:]]
    best = int(np.argmax(scores))
    return scores[best], best + 1


def test_text_layer_found_and_named():
    sample = design(21, (400, 300), shapes=1, texts=1)
    result = run(sample.image)
    truth = sample.layers[-1][:, :, 3]
    iou, index = _best_iou(truth, result)
    assert iou >= 0.7
    layer = result.layers[index]
    glyphs = truth > 128
    assert (layer.rgba[:, :, 3][glyphs] > 128).mean() > 0.95
    assert sample.text[-1].lower() in layer.name.lower()


def test_text_block_cut_by_a_picture_is_one_text_layer():
    """A centred three-line block with a photo laid over the middle of two lines: OCR reads
    those lines in parts ("Yog" ... "ss"), which are joined back into their rows and the
    rows into one block, so the block is one text layer, not a layer per fragment."""
    w, h = 520, 420
    base = np.zeros((h, w, 4), np.uint8)
    base[:, :] = (150, 40, 90, 255)
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).multiline_text(
        (w // 2, 40),
        "Limited Edition\nYoga Class\nLimited Edition",
        font=ImageFont.load_default(size=52),
        fill=255,
        anchor="ma",
        align="center",
    )
    glyphs = np.asarray(mask)
    text = np.zeros((h, w, 4), np.uint8)
    text[:, :, :3] = (250, 250, 245)
    text[:, :, 3] = glyphs
    pic = np.zeros((h, w, 4), np.uint8)
    pic[:, :, :3] = photo("coffee", (w, h))[:, :, :3]
    pic[110:400, 200:330, 3] = 255
    image = over([base, text, pic])
    result = run(image)
    assert_reconstructs(image, result)
    visible = glyphs.astype(np.float64) * (pic[:, :, 3] == 0)
    holds = [float((visible * (lay.rgba[:, :, 3] / 255.0)).sum()) for lay in result.layers[1:]]
    assert max(holds) >= 0.85 * visible.sum()  # one layer holds the block (0.48 before)


def _lines_on_flat(boxes: list[tuple[int, int, int, int]], inks: list[tuple]) -> tuple:
    """OCR lines at `boxes` whose glyphs (a bar through the middle of each box) have the
    given inks, on a flat background."""
    rgb = np.full((420, 520, 3), (0.75, 0.25, 0.2), np.float32)
    lines = []
    for (y0, y1, x0, x1), ink in zip(boxes, inks):
        third = (y1 - y0) // 3
        rgb[y0 + third : y1 - third, x0 + 4 : x1 - 4] = ink
        lines.append(TextLine((y0, y1, x0, x1), "word", 0.99))
    return lines, rgb


@pytest.mark.parametrize(
    ("second", "together"),
    [
        ((240, 300, 133, 465), True),  # capitals under a row with descenders: 0.69 as tall
        ((240, 280, 133, 465), False),  # a row under half as tall is another text
        ((380, 440, 133, 465), False),  # far below
    ],
)
def test_stacked_rows_of_one_ink_form_one_block(second, together):
    white = (0.98, 0.98, 0.96)
    lines, rgb = _lines_on_flat([(169, 256, 141, 452), second], [white, white])
    assert (len(text_groups(lines, rgb)) == 1) == together


def test_stacked_rows_of_different_inks_stay_apart():
    lines, rgb = _lines_on_flat(
        [(169, 256, 141, 452), (240, 300, 133, 465)], [(0.98, 0.98, 0.96), (0.05, 0.05, 0.1)]
    )
    assert len(text_groups(lines, rgb)) == 2


@pytest.mark.parametrize("seed", [5, 6, 8])
def test_shape_layer_matches_true_shape(seed):
    sample = design(seed, (256, 256), shapes=1, texts=0)
    result = run(sample.image)
    iou, _ = _best_iou(sample.layers[1][:, :, 3], result)
    assert iou >= 0.9


def test_occluded_shape_is_completed_under_the_shape_above():
    h, w = 200, 260
    bg = np.zeros((h, w, 4), np.uint8)
    bg[:, :] = (235, 225, 200, 255)
    lower = np.zeros((h, w, 4), np.uint8)
    lower[40:150, 30:170] = (30, 90, 200, 255)
    upper = np.zeros((h, w, 4), np.uint8)
    ys, xs = np.mgrid[0:h, 0:w]
    upper[((ys - 140) ** 2 + (xs - 170) ** 2) < 45**2] = (220, 40, 60, 255)
    image = over([bg, lower, upper])
    result = run(image)
    assert_reconstructs(image, result)
    iou, index = _best_iou(lower[:, :, 3], result)
    assert iou >= 0.95  # the hidden corner is part of the rectangle's layer
    upper_iou, upper_index = _best_iou(upper[:, :, 3], result)
    assert upper_iou >= 0.9 and upper_index > index


@pytest.mark.parametrize("gradient", [False, True])
def test_background_under_removed_shapes_is_the_true_background(gradient):
    sample = design(12, (256, 192), shapes=2, texts=1, gradient=gradient)
    result = run(sample.image)
    background = result.layers[0].rgba
    assert background[:, :, 3].min() == 255
    hidden = np.zeros(background.shape[:2], bool)
    for layer in sample.layers[1:]:
        hidden |= layer[:, :, 3] > 0
    error = np.abs(background[:, :, :3].astype(int) - sample.layers[0][:, :, :3].astype(int))
    assert error[hidden].mean() < 4.0


def test_photo_background_fill_follows_the_true_background():
    # A smooth, unremarkable photo-like background with a textured disc pasted on it.
    coarse = np.random.default_rng(3).uniform(70, 180, (4, 6, 3)).astype(np.uint8)
    smooth = Image.fromarray(coarse).resize((192, 128), Image.Resampling.BICUBIC)
    noise = np.random.default_rng(4).normal(0, 6, (128, 192, 3))
    rgb = np.clip(np.asarray(smooth) + noise, 0, 255).astype(np.uint8)
    background = np.dstack([rgb, np.full((128, 192), 255, np.uint8)])
    disc = np.zeros((128, 192), np.uint8)
    ys, xs = np.mgrid[0:128, 0:192]
    disc[((ys - 64) ** 2 + (xs - 96) ** 2) < 35**2] = 255
    subject = photo("astronaut", (192, 128)).copy()
    subject[:, :, 3] = disc
    image = over([background, subject])
    result = run(image, layers=2)
    filled = result.layers[0].rgba[:, :, :3].astype(float)
    inside = disc > 0
    to_truth = np.abs(filled - background[:, :, :3])[inside].mean()
    to_subject = np.abs(filled - subject[:, :, :3])[inside].mean()
    assert to_truth < 0.5 * to_subject


def test_photo_background_behind_the_subject_keeps_its_texture():
    """Moving the subject away reveals the background's own texture (stripes here), not a
    smear: the fill varies as much as the visible background does, with no colour invented."""
    h, w = 160, 240
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    t = 0.5 + 0.4 * np.sin(2 * np.pi * (xs + 0.6 * ys) / 11.0)
    t += np.random.default_rng(5).normal(0, 0.03, (h, w))
    t = np.clip(t, 0, 1)[:, :, None]
    stripes = t * np.array([200, 150, 90]) + (1 - t) * np.array([60, 40, 30])
    background = np.dstack([stripes, np.full((h, w), 255.0)]).astype(np.uint8)
    subject = photo("astronaut", (w, h)).copy()
    disc = ((ys - 80) ** 2 + (xs - 120) ** 2) < 45**2
    subject[:, :, 3] = np.where(disc, 255, 0)
    image = over([background, subject])
    result = run(image, layers=2)
    assert_reconstructs(image, result)
    revealed = result.layers[0].rgba[:, :, :3].astype(float)
    core = ((ys - 80) ** 2 + (xs - 120) ** 2) < 35**2
    visible = ~(((ys - 80) ** 2 + (xs - 120) ** 2) < 55**2)
    assert revealed[core].std(axis=0).mean() > 0.6 * revealed[visible].std(axis=0).mean()
    # the stripes' colours, not the subject's: every filled pixel lies near the stripe line
    truth = background[:, :, :3].astype(float)
    to_truth = np.abs(revealed - truth)[core].mean()
    to_subject = np.abs(revealed - subject[:, :, :3])[core].mean()
    assert to_truth < 0.5 * to_subject


def test_cancel_stops_promptly():
    image = photo("astronaut", (1024, 1024))
    token = CancelToken()
    cancelled_at: list[float] = []

    def cancel_later() -> None:
        time.sleep(0.4)
        cancelled_at.append(time.perf_counter())
        token.cancel()

    thread = threading.Thread(target=cancel_later)
    thread.start()
    with pytest.raises(Cancelled):
        run(image, cancel=token)
    stopped = time.perf_counter()
    thread.join()
    assert stopped - cancelled_at[0] < 1.5


def test_progress_increases():
    reports = []
    run(design(3, (128, 128)).image, progress=reports.append)
    steps = [p.step for p in reports]
    assert steps == sorted(steps) and len(set(steps)) >= 4
    assert all(p.total == reports[0].total and p.phase for p in reports)


def test_bad_input_is_one_sentence():
    for bad in (
        np.zeros((1, 1, 3), np.uint8),
        np.zeros((0, 5, 3), np.uint8),
        np.zeros((10, 10, 2), np.uint8),
        np.zeros((10, 10, 3), np.uint16),
    ):
        with pytest.raises(DecomposeError):
            run(bad)
    with pytest.raises(DecomposeError):
        run(design(0, (32, 32)).image, layers=21)
    huge = np.broadcast_to(np.uint8(200), (7000, 7000, 3))  # 49 megapixels, refused unread
    with pytest.raises(DecomposeError, match="megapixels"):
        run(huge)
    assert DECOMPOSER.availability().ok


def test_ocr_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the OCR tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(text_module, "_engine", None)
    sample = design(21, (400, 300), shapes=0, texts=1)
    lines = text_module.detect_text(sample.image[:, :, :3].astype(np.float32) / 255)
    assert any(sample.text[-1].lower() in line.text.lower() for line in lines)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(2, 40),
    st.integers(2, 40),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["noise", "blocks"]),
    st.booleans(),
    st.one_of(st.none(), st.integers(1, 6)),
)
def test_any_image_reconstructs(w, h, seed, pattern, transparent, n):
    rng = np.random.default_rng(seed)
    if pattern == "noise":
        image = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    else:
        image = np.repeat(np.repeat(rng.integers(0, 256, (4, 4, 4)), 10, 0), 10, 1)
        image = np.ascontiguousarray(image[:h, :w].astype(np.uint8))
    if not transparent:
        image[:, :, 3] = 255
    result = run(image, layers=n)
    if n is not None:
        assert 1 <= len(result.layers) <= n
    assert_reconstructs(image, result)


def _banded(seed: int, alpha: int, opaque: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A gradient design with a full-width band of one colour over it, and the band's layer."""
    base = design(seed, size=(320, 240), gradient=True).image
    rng = np.random.default_rng(seed)
    band = np.zeros_like(base)
    band[:, :, :3] = rng.integers(0, 256, 3)
    band[150:210, :, 3] = 255 if opaque else alpha
    return over([base, band]), band


@pytest.mark.parametrize("seed,alpha", [(3, 60), (3, 140)])
def test_translucent_band_is_its_own_top_layer(seed, alpha):
    image, band = _banded(seed, alpha)
    for n in (None, 3):
        result = run(image, n)
        assert_reconstructs(image, result)
        assert n is None or len(result.layers) == n
        top = result.layers[-1].rgba
        assert result.layers[-1].name == "Overlay"
        assert np.abs(top[:, :, 3].astype(int) - band[:, :, 3]).max() <= 3
        assert np.abs(top[150:210, :, :3].astype(int) - band[150:210, :, :3]).max() <= 8


def test_opaque_full_width_bar_is_not_an_overlay():
    image, _ = _banded(3, 255, opaque=True)
    result = run(image)
    assert_reconstructs(image, result)
    assert all(layer.name != "Overlay" for layer in result.layers)
