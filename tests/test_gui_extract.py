"""Extract to layer: a box around an object lifts it onto its own layer with a soft matte and
fills the hole below, as one undoable step."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, Qt
from test_gui_support import (  # noqa: F401 - the *_fixture names are fixtures
    canvas_point,
    doc_composite,
    drag,
    isolated_settings_fixture,
    send_mouse,
    window_fixture,
)

from app.core.document import Document
from app.core.layer import LayerParams
from app.ui.extract import ExtractFailed, extract_layers, stroke_region

DISC = (150, 100, 40)  # centre x, y and radius


def scene() -> np.ndarray:
    h, w = 200, 300
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.dstack([60 + xx * 100 // w, 120 + yy * 60 // h, np.full((h, w), 170)])
    rgba = np.dstack([rgb, np.full((h, w), 255)]).astype(np.uint8)
    disc = np.hypot(xx - DISC[0], yy - DISC[1]) < DISC[2]
    rgba[disc] = (230, 200, 30, 255)
    return rgba


def disc_distance() -> np.ndarray:
    yy, xx = np.mgrid[0:200, 0:300]
    return np.hypot(xx - DISC[0], yy - DISC[1])


def test_extract_tool_lifts_the_object_and_fills_the_hole(qtbot, window):
    original = scene()
    window.session.set_document(Document.from_image(original))
    window.canvas.actual_size()
    window.act_extract_tool.trigger()
    assert window.canvas.tool == "extract"
    x, y, r = DISC
    drag(window.canvas, canvas_point(window, x - r - 12, y - r - 12),
         canvas_point(window, x + r + 12, y + r + 12))
    qtbot.waitUntil(lambda: len(window.session.doc.layers) == 2, timeout=30_000)
    doc = window.session.doc
    background, extracted = doc.layers
    assert extracted.name == "Extracted"
    assert window.session.undo_stack.undoText() == "Extract to Layer"

    full = np.zeros((200, 300), np.uint8)
    ox, oy = extracted.origin
    eh, ew = extracted.pixels.shape[:2]
    full[oy : oy + eh, ox : ox + ew] = extracted.pixels[:, :, 3]
    d = disc_distance()
    inside, outside = d < DISC[2] - 2, d > DISC[2] + 2  # the feathered rim is in between
    assert (full[inside] > 200).mean() > 0.99  # the object is on the new layer
    assert (full[outside] > 20).mean() < 0.01  # and little else
    soft = full[(full > 0) & (full < 255)]
    assert soft.size > 0  # the matte's edge is soft
    hole = background.pixels[y - 10 : y + 10, x - 10 : x + 10, :3].astype(int)
    assert np.abs(hole - (230, 200, 30)).sum(axis=-1).min() > 60  # the hole shows no yellow
    assert np.abs(doc_composite(window).astype(int) - original).mean() < 1.5

    window.act_undo.trigger()
    assert len(window.session.doc.layers) == 1
    assert np.array_equal(doc_composite(window), original)


def test_extracted_layers_keep_the_source_edits():
    original = scene()
    doc = Document.from_image(original)
    layer = doc.layers[0]
    layer.params = LayerParams(name="Photo", offset=(10.0, 5.0), scale=(1.5, 1.5))
    x0, y0, x1, y1 = layer.bounds()
    cx, cy = layer.center
    # the disc's box in canvas coordinates after the layer's scale and offset
    box_x = cx + 1.5 * (DISC[0] - 52 - cx) + 10
    box_y = cy + 1.5 * (DISC[1] - 52 - cy) + 5
    background, extracted = extract_layers(layer, (box_x, box_y, 1.5 * 104, 1.5 * 104), "Obj")
    assert background.params == layer.params and background.origin == layer.origin
    assert extracted.params.scale == (1.5, 1.5)
    # the extracted pixels land where they were shown: compare bounds with the disc's place
    ex0, ey0, ex1, ey1 = extracted.bounds()
    dcx = cx + 1.5 * (DISC[0] + 0.5 - cx) + 10
    dcy = cy + 1.5 * (DISC[1] + 0.5 - cy) + 5
    assert ((ex0 + ex1) / 2, (ey0 + ey1) / 2) == pytest.approx((dcx, dcy), abs=2.0)


def test_a_box_off_the_layer_is_refused():
    doc = Document.from_image(scene())
    with pytest.raises(ExtractFailed):
        extract_layers(doc.layers[0], (400, 400, 50, 50), "Obj")


def test_extract_brush_a_loop_painted_around_the_object(qtbot, window):
    original = scene()
    window.session.set_document(Document.from_image(original))
    window.canvas.actual_size()
    window.act_brush_tool.trigger()
    assert window.canvas.tool == "brush"
    x, y, r = DISC
    loop = [canvas_point(window, x + (r + 10) * np.cos(t), y + (r + 10) * np.sin(t))
            for t in np.linspace(0, 2 * np.pi, 48)]
    send_mouse(window.canvas, QEvent.Type.MouseButtonPress, loop[0], Qt.MouseButton.LeftButton,
               Qt.MouseButton.LeftButton)
    for point in loop[1:]:
        send_mouse(window.canvas, QEvent.Type.MouseMove, point, Qt.MouseButton.LeftButton)
    send_mouse(window.canvas, QEvent.Type.MouseButtonRelease, loop[-1], Qt.MouseButton.NoButton,
               Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.session.doc.layers) == 2, timeout=30_000)
    extracted = window.session.doc.layers[1]
    full = np.zeros((200, 300), np.uint8)
    ox, oy = extracted.origin
    eh, ew = extracted.pixels.shape[:2]
    full[oy : oy + eh, ox : ox + ew] = extracted.pixels[:, :, 3]
    d = disc_distance()
    assert (full[d < r - 2] > 200).mean() > 0.99  # the loop's inside counts as painted
    assert (full[d > r + 2] > 20).mean() < 0.01
    window.act_undo.trigger()
    assert np.array_equal(doc_composite(window), original)


def test_stroke_region_fills_what_the_stroke_encloses():
    layer = Document.from_image(scene()).layers[0]
    square = [(50, 50), (150, 50), (150, 150), (50, 150), (50, 50)]
    region = stroke_region(layer, square, radius=3)
    assert region[100, 100] and region[50, 100] and not region[20, 20]
    assert abs(int(region.sum()) - 106 * 106) < 700
