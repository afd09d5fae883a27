"""The position lock in the window, as in Photoshop: the picture's bottom layer is locked
when opened and after a decomposition; a lock in the layer panel toggles it (one undo
step); clicks pass over locked layers to the topmost unlocked one under the cursor, or the
status bar says why nothing moved; drags, arrow keys and the X/Y fields respect it."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from test_gui_canvas import make_doc
from test_gui_support import (  # noqa: F401 - the *_fixture names are fixtures
    canvas_point,
    click,
    design_image,
    drag,
    isolated_settings_fixture,
    layer_named,
    open_and_wait,
    window_fixture,
    write_png,
)

from app.core import commands
from app.ui.layer_delegate import lock_rect
from app.ui.layer_model import LockedRole
from model.base import DecomposeOptions


@pytest.fixture
def loaded(window):
    window.session.set_document(make_doc())
    window.canvas.actual_size()
    return window


def lock_point(window, name: str) -> QPoint:
    """Where the lock of the layer named `name` is drawn in the layer list's viewport."""
    panel = window.layer_panel
    row = panel.model.row_of(layer_named(window.session.doc, name).id)
    return lock_rect(panel.view.visualRect(panel.model.index(row))).center()


def click_lock(qtbot, window, name: str) -> None:
    qtbot.mouseClick(window.layer_panel.view.viewport(), Qt.MouseButton.LeftButton,
                     pos=lock_point(window, name))


def test_an_opened_picture_is_locked_and_does_not_move(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, write_png(tmp_path / "photo.png", design_image()))
    session, canvas = window.session, window.canvas
    layer = session.doc.layers[0]
    assert layer.locked
    panel = window.layer_panel
    assert panel.model.index(0).data(LockedRole) is True
    canvas.actual_size()
    drag(canvas, canvas_point(window, 100, 100), canvas_point(window, 140, 130))
    assert layer.params.offset == (0.0, 0.0) and session.undo_stack.count() == 0
    assert session.active_id == layer.id  # selected all the same (to recolour it)
    message = window.statusBar().currentMessage()
    assert "'photo' is locked" in message and "lock" in message.split("\u2014")[1]
    canvas.setFocus()
    window.statusBar().clearMessage()
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    assert layer.params.offset == (0.0, 0.0) and session.undo_stack.count() == 0
    assert "'photo' is locked" in window.statusBar().currentMessage()
    props = window.properties
    assert not props.x.isEnabled() and not props.y.isEnabled() and not props.scale.isEnabled()
    assert "locked" in props.x.toolTip()
    assert props.hue.isEnabled() and props.opacity.isEnabled()  # only the position is locked
    assert window.canvas.handle_at(canvas_point(window, 0, 0)) is None  # no scale handles


def test_the_lock_in_the_layer_panel_toggles_in_one_undo_step(qtbot, loaded):
    session, canvas = loaded.session, loaded.canvas
    background = layer_named(session.doc, "Background")
    assert background.locked and not layer_named(session.doc, "Square").locked
    loaded.status_message("'Background' is locked \u2014 click the lock to move it")
    click_lock(qtbot, loaded, "Background")
    assert not background.locked
    assert "'Background' is unlocked" in loaded.statusBar().currentMessage()  # not stale
    assert session.undo_stack.count() == 1
    assert session.undo_stack.undoText() == "Unlock 'Background'"
    assert loaded.properties.x.isEnabled()
    drag(canvas, canvas_point(loaded, 150, 20), canvas_point(loaded, 160, 20))
    assert background.params.offset == (10.0, 0.0)
    loaded.act_undo.trigger()
    loaded.act_undo.trigger()
    assert background.locked and background.params.offset == (0.0, 0.0)
    click_lock(qtbot, loaded, "Square")
    assert layer_named(session.doc, "Square").locked
    assert session.undo_stack.undoText() == "Lock 'Square'"


