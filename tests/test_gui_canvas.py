"""The canvas: what it shows, selection by pixels, drags, handles, nudges, zoom and pan."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication
from test_gui_support import (  # noqa: F401 - the *_fixture names are fixtures
    canvas_point,
    click,
    drag,
    isolated_settings_fixture,
    send_mouse,
    window_fixture,
)

from app.core import commands
from app.core.compositor import composite
from app.core.document import Document
from app.core.layer import Layer


def make_doc() -> Document:
    """Opaque background with a gradient, a red square and a green ring (hole in the middle)."""
    h, w = 200, 300
    yy, xx = np.mgrid[0:h, 0:w]
    bg = np.dstack([xx * 255 // w, yy * 255 // h, np.full((h, w), 90), np.full((h, w), 255)])
    doc = Document.from_image(bg.astype(np.uint8))
    square = np.zeros((h, w, 4), np.uint8)
    square[40:100, 30:90] = (220, 30, 30, 255)
    ring = np.zeros((h, w, 4), np.uint8)
    d = np.hypot(yy - 120, xx - 200)
    ring[(d > 20) & (d < 45)] = (20, 200, 60, 255)
    doc.layers.append(Layer.from_canvas(square, "Square"))
    doc.layers.append(Layer.from_canvas(ring, "Ring"))
    return doc


@pytest.fixture
def loaded(window):
    window.session.set_document(make_doc())
    window.canvas.actual_size()
    return window


def grab_rgb(canvas) -> np.ndarray:
    image = canvas.grab().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    ptr = image.constBits()
    arr = np.frombuffer(ptr, np.uint8, image.sizeInBytes()).reshape(
        image.height(), image.bytesPerLine() // 4, 4
    )
    return arr[:, : image.width(), :3].copy()


def test_canvas_shows_the_composite_exactly_at_100_percent(loaded):
    canvas, doc = loaded.canvas, loaded.session.doc
    loaded.session.set_active(None)  # no outline over the pixels
    shown = grab_rgb(canvas)
    x, y = int(canvas.view.pan_x), int(canvas.view.pan_y)
    assert canvas.view.zoom == 1.0
    expected = composite(doc)[:, :, :3]
    assert np.array_equal(shown[y : y + doc.height, x : x + doc.width], expected)


def test_canvas_at_200_percent_shows_pixel_blocks(loaded):
    canvas, doc = loaded.canvas, loaded.session.doc
    loaded.session.set_active(None)
    canvas.view.center(doc.width, doc.height, canvas.width(), canvas.height(), 2.0)
    canvas.view.pan_x, canvas.view.pan_y = 0.0, 0.0
    shown = grab_rgb(canvas)
    expected = composite(doc)[:, :, :3]
    rows, cols = min(shown.shape[0] // 2, doc.height), min(shown.shape[1] // 2, doc.width)
    assert np.array_equal(shown[0 : 2 * rows : 2, 0 : 2 * cols : 2], expected[:rows, :cols])
    assert np.array_equal(shown[1 : 2 * rows : 2, 1 : 2 * cols : 2], expected[:rows, :cols])


def test_click_selects_the_topmost_layer_with_a_pixel_there(loaded):
    canvas, session = loaded.canvas, loaded.session
    names = {layer.name: layer.id for layer in session.doc.layers}
    click(canvas, canvas_point(loaded, 60, 70))
    assert session.active_id == names["Square"]
    click(canvas, canvas_point(loaded, 200 + 30, 120))  # on the ring
    assert session.active_id == names["Ring"]
    click(canvas, canvas_point(loaded, 200, 120))  # the ring's hole: the background shows
    assert session.active_id == names["Background"]
    session.push(commands.set_visible(session.doc, names["Square"], False))
    click(canvas, canvas_point(loaded, 60, 70))  # hidden layers are not picked
    assert session.active_id == names["Background"]
    assert session.undo_stack.count() == 1  # selecting is not an edit


def test_drag_moves_by_whole_pixels_in_one_step(loaded):
    canvas, session = loaded.canvas, loaded.session
    square = session.doc.layers[1]
    drag(canvas, canvas_point(loaded, 60, 70), canvas_point(loaded, 85.4, 52.2), steps=12)
    assert square.params.offset == (25.0, -18.0)
    assert session.undo_stack.count() == 1
    assert loaded.act_undo.text() == "Undo Move 'Square'"
    # the picture followed: the square's pixels are at the new place
    shown = composite(session.doc)
    assert tuple(shown[40 - 18, 30 + 25, :3]) == (220, 30, 30)
    loaded.act_undo.trigger()
    assert square.params.offset == (0.0, 0.0)


def test_corner_handle_scales_uniformly_about_the_centre(loaded):
    canvas, session = loaded.canvas, loaded.session
    square = session.doc.layers[1]
    session.set_active(square.id)
    cx, cy = square.center
    x0, y0, x1, y1 = square.bounds()
    drag(canvas, canvas_point(loaded, x1, y1), canvas_point(loaded, x1 + 30, y1 + 30))
    assert square.params.scale[0] == pytest.approx(2.0, abs=0.02)
    assert square.params.scale == (square.params.scale[0],) * 2
    nx0, ny0, nx1, ny1 = square.bounds()
    assert ((nx0 + nx1) / 2, (ny0 + ny1) / 2) == pytest.approx((cx, cy))
    assert session.undo_stack.count() == 1 and session.undo_stack.undoText() == "Scale 'Square'"
    # an edge handle scales one axis
    x0, y0, x1, y1 = square.bounds()
    mid = (y0 + y1) / 2
    drag(canvas, canvas_point(loaded, x1, mid), canvas_point(loaded, x1 - 30, mid))
    sx, sy = square.params.scale
    assert sx == pytest.approx(1.0, abs=0.02) and sy == pytest.approx(2.0, abs=0.02)


def test_arrow_keys_nudge_and_a_held_key_is_one_step(qtbot, loaded):
    canvas, session = loaded.canvas, loaded.session
    square = session.doc.layers[1]
    session.set_active(square.id)
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    qtbot.keyClick(canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert square.params.offset == (1.0, 10.0)
    assert session.undo_stack.count() == 2
    canvas.nudge(-1, 0)
    for _ in range(4):
        canvas.nudge(-1, 0, repeat=True)  # auto-repeat of a held key
    assert square.params.offset == (-4.0, 10.0)
    assert session.undo_stack.count() == 3


def test_wheel_zoom_keeps_the_point_under_the_cursor(qtbot, loaded):
    canvas = loaded.canvas
    pos = canvas_point(loaded, 120, 80)
    before = canvas.view.to_canvas(pos.x(), pos.y())
    qtbot.wait(1)
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    event = QWheelEvent(pos, canvas.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas, event)
    assert canvas.view.zoom == pytest.approx(1.5625)
    after = canvas.view.to_canvas(pos.x(), pos.y())
    assert after == pytest.approx(before, abs=1.0)
    assert loaded.zoom_label.text() == "156%"


def test_zoom_shortcuts_fit_and_middle_button_pan(qtbot, loaded):
    canvas = loaded.canvas
    loaded.act_zoom_in.trigger()
    assert canvas.view.zoom == 1.5
    loaded.act_zoom_out.trigger()
    loaded.act_zoom_out.trigger()
    assert canvas.view.zoom == pytest.approx(2 / 3)
    loaded.act_fit.trigger()
    doc = loaded.session.doc
    assert doc.width * canvas.view.zoom <= canvas.width()
    pan = (canvas.view.pan_x, canvas.view.pan_y)
    drag(canvas, QPointF(50, 50), QPointF(80, 60), button=Qt.MouseButton.MiddleButton)
    assert (canvas.view.pan_x, canvas.view.pan_y) == (pan[0] + 30, pan[1] + 10)
    assert loaded.session.undo_stack.count() == 0


def test_space_drag_pans_instead_of_moving(qtbot, loaded):
    canvas = loaded.canvas
    canvas.setFocus()
    pan = canvas.view.pan_x
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    drag(canvas, canvas_point(loaded, 60, 70), canvas_point(loaded, 100, 70))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert canvas.view.pan_x == pan + 40
    assert loaded.session.undo_stack.count() == 0


def test_panning_moves_the_last_frame_and_renders_once_settled(qtbot, loaded):
    canvas, doc = loaded.canvas, loaded.session.doc
    canvas.view.center(doc.width, doc.height, canvas.width(), canvas.height(), 4.0)
    canvas.repaint()
    rendered = canvas.frames_rendered
    start = QPointF(canvas.width() / 2, canvas.height() / 2)
    send_mouse(canvas, QEvent.Type.MouseButtonPress, start, Qt.MouseButton.MiddleButton,
               Qt.MouseButton.MiddleButton)
    for i in range(1, 11):
        send_mouse(canvas, QEvent.Type.MouseMove, start + QPointF(12 * i, 7 * i),
                   Qt.MouseButton.MiddleButton)
        canvas.repaint()
    assert canvas.frames_rendered == rendered  # no composite while the hand moves
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, start + QPointF(120, 70),
               Qt.MouseButton.NoButton, Qt.MouseButton.MiddleButton)
    canvas.repaint()
    assert canvas.frames_rendered == rendered + 1  # one fresh render for the new view
    # the fresh frame is exact: canvas pixel (100, 80) shows the composite's pixel
    loaded.session.set_active(None)
    shown = grab_rgb(canvas)
    wx, wy = canvas.view.to_widget(100.5, 80.5)
    assert tuple(shown[int(wy), int(wx)]) == tuple(composite(doc)[80, 100, :3])


def test_wheel_zoom_renders_once_the_wheel_stops(qtbot, loaded):
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    canvas = loaded.canvas
    canvas.repaint()
    rendered = canvas.frames_rendered
    pos = canvas_point(loaded, 120, 80)
    for _ in range(3):
        event = QWheelEvent(pos, canvas.mapToGlobal(pos), QPoint(0, 0), QPoint(0, -120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(canvas, event)
        canvas.repaint()
    assert canvas.frames_rendered == rendered  # the old frame, scaled, while the wheel turns
    qtbot.waitUntil(lambda: canvas.frames_rendered == rendered + 1, timeout=5_000)


def test_hover_outlines_what_a_click_would_select(loaded):
    canvas, session = loaded.canvas, loaded.session
    session.set_active(None)
    square = session.doc.layers[1]
    send_mouse(canvas, QEvent.Type.MouseMove, canvas_point(loaded, 60, 70), Qt.MouseButton.NoButton)
    assert canvas._hover_layer() is square
    loaded.session.set_active(None)
    shown = grab_rgb(canvas)
    x0, y0, x1, y1 = square.bounds()
    wx, wy = canvas.view.to_widget(x0, y0)
    edge = shown[int(wy), int(wx) : int(canvas.view.to_widget(x1, y0)[0])]
    assert (edge[:, 2] > edge[:, 0]).mean() > 0.3  # a bluish dashed line along the top edge
    send_mouse(canvas, QEvent.Type.MouseMove, QPointF(2, 2), Qt.MouseButton.NoButton)
    assert canvas._hover_layer() is None


def test_partial_repaints_leave_no_stale_pixels_on_screen(qtbot, loaded):
    """A drag repaints only where the layer was and is; what reaches the screen (the
    window's backing store) must still be the exact composite everywhere."""
    canvas, session = loaded.canvas, loaded.session
    square = session.doc.layers[1]
    session.set_active(square.id)
    qtbot.wait(30)  # painted in full once
    left = Qt.MouseButton.LeftButton
    send_mouse(canvas, QEvent.Type.MouseButtonPress, canvas_point(loaded, 60, 70), left, left)
    for step in range(1, 5):  # each step is painted before the next, as on screen
        send_mouse(canvas, QEvent.Type.MouseMove, canvas_point(loaded, 60 + 25 * step, 70), left)
        QApplication.processEvents()
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, canvas_point(loaded, 160, 70),
               Qt.MouseButton.NoButton, left)
    qtbot.wait(30)
    assert square.params.offset == (100.0, 0.0)
    screen = canvas.screen().grabWindow(loaded.winId()).toImage()
    origin = canvas.mapTo(loaded, QPoint(0, 0))
    expected = composite(session.doc)
    for x, y in ((60, 70), (160, 70), (45, 55), (250, 150)):  # old place, new place, others
        wx, wy = canvas.view.to_widget(x + 0.5, y + 0.5)
        colour = screen.pixelColor(origin.x() + int(wx), origin.y() + int(wy))
        assert (colour.red(), colour.green(), colour.blue()) == tuple(expected[y, x, :3]), (x, y)
