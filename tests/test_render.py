"""What an edited layer looks like: render_layer, apply_recolor and the reference compositor."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.document import Document
from app.core.layer import Layer, LayerParams, Recolor
from app.core.render import (
    ShrinkCache,
    apply_recolor,
    composite_reference,
    premultiply,
    prepare_layer,
    recolors_shrunk,
    render_layer,
    shrunk_premultiplied,
)

HYPO = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _solid(rgb: tuple[int, int, int], w: int = 3, h: int = 2, a: int = 255) -> np.ndarray:
    px = np.zeros((h, w, 4), np.uint8)
    px[:, :, :3] = rgb
    px[:, :, 3] = a
    return px


def _recolor_rgb(rgb: tuple[int, int, int], **kw) -> np.ndarray:
    return apply_recolor(_solid(rgb), Recolor(**kw))[0, 0].astype(int)


def _disc(size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    inside = (xx - size / 2) ** 2 + (yy - size / 2) ** 2 <= (size / 2 - 1) ** 2
    px = np.zeros((size, size, 4), np.uint8)
    px[inside] = (200, 60, 30, 255)
    return px


def _alpha_centroid(alpha: np.ndarray, x0: int, y0: int) -> tuple[float, float]:
    yy, xx = np.mgrid[0 : alpha.shape[0], 0 : alpha.shape[1]] + 0.5
    total = alpha.sum()
    return x0 + float((xx * alpha).sum() / total), y0 + float((yy * alpha).sum() / total)


# --- Integer translation is exact.


def test_integer_translate_is_exact(rng):
    px = rng.integers(0, 256, (7, 9, 4), dtype=np.uint8)
    px[:, :, 3] = rng.choice([0, 90, 255], (7, 9))
    layer = Layer(px, (4, 5), LayerParams(offset=(3.0, -2.0)))
    doc = Document(20, 16, [layer])
    out = composite_reference(doc)
    x, y = 4 + 3, 5 - 2
    placed = out[y : y + 7, x : x + 9]
    np.testing.assert_array_equal(placed[:, :, 3], px[:, :, 3])
    shown = px[:, :, 3] > 0
    np.testing.assert_array_equal(placed[shown][:, :3], px[shown][:, :3])
    outside = np.ones((16, 20), bool)
    outside[y : y + 7, x : x + 9] = False
    assert not out[outside].any()


def test_integer_translate_render_is_the_premultiplied_source(rng):
    px = rng.integers(0, 256, (5, 6, 4), dtype=np.uint8)
    layer = Layer(px, (2, 3), LayerParams(offset=(-4.0, 7.0), opacity=0.4))
    placed = render_layer(layer)
    assert placed.rect == (2 - 4, 3 + 7, 6, 5)
    np.testing.assert_array_equal(placed.premul, premultiply(px, 0.4))


def test_translate_off_canvas_is_clipped_by_the_canvas(rng):
    px = _solid((10, 20, 30), 4, 4)
    doc = Document(6, 6, [Layer(px, (0, 0), LayerParams(offset=(4.0, 4.0)))])
    out = composite_reference(doc)
    assert out[4:, 4:, 3].min() == 255 and out[:4, :, 3].max() == 0 and out[:, :4, 3].max() == 0


# --- Scaling is about the centre of the content.


@pytest.mark.parametrize("scale", [(2.0, 2.0), (0.5, 0.5), (1.7, 0.6), (0.3, 0.3)])
def test_scale_about_centre_keeps_the_centre(scale):
    layer = Layer(_disc(24), (30, 20), LayerParams(scale=scale))
    assert layer.center == (42.0, 32.0)
    placed = render_layer(layer)
    cx, cy = _alpha_centroid(placed.premul[:, :, 3], placed.x, placed.y)
    assert cx == pytest.approx(42.0, abs=0.05)
    assert cy == pytest.approx(32.0, abs=0.05)
    x0, y0, x1, y1 = layer.bounds()
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((42.0, 32.0))
    assert (x1 - x0, y1 - y0) == pytest.approx((24 * scale[0], 24 * scale[1]))


def test_scale_changes_the_covered_area_by_the_factor():
    base = render_layer(Layer(_disc(24), (30, 20)))
    double = render_layer(Layer(_disc(24), (30, 20), LayerParams(scale=(2.0, 2.0))))
    ratio = double.premul[:, :, 3].sum() / base.premul[:, :, 3].sum()
    assert ratio == pytest.approx(4.0, rel=0.03)


@pytest.mark.parametrize("view_scale", [0.25, 0.3, 0.11])
def test_shrinking_ignores_the_colour_of_transparent_pixels(view_scale):
    """Area averaging happens premultiplied: no dark (or light) fringes at soft edges."""
    black = np.zeros((30, 30, 4), np.uint8)
    black[10:20, 10:20] = (255, 0, 0, 255)
    black[9, 10:20] = (255, 0, 0, 100)
    white = black.copy()
    white[black[:, :, 3] == 0] = (255, 255, 255, 0)
    a = render_layer(Layer(black, (3, 5)), view_scale)
    b = render_layer(Layer(white, (3, 5)), view_scale)
    np.testing.assert_allclose(a.premul, b.premul, atol=1e-6)
    shown = a.premul[:, :, 3] > 0.02
    straight_red = a.premul[:, :, 0][shown] / a.premul[:, :, 3][shown]
    np.testing.assert_allclose(straight_red, 1.0, atol=1e-3)
    assert a.premul[:, :, 1:3].max() < 1e-6


@pytest.mark.parametrize("scale", [0.3, 0.2, 0.11])
def test_shrinking_a_flat_colour_keeps_it(scale):
    layer = Layer(_solid((40, 150, 220), 64, 48), (0, 0), LayerParams(scale=(scale, scale)))
    placed = render_layer(layer)
    interior = placed.premul[2:-2, 2:-2]  # bilinear edges fall off over ~2 view pixels
    assert np.abs(interior - np.float32([40, 150, 220, 255]) / 255).max() < 2e-3
    assert abs(placed.premul[:, :, 3].sum() - 64 * 48 * scale * scale) < 0.1 * 64 * 48 * scale


def test_scale_then_translate_moves_the_centre_by_the_offset():
    layer = Layer(_disc(20), (10, 10), LayerParams(scale=(1.5, 1.5), offset=(5.5, -3.25)))
    placed = render_layer(layer)
    cx, cy = _alpha_centroid(placed.premul[:, :, 3], placed.x, placed.y)
    assert (cx, cy) == pytest.approx((20 + 5.5, 20 - 3.25), abs=0.05)


# --- Recolor: identity is a no-op, each component does what it says.


def test_identity_recolor_is_a_no_op(rng):
    px = rng.integers(0, 256, (5, 5, 4), dtype=np.uint8)
    assert apply_recolor(px, Recolor()) is px
    assert apply_recolor(px, Recolor(hue=360.0)) is px
    assert Recolor(hue=-360).is_identity() and not Recolor(hue=1).is_identity()
    plain = render_layer(Layer(px, (1, 1), LayerParams(offset=(0.5, 0.25))))
    same = render_layer(Layer(px, (1, 1), LayerParams(offset=(0.5, 0.25), recolor=Recolor())))
    np.testing.assert_array_equal(plain.premul, same.premul)


@pytest.mark.parametrize(
    ("hue", "expected"),
    [(120, (0, 255, 0)), (240, (0, 0, 255)), (-120, (0, 0, 255)), (60, (255, 255, 0))],
)
def test_hue_rotates_around_the_colour_wheel(hue, expected):
    np.testing.assert_allclose(_recolor_rgb((255, 0, 0), hue=hue)[:3], expected, atol=1)


def test_saturation_zero_gives_grey_and_two_pushes_away_from_grey():
    grey = _recolor_rgb((200, 100, 50), saturation=0.0)
    np.testing.assert_allclose(grey[:3], (200, 200, 200), atol=1)
    vivid = _recolor_rgb((200, 150, 100), saturation=2.0)
    assert vivid[0] == pytest.approx(200, abs=1) and vivid[2] < 100 // 2 + 2


@pytest.mark.parametrize(
    ("brightness", "expected"),
    [(1.0, (255, 255, 255)), (-1.0, (0, 0, 0)), (0.5, (178, 128, 153)), (-0.5, (50, 0, 25))],
)
def test_brightness_moves_towards_white_or_black(brightness, expected):
    got = _recolor_rgb((100, 0, 50), brightness=brightness)
    np.testing.assert_allclose(got[:3], expected, atol=1)


def test_tint_blends_towards_the_tint_colour():
    full = _recolor_rgb((10, 200, 30), tint=(250, 0, 100), tint_strength=1.0)
    np.testing.assert_allclose(full[:3], (250, 0, 100), atol=1)
    half = _recolor_rgb((10, 200, 30), tint=(250, 0, 100), tint_strength=0.5)
    np.testing.assert_allclose(half[:3], (130, 100, 65), atol=1)


def test_brightness_applies_before_tint():
    got = _recolor_rgb((100, 0, 50), brightness=0.5, tint=(250, 0, 100), tint_strength=0.5)
    np.testing.assert_allclose(got[:3], (214, 64, 126), atol=1)


def test_hue_wraps_both_ways():
    for hue in (-180.0, 180.0, 540.0):
        np.testing.assert_allclose(_recolor_rgb((255, 0, 0), hue=hue)[:3], (0, 255, 255), atol=1)


def test_recolor_keeps_alpha_and_the_source(rng):
    px = rng.integers(0, 256, (6, 4, 4), dtype=np.uint8)
    before = px.copy()
    out = apply_recolor(px, Recolor(hue=90, saturation=0.3, brightness=0.2, tint_strength=0.4))
    np.testing.assert_array_equal(out[:, :, 3], px[:, :, 3])
    np.testing.assert_array_equal(px, before)


def test_recolor_renders_and_leaves_the_layer_pixels_alone():
    layer = Layer(_solid((255, 0, 0), 4, 4), (0, 0), LayerParams(recolor=Recolor(hue=120)))
    out = composite_reference(Document(4, 4, [layer]))
    np.testing.assert_allclose(out[0, 0].astype(int), (0, 255, 0, 255), atol=1)
    assert tuple(layer.pixels[0, 0]) == (255, 0, 0, 255)


# --- What contributes to the composite.


def _two_layer_doc(top_params: LayerParams) -> Document:
    bottom = Layer(_solid((0, 0, 255), 8, 8), (0, 0), LayerParams(name="blue"))
    top = Layer(_solid((255, 0, 0), 4, 4), (2, 2), top_params)
    return Document(8, 8, [bottom, top])


@pytest.mark.parametrize(
    "params", [LayerParams(visible=False), LayerParams(opacity=0.0)], ids=["hidden", "opacity0"]
)
def test_hidden_or_transparent_layers_contribute_nothing(params):
    doc = _two_layer_doc(params)
    alone = Document(8, 8, doc.layers[:1])
    np.testing.assert_array_equal(composite_reference(doc), composite_reference(alone))
    if params.visible:  # opacity 0: the rendered patch itself is empty
        assert render_layer(doc.layers[1]).premul.max() == 0.0


def test_straight_over_on_known_pixels():
    out = composite_reference(_two_layer_doc(LayerParams(opacity=0.5)))
    np.testing.assert_array_equal(out[0, 0], (0, 0, 255, 255))
    np.testing.assert_allclose(out[3, 3].astype(int), (128, 0, 128, 255), atol=1)
    half = Layer(_solid((255, 0, 0), 4, 4), (2, 2), LayerParams(opacity=0.5))
    alone = composite_reference(Document(8, 8, [half]))
    np.testing.assert_allclose(alone[3, 3].astype(int), (255, 0, 0, 128), atol=1)


def test_view_scale_halves_the_view():
    doc = Document(9, 7, [Layer(_solid((1, 2, 3), 9, 7), (0, 0))])
    assert composite_reference(doc, 0.5).shape == (4, 5, 4)
    assert composite_reference(doc, 2.0).shape == (14, 18, 4)


# --- A clip and cached prepared pixels change the work, never the pixels.


@HYPO
@given(seed=st.integers(0, 2**31), view_scale=st.sampled_from([1.0, 0.5, 0.3, 1.75]))
def test_render_layer_is_the_same_with_a_clip_or_prepared_pixels(random_document, seed, view_scale):
    doc = random_document(seed, n_layers=1)
    layer = doc.layers[0]
    full = render_layer(layer, view_scale)
    rng = np.random.default_rng(seed)
    clip = tuple(int(v) for v in rng.integers(-4, 30, 2)) + tuple(
        int(v) for v in rng.integers(1, 20, 2)
    )
    for kwargs in ({}, {"prepared": prepare_layer(layer, view_scale)}):
        clipped = render_layer(layer, view_scale, clip=clip, **kwargs)
        if full is None:
            assert clipped is None
            continue
        unclipped = render_layer(layer, view_scale, **kwargs)
        np.testing.assert_allclose(unclipped.premul, full.premul, atol=1e-5)
        fx, fy, fw, fh = full.rect
        if clipped is None:
            cx, cy, cw, ch = clip
            assert cx >= fx + fw or cy >= fy + fh or cx + cw <= fx or cy + ch <= fy
            continue
        x, y, w, h = clipped.rect
        assert fx <= x and fy <= y and x + w <= fx + fw and y + h <= fy + fh
        part = full.premul[y - fy : y - fy + h, x - fx : x - fx + w]
        np.testing.assert_allclose(clipped.premul, part, atol=2e-5)


def test_prepared_pixels_for_another_scale_are_refused(rng):
    layer = Layer(rng.integers(0, 256, (40, 40, 4), dtype=np.uint8))
    prepared = prepare_layer(layer, 0.2)
    with pytest.raises(ValueError):
        render_layer(layer, 1.0, prepared=prepared)
    assert not prepared.flags.writeable


# --- Recolouring: at full resolution first (exports), at zoomed-out views after the shrink.


def _recolors():
    return st.builds(
        Recolor,
        hue=st.floats(-180, 180),
        saturation=st.floats(0, 2),
        brightness=st.floats(-1, 1),
        tint=st.tuples(*[st.integers(0, 255)] * 3),
        tint_strength=st.floats(0, 1),
    )


@HYPO
@given(
    seed=st.integers(0, 2**31),
    recolor=_recolors(),
    scale=st.sampled_from([(1.0, 1.0), (0.7, 1.3), (0.3, 0.45), (2.2, 0.2)]),
    offset=st.sampled_from([(0.0, 0.0), (3.0, -2.0), (1.25, 0.5)]),
    clip=st.none() | st.tuples(st.integers(-4, 20), st.integers(-4, 20), st.integers(1, 20),
                               st.integers(1, 20)),
)
def test_at_full_resolution_a_recolour_is_apply_recolor_then_place(
    seed, recolor, scale, offset, clip
):
    """Exports are unchanged: at view_scale 1 the render of a recoloured layer is exactly
    the render of apply_recolor's pixels, whatever the clip (only part is recoloured)."""
    rng = np.random.default_rng(seed)
    px = rng.integers(0, 256, (int(rng.integers(1, 24)), int(rng.integers(1, 24)), 4), np.uint8)
    px[:, :, 3] = rng.choice([0, 77, 255], px.shape[:2])
    params = LayerParams(offset=offset, scale=scale)
    edited = Layer(px, (2, 1), params.with_(recolor=recolor))
    baked = Layer(apply_recolor(px, recolor), (2, 1), params)
    got, want = render_layer(edited, 1.0, clip), render_layer(baked, 1.0, clip)
    if want is None:
        assert got is None
        return
    assert got.rect == want.rect
    np.testing.assert_array_equal(got.premul, want.premul)
    np.testing.assert_array_equal(prepare_layer(edited), prepare_layer(baked))