def test_the_lock_is_drawn_and_shows_its_state(qtbot, loaded):
    panel = loaded.layer_panel
    loaded.session.set_active(layer_named(loaded.session.doc, "Square").id)  # others unselected
    image = panel.view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    arr = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).reshape(
        image.height(), image.bytesPerLine() // 4, 4)[:, :, :3].astype(int)

    def contrast(name: str) -> float:
        """How much the lock stands out from its row's own background."""
        row = panel.model.row_of(layer_named(loaded.session.doc, name).id)
        rect = lock_rect(panel.view.visualRect(panel.model.index(row)))
        lock = arr[rect.top() : rect.bottom() + 1, rect.left() : rect.right() + 1]
        background = arr[rect.center().y(), rect.left() - 4]
        return float(np.abs(lock - background).sum(axis=2).max())

    locked, unlocked = contrast("Background"), contrast("Ring")
    assert unlocked > 5  # the open lock is there to be clicked, faintly
    assert locked > 2 * unlocked  # the closed one is plain to see


def test_a_click_passes_over_locked_layers_to_the_unlocked_one_below(qtbot, loaded):
    session, canvas = loaded.session, loaded.canvas
    doc = session.doc
    square, background = layer_named(doc, "Square"), layer_named(doc, "Background")
    canvas.setFocus()
    session.set_active(square.id)
    qtbot.keyClick(canvas, Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier)  # Ctrl+/
    assert square.locked and loaded.act_lock.isChecked()
    # the square is locked, the background below it too: the square is selected, not moved
    drag(canvas, canvas_point(loaded, 60, 70), canvas_point(loaded, 80, 70))
    assert session.active_id == square.id and square.params.offset == (0.0, 0.0)
    assert "'Square' is locked" in loaded.statusBar().currentMessage()
    # with the background unlocked, the same drag moves the background under the square
    session.push(commands.set_locked(doc, background.id, False))
    drag(canvas, canvas_point(loaded, 60, 70), canvas_point(loaded, 80, 70))
    assert session.active_id == background.id
    assert background.params.offset == (20.0, 0.0) and square.params.offset == (0.0, 0.0)


def test_position_fields_follow_the_lock(qtbot, loaded):
    session = loaded.session
    square = layer_named(session.doc, "Square")
    session.set_active(square.id)
    props = loaded.properties
    assert props.x.isEnabled()
    loaded.act_lock.trigger()
    assert square.locked and not props.x.isEnabled() and not props.y.isEnabled()
    props.x.spin.setValue(props.x.value() + 7)  # even if a value arrives, nothing moves
    assert square.params.offset == (0.0, 0.0)
    loaded.act_undo.trigger()
    assert not square.locked and props.x.isEnabled()
    props.x.spin.setValue(props.x.value() + 7)
    assert square.params.offset == (7.0, 0.0)


def test_duplicate_of_a_locked_layer_is_free_and_merge_down_keeps_the_lock(loaded):
    session = loaded.session
    doc = session.doc
    background = layer_named(doc, "Background")
    session.set_active(background.id)
    loaded.duplicate_layer()
    copy = layer_named(doc, "Background copy")
    assert not copy.locked
    loaded.merge_down()  # the copy into the background
    assert doc.layers[0].locked and doc.layers[0].name == "Background"


@pytest.mark.slow
def test_decomposition_locks_its_bottom_layer_and_reports_its_warnings(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, write_png(tmp_path / "d.png", design_image()))
    window.decomposer.start("classic", DecomposeOptions(layers=7))
    qtbot.waitUntil(lambda: not window.decomposer.running, timeout=120_000)
    assert window.last_error is None
    doc, result = window.session.doc, window.decomposer.last_result
    assert [layer.locked for layer in doc.layers] == [True] + [False] * (len(doc.layers) - 1)
    message = window.statusBar().currentMessage()
    n = len(result.layers)
    assert message.startswith(f"{n} layer{'s' if n != 1 else ''} from classic")
    assert result.warnings  # classic finds 3 parts here, not 7
    for warning in result.warnings:
        assert warning.strip().rstrip(".")[1:] in message
    assert window.result_label.text() == f"\u26a0 classic \u00b7 {n} layers \u00b7 exact"
    assert "classic (as asked)" in window.result_label.toolTip()
    # decomposing a part further does not lock its parts
    top = doc.layers[-1]
    window.decomposer.start("classic", DecomposeOptions(), top.id)
    qtbot.waitUntil(lambda: not window.decomposer.running, timeout=120_000)
    assert doc.layers[0].locked
    assert not any(layer.locked for layer in doc.layers[1:])
