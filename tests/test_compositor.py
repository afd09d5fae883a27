"""The fast compositor equals the reference within 1/255, whatever happened to its caches."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import commands, compositor
from app.core.compositor import Compositor, RecolorCache, composite, view_size
from app.core.document import Document
from app.core.layer import Layer, LayerParams, Recolor
from app.core.render import composite_reference, composite_reference_float

HYPO = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SCALES = [1.0, 0.5, 0.37, 1.6]


def assert_straight_close(fast: np.ndarray, ref: np.ndarray) -> None:
    """Within one level: alpha everywhere, colour where the reference shows anything."""
    assert fast.shape == ref.shape and fast.dtype == np.uint8
    diff = np.abs(fast.astype(int) - ref.astype(int))
    assert diff[:, :, 3].max(initial=0) <= 1
    shown = ref[:, :, 3] > 0
    assert diff[shown][:, :3].max(initial=0) <= 1


def expected_view(doc: Document, view_scale: float, clip=None) -> np.ndarray:
    """The reference, premultiplied and scaled to 0..255 (float), cut to `clip`."""
    straight = composite_reference_float(doc, view_scale)
    premul = straight * 255.0
    premul[:, :, :3] *= straight[:, :, 3:4]
    if clip is None:
        return premul
    vh, vw = premul.shape[:2]
    x, y, w, h = clip
    out = np.zeros((h, w, 4))
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, vw), min(y + h, vh)
    if x1 > x0 and y1 > y0:
        out[y0 - y : y1 - y, x0 - x : x1 - x] = premul[y0:y1, x0:x1]
    return out


def assert_view_matches(comp: Compositor, doc, view_scale, clip=None, active_id=None):
    out = comp.render(view_scale, clip, active_id)
    expected = expected_view(doc, view_scale, clip)
    assert out.dtype == np.uint8 and out.flags.c_contiguous and out.shape == expected.shape
    assert np.abs(out - expected).max(initial=0) <= 1.0


# --- composite(doc): the exporters' straight-alpha composite.


@HYPO
@given(seed=st.integers(0, 2**31), n=st.integers(0, 6))
def test_composite_equals_the_reference(random_document, seed, n):
    doc = random_document(seed, n_layers=n)
    assert_straight_close(composite(doc), composite_reference(doc))


@pytest.fixture
def small_bands(monkeypatch):
    """Bands of 50 rows on a 40-pixel-wide view, so small documents span many bands."""
    monkeypatch.setattr(compositor, "BAND_BYTES", 16 * 40 * 50)
    monkeypatch.setattr(compositor, "BAND_ROWS", 8)
    assert compositor.band_rows(40) == 50


def _tall_document(rng: np.random.Generator) -> Document:
    """Layers that straddle the row bands, scaled and recoloured, on a tall canvas."""
    layers = []
    for i in range(5):
        px = rng.integers(0, 256, (60, 20, 4), dtype=np.uint8)
        params = LayerParams(
            offset=(0.5 * i, 1.25 * i),
            scale=(1.0 + 0.3 * i, 0.8 + 0.5 * i),
            opacity=0.9,
            recolor=Recolor(hue=40.0 * i),
        )
        layers.append(Layer(px, (3 * i, 20 + 45 * i), params))
    return Document(40, 317, layers)


def test_composite_across_bands(rng, small_bands):
    doc = _tall_document(rng)
    assert_straight_close(composite(doc), composite_reference(doc))


def test_render_across_bands(rng, small_bands):
    doc = _tall_document(rng)
    comp = Compositor(doc)
    assert_view_matches(comp, doc, 1.0)
    doc.layers[2].params = doc.layers[2].params.with_(offset=(2.0, 100.0))
    assert_view_matches(comp, doc, 1.0)


def test_composite_of_an_empty_document_is_transparent():
    out = composite(Document(5, 3))
    assert out.shape == (3, 5, 4) and not out.any()


# --- Compositor.render: premultiplied views.


@HYPO
@given(
    seed=st.integers(0, 2**31),
    view_scale=st.sampled_from(SCALES),
    clip=st.none() | st.tuples(st.integers(-5, 30), st.integers(-5, 30), st.integers(1, 25),
                               st.integers(1, 25)),
    active=st.none() | st.integers(0, 4),
)
def test_render_equals_the_reference(random_document, seed, view_scale, clip, active):
    doc = random_document(seed, n_layers=5)
    active_id = None if active is None else doc.layers[active].id
    assert_view_matches(Compositor(doc), doc, view_scale, clip, active_id)


def test_render_shape_follows_scale_and_clip():
    doc = Document(10, 7, [Layer(np.full((7, 10, 4), 255, np.uint8))])
    comp = Compositor(doc)
    assert comp.render(0.5).shape == (4, 5, 4) == view_size(doc, 0.5)[::-1] + (4,)
    outside = comp.render(1.0, clip=(20, 20, 6, 3))
    assert outside.shape == (3, 6, 4) and not outside.any()
    edge = comp.render(1.0, clip=(8, 5, 4, 4))
    assert edge[:2, :2].min() == 255 and not edge[2:].any() and not edge[:, 2:].any()
    with pytest.raises(ValueError):
        comp.render(1.0, clip=(0, 0, 0, 5))
    with pytest.raises(ValueError):
        comp.render(0.0)


def test_a_resized_canvas_is_picked_up(rng):
    big = Layer(rng.integers(0, 256, (40, 40, 4), dtype=np.uint8), (0, 0))
    small = Layer(rng.integers(0, 256, (6, 6, 4), dtype=np.uint8), (3, 4))
    doc = Document(20, 16, [big, small])
    comp = Compositor(doc)
    for active in (None, small.id):
        doc.width, doc.height = 20, 16
        assert_view_matches(comp, doc, 1.0, (2, 2, 30, 30), active)
        doc.width, doc.height = 12, 25
        assert_view_matches(comp, doc, 1.0, (2, 2, 30, 30), active)


# Edits that a canvas session performs; each must be picked up without invalidate().


def _edit(doc: Document, history: commands.History, rng: np.random.Generator, kind: str, active):
    others = [layer.id for layer in doc.layers if layer.id != active]
    if not doc.layers and kind not in ("add", "undo", "redo"):
        return
    if kind.startswith("active") and active is None:
        kind = kind.replace("active", "other")
    if kind.startswith("active") or not others:
        target = active
    else:
        target = others[int(rng.integers(len(others)))]
    if kind in ("active_move", "other_move"):
        if rng.random() < 0.5:
            dx, dy = (float(v) for v in rng.integers(-4, 5, 2))
        else:
            dx, dy = (float(v) for v in rng.uniform(-4, 4, 2))
        history.push(commands.translate(doc, target, dx, dy, gesture="drag"))
    elif kind in ("active_scale", "other_scale"):
        scale = tuple(float(v) for v in rng.uniform(0.3, 2.0, 2))
        history.push(commands.set_scale(doc, target, scale, gesture="scale"))
    elif kind in ("active_opacity", "other_opacity"):
        history.push(commands.set_opacity(doc, target, float(rng.uniform(0, 1)), gesture="op"))
    elif kind in ("active_recolor", "other_recolor"):
        recolor = Recolor(hue=float(rng.uniform(-180, 180)), tint_strength=float(rng.random()))
        history.push(commands.set_recolor(doc, target, recolor))
    elif kind in ("active_visible", "other_visible"):
        layer = doc.layer(target)
        history.push(commands.set_visible(doc, target, not layer.params.visible))
    elif kind == "other_pixels":
        # A new pixel array (as a filter would produce): identity, not params, changed.
        layer = doc.layer(target)
        layer.pixels = np.ascontiguousarray(layer.pixels[::-1])
        layer.pixels.flags.writeable = False
    elif kind == "other_origin":
        layer = doc.layer(target)
        layer.origin = (layer.origin[0] + 1, layer.origin[1] - 2)
    elif kind == "reorder":
        history.push(commands.move_layer(doc, target, int(rng.integers(len(doc.layers)))))
    elif kind == "add":
        w, h = (int(v) for v in rng.integers(1, 15, 2))
        px = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        layer = Layer(px, (int(rng.integers(0, 20)), int(rng.integers(0, 16))))
        history.push(commands.add_layer(doc, layer, int(rng.integers(len(doc.layers) + 1))))
    elif kind == "delete" and others:
        history.push(commands.delete_layer(doc, target))
    elif kind == "undo":
        history.undo()
    elif kind == "redo":
        history.redo()


EDITS = [
    "active_move", "active_move", "active_move", "active_scale", "active_opacity",
    "active_recolor", "active_visible", "other_move", "other_scale", "other_opacity",
    "other_recolor", "other_visible", "other_pixels", "other_origin", "reorder", "add",
    "delete", "undo", "redo", "switch_active", "no_active", "view", "pan", "pan", "pan",
    "pan",
]  # fmt: skip


@settings(HYPO, max_examples=100)
@given(seed=st.integers(0, 2**31), edits=st.lists(st.sampled_from(EDITS), max_size=14))
def test_render_after_any_sequence_of_edits(random_document, monkeypatch, seed, edits):
    """One Compositor through a session: every frame equals the reference."""
    monkeypatch.setattr(compositor, "PAN_MARGIN", 4)  # pans leave the planes' margin too
    rng = np.random.default_rng(seed)
    doc = random_document(rng, width=44, height=36, n_layers=4)
    history = commands.History(doc)
    comp = Compositor(doc)
    active = doc.layers[1].id
    view_scale, clip = 1.0, (2, 1, 15, 12)
    assert_view_matches(comp, doc, view_scale, clip, active)
    for kind in edits:
        if kind == "switch_active" and doc.layers:
            active = doc.layers[int(rng.integers(len(doc.layers)))].id
        elif kind == "no_active":
            active = None
        elif kind == "pan":
            x, y, w, h = clip or (0, 0, 15, 12)
            dx, dy = (int(v) for v in rng.integers(-6, 7, 2))
            clip = (x + dx, y + dy, w, h)
        elif kind == "view":
            view_scale = float(rng.choice(SCALES))
            clip = None if rng.random() < 0.5 else (int(rng.integers(-3, 10)),
                                                    int(rng.integers(-3, 10)), 15, 12)
        else:
            _edit(doc, history, rng, kind, active)
        if active is not None and active not in {layer.id for layer in doc.layers}:
            active = doc.layers[-1].id if doc.layers else None
        assert_view_matches(comp, doc, view_scale, clip, active)


def test_a_drag_reuses_the_planes_and_touches_only_the_dirty_rect(rng):
    doc = Document(64, 48, [])
    for i in range(5):
        px = rng.integers(0, 256, (20, 24, 4), dtype=np.uint8)
        doc.layers.append(Layer(px, (8 * i, 5 * i)))
    active = doc.layers[2]
    comp = Compositor(doc)
    comp.render(1.0, active_id=active.id)
    below, above = comp._below, comp._above255
    before = comp.render(1.0, active_id=active.id).copy()
    active.params = active.params.with_(offset=(3.0, 2.0))
    after = comp.render(1.0, active_id=active.id)
    assert comp._below is below and comp._above255 is above
    changed = np.argwhere((before != after).any(axis=2))
    # The layer was at x 16..40, y 10..30 and is now at 19..43, 12..32.
    assert changed[:, 1].min() >= 16 and changed[:, 1].max() < 43
    assert changed[:, 0].min() >= 10 and changed[:, 0].max() < 32
    assert_view_matches(comp, doc, 1.0, None, active.id)
    doc.layers[0].params = doc.layers[0].params.with_(opacity=0.3)  # below changes
    assert_view_matches(comp, doc, 1.0, None, active.id)
    assert comp._below is not below


def test_panning_a_little_reuses_the_planes(rng, monkeypatch):
    monkeypatch.setattr(compositor, "PAN_MARGIN", 16)
    doc = Document(200, 150, [])
    for i in range(4):
        px = rng.integers(0, 256, (60, 70, 4), dtype=np.uint8)
        doc.layers.append(Layer(px, (30 * i, 20 * i)))
    active = doc.layers[1].id
    comp = Compositor(doc)
    assert_view_matches(comp, doc, 1.0, (40, 30, 50, 40), active)
    below = comp._below
    assert comp._region == (16, 0, 96, 96)
    for clip in [(45, 33, 50, 40), (30, 20, 50, 40), (46, 40, 50, 40)]:
        assert_view_matches(comp, doc, 1.0, clip, active)
        assert comp._below is below
    assert_view_matches(comp, doc, 1.0, (90, 30, 50, 40), active)  # beyond the margin
    assert comp._below is not below
    assert_view_matches(comp, doc, 1.0, (90, 30, 60, 45), active)  # a bigger window
    assert_view_matches(comp, doc, 1.0, (0, 0, 200, 150), active)


@pytest.mark.parametrize("active", [None, 1])
def test_new_pixels_or_origin_alone_are_picked_up(rng, active):
    """Same id and params, another pixel array (or origin): the caches must notice."""
    doc = Document(30, 24, [])
    for i in range(3):
        doc.layers.append(Layer(rng.integers(0, 256, (14, 16, 4), dtype=np.uint8), (5 * i, 4 * i)))
    active_id = None if active is None else doc.layers[active].id
    comp = Compositor(doc)
    for target in (0, 2, 1):
        assert_view_matches(comp, doc, 1.0, None, active_id)
        layer = doc.layers[target]
        layer.pixels = np.ascontiguousarray(layer.pixels[::-1, ::-1])
        layer.pixels.flags.writeable = False
        assert_view_matches(comp, doc, 1.0, None, active_id)
        layer.origin = (layer.origin[0] + 3, layer.origin[1] + 1)
        assert_view_matches(comp, doc, 1.0, None, active_id)


def test_invalidate_and_render_without_changes(rng, random_document):
    doc = random_document(rng, n_layers=4)
    comp = Compositor(doc)
    first = comp.render(0.5).copy()
    np.testing.assert_array_equal(comp.render(0.5), first)
    comp.invalidate()
    np.testing.assert_array_equal(comp.render(0.5), first)
    active = doc.layers[0].id
    np.testing.assert_array_equal(comp.render(0.5, active_id=active), first)
    np.testing.assert_array_equal(comp.render(0.5, active_id="no-such-layer"), first)


def test_recolor_cache_is_keyed_by_pixels_and_recolor(rng):
    px = rng.integers(0, 256, (4, 4, 4), dtype=np.uint8)
    layer = Layer(px, params=LayerParams(recolor=Recolor(hue=30)))
    cache = RecolorCache()
    first = cache(layer)
    assert cache(layer) is first and not first.flags.writeable
    layer.params = layer.params.with_(recolor=Recolor(hue=31))
    second = cache(layer)
    assert second is not first
    layer.pixels = layer.pixels.copy()
    layer.pixels.flags.writeable = False
    third = cache(layer)
    assert third is not second
    np.testing.assert_array_equal(third, second)
    layer.params = layer.params.with_(recolor=Recolor())
    assert cache(layer) is layer.pixels


def test_frames_blended_row_by_row(rng, random_document, monkeypatch):
    monkeypatch.setattr(compositor, "STRIP_BYTES", 16)  # every strip is one row
    doc = random_document(rng, n_layers=5)
    history = commands.History(doc)
    comp = Compositor(doc)
    active = doc.layers[2]
    history.push(commands.set_visible(doc, active.id, True))
    for step in range(6):
        history.push(commands.translate(doc, active.id, 1.0 + step % 2 * 0.5, -1.0, gesture=1))
        if step == 3:
            history.push(commands.set_opacity(doc, active.id, 0.4))
        assert_view_matches(comp, doc, 1.0, (-2, 3, 25, 14), active.id)


# --- Slider gestures on a big layer: only what lands in the view is recoloured.


def _slider_document(rng) -> Document:
    doc = Document(160, 120, [])
    big = rng.integers(0, 256, (120, 160, 4), dtype=np.uint8)
    big[:, :, 3] = rng.choice([0, 90, 255], (120, 160))
    doc.layers.append(Layer(big, (0, 0), LayerParams(name="big")))
    for i in range(3):
        px = rng.integers(0, 256, (40, 50, 4), dtype=np.uint8)
        doc.layers.append(Layer(px, (30 * i, 25 * i), LayerParams(opacity=0.7)))
    return doc


@pytest.mark.parametrize("view_scale", [0.3, 0.2, 0.12])
def test_a_recolour_slider_at_a_zoomed_out_view_matches_the_reference(rng, view_scale):
    """Each frame of hue / saturation / brightness / tint slider gestures on the big layer
    equals the reference at that view; while the recolour changes every frame the whole
    layer is not prepared again (the shrunk pixels are recoloured strip by strip); a drag
    after the slider prepares it once and reuses it."""
    doc = _slider_document(rng)
    history = commands.History(doc)
    comp = Compositor(doc)
    big = doc.layers[0]
    assert_view_matches(comp, doc, view_scale, None, big.id)
    initial = comp._prepared
    recolors = [Recolor(hue=10.0 * i) for i in range(1, 5)]
    recolors += [Recolor(hue=40, saturation=0.2 + 0.5 * i) for i in range(3)]
    recolors += [Recolor(hue=40, brightness=-0.3 + 0.2 * i, tint_strength=0.1) for i in range(3)]
    for recolor in recolors:
        history.push(commands.set_recolor(doc, big.id, recolor, gesture="slider"))
        assert_view_matches(comp, doc, view_scale, None, big.id)
        assert comp._prepared is initial
    for _ in range(3):
        history.push(commands.translate(doc, big.id, 1.5, -1.0, gesture="drag"))
        assert_view_matches(comp, doc, view_scale, None, big.id)
    prepared = comp._prepared
    assert prepared is not initial
    history.push(commands.translate(doc, big.id, 1.0, 1.0, gesture="drag"))
    assert_view_matches(comp, doc, view_scale, (3, 2, 20, 15), big.id)
    assert comp._prepared is prepared


def test_a_scale_slider_reuses_the_shrunk_levels(rng):
    """A scale gesture at a zoomed-out view shrinks the source once per pyramid level: going
    back to a level reuses the cached array."""
    doc = _slider_document(rng)
    history = commands.History(doc)
    comp = Compositor(doc)
    big = doc.layers[0]
    assert_view_matches(comp, doc, 0.25, None, big.id)
    seen: dict[tuple[int, ...], np.ndarray] = {}
    for scale in (1.0, 0.8, 0.6, 0.45, 0.3, 0.45, 0.8, 1.0):
        history.push(commands.set_scale(doc, big.id, (scale, scale), gesture="scale"))
        assert_view_matches(comp, doc, 0.25, None, big.id)
        for level, pixels in comp._shrunk.levels(big.pixels).items():
            assert seen.setdefault(level, pixels) is pixels
    assert len(seen) >= 2


def test_a_recolour_slider_at_full_resolution_recolours_only_the_clip(rng):
    """At 100% with a clip on part of a big layer, slider frames recolour the clipped part
    of the source only: the full layer is never recoloured or prepared again."""
    doc = _slider_document(rng)
    history = commands.History(doc)
    comp = Compositor(doc)
    big = doc.layers[0]
    clip = (100, 70, 30, 20)
    assert_view_matches(comp, doc, 1.0, clip, big.id)
    initial = comp._prepared
    for i in range(1, 5):
        recolor = Recolor(hue=15.0 * i, saturation=1.2, tint_strength=0.05 * i)
        history.push(commands.set_recolor(doc, big.id, recolor, gesture="slider"))
        assert_view_matches(comp, doc, 1.0, clip, big.id)
        assert comp._prepared is initial and big.id not in comp._recolored._entries