def _soft_noise(rng, w: int = 37, h: int = 29) -> np.ndarray:
    px = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    px[:, :, 3] = rng.choice([0, 40, 128, 255], (h, w))
    return px


@pytest.mark.parametrize("view_scale", [0.3, 0.2, 0.11])
def test_zoomed_out_hue_turn_of_120_degrees_is_a_channel_rotation(rng, view_scale):
    """A hue turn of 120 degrees maps (r, g, b) to (b, r, g), which commutes with averaging:
    recolouring the shrunk premultiplied pixels gives exactly the shrunk rotated pixels,
    soft and transparent edges included."""
    px = _soft_noise(rng)
    params = LayerParams(offset=(1.5, 0.25))
    edited = Layer(px, (3, 2), params.with_(recolor=Recolor(hue=120)))
    rotated = Layer(px[:, :, [2, 0, 1, 3]].copy(), (3, 2), params)
    assert recolors_shrunk(edited, view_scale)
    got, want = render_layer(edited, view_scale), render_layer(rotated, view_scale)
    assert got.rect == want.rect
    np.testing.assert_allclose(got.premul, want.premul, atol=2e-6)
    # At full resolution it is apply_recolor's rounding, still the rotation within a level.
    full = composite_reference(Document(50, 40, [edited]))
    np.testing.assert_allclose(full, composite_reference(Document(50, 40, [rotated])), atol=1)


