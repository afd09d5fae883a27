"""Text layers in the editor (real Qt, offscreen): double-click edits the words, Properties
changes re-render and undo, the scale handles change the size, Rasterize, Convert to Text."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtTest import QTest
from test_gui_support import (  # noqa: F401 - the *_fixture names are fixtures
    canvas_point,
    drag,
    isolated_settings_fixture,
    send_mouse,
    window_fixture,
)

from app.core import fonts
from app.core.document import Document
from app.core.text_layer import text_layer
from app.core.text_render import render_text
from app.ui import text_tools
from model.text_spec import TextSpec

SANS = "DejaVu Sans"
pytestmark = pytest.mark.skipif(not fonts.is_installed(SANS), reason="DejaVu Sans not installed")


@pytest.fixture
def loaded(window):
    doc = Document.from_image(np.full((240, 400, 4), (240, 240, 230, 255), np.uint8))
    spec = TextSpec(("HELLO",), SANS, style="Bold", weight=700, size_px=60.0,
                    color=(20, 40, 200), x=60.0, y=140.0)
    doc.layers.append(text_layer(spec))
    window.session.set_document(doc)
    return window


def text_id(window) -> str:
    return window.session.doc.layers[1].id


def ink_point(window) -> QPointF:
    layer = window.session.doc.layers[1]
    ys, xs = np.nonzero(layer.pixels[:, :, 3] == 255)
    return canvas_point(window, layer.origin[0] + xs[0] + 0.5, layer.origin[1] + ys[0] + 0.5)


def test_double_click_on_the_canvas_edits_the_words(loaded, qtbot):
    window = loaded
    window.session.set_active(window.session.doc.layers[0].id)
    panel = window.text_tools.panel
    assert not panel.isVisible()  # the background is not text
    send_mouse(window.canvas, QEvent.Type.MouseButtonDblClick, ink_point(window),
               Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton)
    assert window.session.active_id == text_id(window)
    qtbot.waitUntil(lambda: panel.words.hasFocus())
    assert panel.isVisible() and panel.words.textCursor().selectedText() == "HELLO"
    QTest.keyClicks(panel.words, "SALE")
    layer = window.session.doc.layers[1]
    assert layer.text.lines == ("SALE",) and layer.name == "SALE"
    np.testing.assert_array_equal(layer.pixels, render_text(layer.text).rgba)
    panel.words.clearFocus()
    assert window.session.undo_stack.count() == 1  # the typing is one step
    window.session.undo_stack.undo()
    assert window.session.doc.layers[1].text.lines == ("HELLO",)
    assert panel.words.toPlainText() == "HELLO"


def test_double_click_in_the_layer_panel_edits_the_words(loaded, qtbot):
    window = loaded
    view = window.layer_panel.view
    rect = view.visualRect(window.layer_panel.model.index(0))  # top row: the text layer
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.text_tools.panel.words.hasFocus())
    assert view.state() != view.State.EditingState  # not the rename editor
    assert window.session.active_id == text_id(window)


def test_properties_size_change_rerenders_and_undoes(loaded):
    window = loaded
    window.session.set_active(text_id(window))
    panel = window.text_tools.panel
    assert not window.properties.scale.isEnabled()  # the size is a text layer's scale
    before = window.session.doc.layers[1].pixels
    panel.size.spin.setValue(90)
    panel.size.spin.editingFinished.emit()
    layer = window.session.doc.layers[1]
    assert layer.text.size_px == 90.0
    assert layer.pixels.shape[0] > before.shape[0] * 1.3
    np.testing.assert_array_equal(layer.pixels, render_text(layer.text).rgba)
    assert window.session.undo_stack.undoText() == "Font Size 'HELLO'"
    window.session.undo_stack.undo()
    assert window.session.doc.layers[1].pixels is before
    assert panel.size.value() == 60.0


def test_font_family_list_is_searchable_and_colour_align_style_apply(loaded):
    window = loaded
    window.session.set_active(text_id(window))
    panel = window.text_tools.panel
    assert panel.family.count() == len(fonts.installed_families()) > 1
    assert panel.family.completer().filterMode() == Qt.MatchFlag.MatchContains
    other = next(f for f in ("DejaVu Serif", "Nimbus Roman", "Liberation Serif")
                 if fonts.is_installed(f))
    panel.family.setCurrentText(other)
    panel.family.lineEdit().editingFinished.emit()
    assert window.session.doc.layers[1].text.family == other
    panel.align.activated.emit(1)
    assert window.session.doc.layers[1].text.align == "center"
    panel.color.color_changed.emit(panel.color.color().fromRgb(200, 10, 10))
    assert window.session.doc.layers[1].text.color == (200, 10, 10)
    assert window.session.undo_stack.count() == 3


def test_scale_handle_changes_the_size_not_the_pixels(loaded, qtbot):
    window = loaded
    window.session.set_active(text_id(window))
    qtbot.wait(50)
    layer = window.session.doc.layers[1]
    corner = window.canvas._handle_rects(layer)[4].center()  # the bottom-right corner
    assert window.canvas.handle_at(corner) == 4
    centre = canvas_point(window, *layer.center)
    far = QPointF(centre.x() + (corner.x() - centre.x()) * 1.5,
                  centre.y() + (corner.y() - centre.y()) * 1.5)
    drag(window.canvas, corner, far)
    layer = window.session.doc.layers[1]
    assert layer.params.scale == (1.0, 1.0)
    assert layer.text.size_px == pytest.approx(90.0, rel=0.05)
    np.testing.assert_array_equal(layer.pixels, render_text(layer.text).rgba)
    assert window.session.undo_stack.count() == 1


def test_rasterize_and_convert_to_text(loaded, qtbot):
    window = loaded
    window.session.set_active(text_id(window))
    tools = window.text_tools
    assert tools.act_rasterize.isEnabled()
    tools.act_rasterize.trigger()
    assert window.session.doc.layers[1].text is None
    assert not tools.panel.isVisible()
    assert text_tools.load_fit_layer() is not None  # model.textfit: OCR + the real font fit
    tools.update_actions()
    assert tools.act_convert.isEnabled()
    tools.act_convert.trigger()
    qtbot.waitUntil(lambda: window.session.doc.layers[1].text is not None, timeout=120_000)
    layer = window.session.doc.layers[1]
    assert layer.text.lines == ("HELLO",)
    assert layer.text.family == SANS and layer.text.weight == 700
    assert layer.text.size_px == pytest.approx(60.0, rel=0.05)
    assert np.abs(np.subtract(layer.text.color, (20, 40, 200))).max() <= 6
    assert window.session.undo_stack.count() == 2  # rasterize, convert
    assert tools.act_convert in window.layer_panel.context_actions


def test_opening_a_photoshop_type_layer_with_a_missing_font(window, qtbot):
    from test_gui_support import open_and_wait

    from tests.shared_data import SHARED_DATA, missing

    path = SHARED_DATA / "psd-text" / "text-simple.psd"
    if not path.exists():
        missing(path, "the shared type-layer PSD text-simple.psd")
    if fonts.is_installed("Myriad Pro"):
        pytest.skip("Myriad Pro is installed here: nothing is missing")
    open_and_wait(qtbot, window, str(path))
    layer = window.session.doc.layers[0]
    stored = layer.pixels
    assert layer.text.lines == ("Hello",) and layer.text.family == "Myriad Pro"
    window.session.set_active(layer.id)
    tip = window.layer_panel.model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    closest = fonts.closest_family("Myriad Pro")
    assert "Myriad Pro is not installed" in tip and closest in tip
    panel = window.text_tools.panel
    assert panel.missing.isVisible() and panel.use_closest.isVisible()
    panel.use_closest.click()
    layer = window.session.doc.layers[0]
    assert layer.text.family == closest and layer.pixels is not stored
    assert not panel.missing.isVisible()
    window.session.undo_stack.undo()
    assert window.session.doc.layers[0].pixels is stored
