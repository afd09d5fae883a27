"""The view arithmetic (hypothesis) and the QUndoStack adapter of the core commands."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QUndoStack
from test_gui_support import pytestmark  # noqa: F401 - marks these tests "gui"

from app.core import commands
from app.core.document import Document
from app.core.layer import Layer
from app.ui.undo import CoreUndoCommand
from app.ui.viewport import MAX_ZOOM, MIN_ZOOM, WHOLE_CANVAS_AREA, ZOOM_LEVELS, Viewport

zooms = st.floats(MIN_ZOOM, MAX_ZOOM)
coords = st.floats(-5000, 5000)


@given(zooms, coords, coords, coords, coords)
def test_widget_and_canvas_coordinates_round_trip(zoom, px, py, x, y):
    view = Viewport(zoom, px, py)
    assert view.to_canvas(*view.to_widget(x, y)) == pytest.approx((x, y), abs=1e-6)


@given(zooms, zooms, st.floats(0, 1600), st.floats(0, 1000))
def test_zoom_at_keeps_the_point_under_the_cursor(z0, z1, wx, wy):
    view = Viewport(z0, 13.0, -7.0)
    before = view.to_canvas(wx, wy)
    view.zoom_at(z1, wx, wy)
    after = view.to_canvas(wx, wy)
    # the pan is rounded to whole screen pixels: at most half a pixel of drift
    assert after == pytest.approx(before, abs=0.5 / view.zoom + 1e-9)


@given(st.sampled_from(ZOOM_LEVELS[1:-1]))
def test_zoom_steps_walk_the_levels(zoom):
    view = Viewport(zoom)
    view.step_zoom(1, 0, 0)
    assert view.zoom == ZOOM_LEVELS[ZOOM_LEVELS.index(zoom) + 1]
    view.step_zoom(-1, 0, 0)
    assert view.zoom == zoom


@settings(max_examples=200)
@given(zooms, st.integers(-3000, 3000), st.integers(-3000, 3000),
       st.integers(1, 5000), st.integers(1, 5000), st.integers(50, 2000), st.integers(50, 1500))
def test_frame_plan_covers_exactly_the_visible_canvas(zoom, px, py, dw, dh, ww, wh):
    view = Viewport(zoom, float(px), float(py))
    plan = view.plan(dw, dh, ww, wh)
    # the visible part of the canvas, in widget pixels
    vx0, vy0 = max(0.0, px), max(0.0, py)
    vx1, vy1 = min(float(ww), px + dw * zoom), min(float(wh), py + dh * zoom)
    if vx1 - vx0 <= 1e-6 or vy1 - vy0 <= 1e-6:
        return
    assert plan is not None
    assert plan.render_scale == min(zoom, 1.0)
    x, y, w, h = plan.target
    assert x <= vx0 + 1e-6 and y <= vy0 + 1e-6
    assert x + w >= vx1 - 1e-6 and y + h >= vy1 - 1e-6
    cx, cy, cw, ch = plan.clip
    full_w = math.ceil(dw * plan.render_scale - 1e-9)
    full_h = math.ceil(dh * plan.render_scale - 1e-9)
    assert 0 <= cx and 0 <= cy and cx + cw <= full_w and cy + ch <= full_h
    if (cx, cy, cw, ch) == (0, 0, full_w, full_h) and zoom < 1:
        # a small canvas is rendered whole so that panning needs no new render
        assert cw * ch <= WHOLE_CANVAS_AREA * ww * wh
    else:
        # never more than a pixel of the composite beyond the screen on each side
        k = plan.render_scale / zoom
        assert cw <= ww * k + 2 and ch <= wh * k + 2


@given(st.integers(1, 8000), st.integers(1, 8000), st.integers(100, 3000), st.integers(100, 2000))
def test_fit_shows_the_whole_canvas_centred(dw, dh, ww, wh):
    view = Viewport()
    view.fit(dw, dh, ww, wh)
    if view.zoom > MIN_ZOOM:
        assert dw * view.zoom <= ww and dh * view.zoom <= wh
    assert view.zoom <= 1.0
    assert abs((view.pan_x + dw * view.zoom / 2) - ww / 2) <= 0.5


# -- the undo adapter


def two_layer_doc() -> Document:
    doc = Document(40, 30)
    pixels = np.full((10, 10, 4), 200, np.uint8)
    doc.layers = [Layer(pixels, (0, 0)), Layer(pixels, (5, 5))]
    doc.layers[1].params = doc.layers[1].params.with_(name="Logo")
    return doc


def push(stack, doc, cmd, changes):
    stack.push(CoreUndoCommand(doc, cmd, changes.append))


def test_a_gesture_is_one_undo_step_named_after_the_action(qapp):
    doc, stack, changes = two_layer_doc(), QUndoStack(), []
    logo = doc.layers[1].id
    for dx in range(1, 6):
        push(stack, doc, commands.set_offset(doc, logo, (dx, 0), gesture=1), changes)
    assert stack.count() == 1 and stack.undoText() == "Move 'Logo'"
    assert doc.layers[1].params.offset == (5, 0)
    push(stack, doc, commands.set_offset(doc, logo, (9, 0), gesture=2), changes)
    assert stack.count() == 2  # another gesture, another step
    stack.undo()
    stack.undo()
    assert doc.layers[1].params.offset == (0, 0)
    assert len(changes) == 8  # 6 pushes + 2 undos each told the session


def test_steps_do_not_merge_across_kinds_layers_or_a_save(qapp):
    doc, stack, changes = two_layer_doc(), QUndoStack(), []
    a, b = doc.layers[0].id, doc.layers[1].id
    push(stack, doc, commands.set_offset(doc, a, (1, 0), gesture=1), changes)
    push(stack, doc, commands.set_offset(doc, b, (1, 0), gesture=1), changes)
    push(stack, doc, commands.set_scale(doc, b, (2, 2), gesture=1), changes)
    assert stack.count() == 3
    stack.setClean()
    push(stack, doc, commands.set_scale(doc, b, (3, 3), gesture=1), changes)
    assert stack.count() == 4 and not stack.isClean()
    stack.undo()
    assert stack.isClean() and doc.layers[1].params.scale == (2, 2)


def make_command(doc, kind: str, lid: str, gesture: int):
    key = gesture or None
    if kind == "move":
        return commands.translate(doc, lid, 3, -2, key)
    if kind == "scale":
        return commands.set_scale(doc, lid, (1.5, 1.5), key)
    if kind == "opacity":
        return commands.set_opacity(doc, lid, 0.25 * gesture, key)
    if kind == "hide":
        return commands.set_visible(doc, lid, False)
    return commands.delete_layer(doc, lid)


@given(st.lists(st.tuples(st.sampled_from(["move", "scale", "opacity", "hide", "delete"]),
                          st.integers(0, 1), st.integers(0, 3)), max_size=25))
@settings(max_examples=60, deadline=None)
def test_undo_all_restores_and_redo_all_replays(qapp, steps):
    doc, stack = two_layer_doc(), QUndoStack()
    ids = [layer.id for layer in doc.layers]
    start = [(layer.id, layer.params) for layer in doc.layers]
    for kind, which, gesture in steps:
        if which >= len(doc.layers):
            continue
        push(stack, doc, make_command(doc, kind, doc.layers[which].id, gesture), [])
    end = [(layer.id, layer.params) for layer in doc.layers]
    while stack.canUndo():
        stack.undo()
    assert [(layer.id, layer.params) for layer in doc.layers] == start
    assert [layer.id for layer in doc.layers] == ids
    while stack.canRedo():
        stack.redo()
    assert [(layer.id, layer.params) for layer in doc.layers] == end