@pytest.mark.parametrize("brightness", [0.35, -0.6])
def test_zoomed_out_brightness_and_tint_act_on_premultiplied_colour(rng, brightness):
    """Brightness and tint are affine per pixel: on premultiplied colour, p * k + t * alpha;
    a zoomed-out render is that map of the unedited render (no rounding at low alpha)."""
    recolor = Recolor(brightness=brightness, tint=(10, 200, 90), tint_strength=0.4)
    px = _soft_noise(rng)
    plain = Layer(px, (0, 0), LayerParams(scale=(0.9, 0.8), opacity=0.7))
    edited = Layer(px, (0, 0), plain.params.with_(recolor=recolor))
    base = render_layer(plain, 0.2).premul.astype(np.float64)
    b, t = brightness, 0.4
    k, c = (1 - b, b) if b > 0 else (1 + b, 0.0)
    offset = c * (1 - t) + np.array([10, 200, 90]) / 255 * t
    want = base.copy()
    want[:, :, :3] = base[:, :, :3] * k * (1 - t) + offset * base[:, :, 3:4]
    np.testing.assert_allclose(render_layer(edited, 0.2).premul, want, atol=2e-6)


def test_zoomed_out_recolour_of_flat_colour_equals_the_full_resolution_one():
    """Away from edges (nothing averaged but equal colours) the preview shows the exported
    colour: the recoloured flat colour, within a level."""
    px = _solid((200, 60, 30), 64, 48)
    recolor = Recolor(hue=75, saturation=0.6, brightness=0.1, tint=(0, 0, 255), tint_strength=0.2)
    layer = Layer(px, (0, 0), LayerParams(recolor=recolor))
    want = apply_recolor(px[:1, :1], recolor)[0, 0].astype(int)
    for view_scale in (0.3, 0.12):
        out = composite_reference(Document(64, 48, [layer]), view_scale)
        inner = out[1:-1, 1:-1].reshape(-1, 4).astype(int)
        assert np.abs(inner - want).max() <= 1


@HYPO
@given(
    seed=st.integers(0, 2**31),
    levels=st.lists(st.tuples(st.sampled_from([1, 2, 4, 8]), st.sampled_from([1, 2, 4, 8])),
                    min_size=1, max_size=6),
)
def test_shrink_cache_levels_are_the_levels_shrunk_from_scratch(seed, levels):
    """Whatever order levels are asked in, a cached level (or one continued from a cached
    coarser one) equals halving from the full source; asking again returns the same array."""
    rng = np.random.default_rng(seed)
    px = _soft_noise(rng, int(rng.integers(1, 40)), int(rng.integers(1, 40)))
    cache = ShrinkCache()
    for kx, ky in levels:
        if (kx, ky) == (1, 1):
            continue
        got = shrunk_premultiplied(px, kx, ky, cache)
        np.testing.assert_array_equal(got, shrunk_premultiplied(px, kx, ky))
        assert shrunk_premultiplied(px, kx, ky, cache) is got and not got.flags.writeable
    cache.keep_only([])
    assert cache.levels(px) == {}


@HYPO
@given(seed=st.integers(0, 2**31), view_scale=st.sampled_from([0.37, 0.2, 0.12]))
def test_zoomed_out_render_is_the_same_with_cached_levels_and_hsv(
    random_document, seed, view_scale
):
    doc = random_document(seed, n_layers=1)
    layer = doc.layers[0]
    layer.params = layer.params.with_(recolor=Recolor(hue=40.0, saturation=1.4))
    cache = ShrinkCache()
    cache.hsv_of = layer.pixels
    for clip in (None, (2, 1, 5, 4)):
        want = render_layer(layer, view_scale, clip)
        for _ in range(2):  # the second time from the cache
            got = render_layer(layer, view_scale, clip, shrink_cache=cache)
            if want is None:
                assert got is None
                continue
            np.testing.assert_allclose(got.premul, want.premul, atol=1e-6)
