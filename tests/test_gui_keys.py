"""Keys as designers know them, pressed for real on the real window: Ctrl+Z / Ctrl+Shift+Z /
Ctrl+Y act on the document wherever the focus is, except in a text being typed in; Enter
and Esc in a property field hand the focus back to the canvas (Esc reverts the field)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget
from test_gui_canvas import make_doc
from test_gui_support import (  # noqa: F401 - the *_fixture names are fixtures
    isolated_settings_fixture,
    layer_named,
    window_fixture,
)

from app.core import commands

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def edited(window):
    """A document with two recorded steps (the square moved, then recoloured)."""
    window.session.set_document(make_doc())
    doc = window.session.doc
    square = layer_named(doc, "Square")
    window.session.set_active(square.id)
    window.session.push(commands.translate(doc, square.id, 5, 0))
    window.session.push(commands.set_opacity(doc, square.id, 0.5))
    assert window.session.undo_stack.index() == 2
    return window


def focus(qtbot, widget: QWidget) -> None:
    widget.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=2_000)


def focus_targets(window) -> dict[str, QWidget]:
    props = window.properties
    return {
        "canvas": window.canvas,
        "layer list": window.layer_panel.view,
        "slider": props.hue.slider,
        "property field": props.hue.spin,
        "opacity field": window.layer_panel.opacity.spin,
        "history": window.history,
        "colour button": props.tint_color,
    }


@pytest.mark.parametrize("where", ["canvas", "layer list", "slider", "property field",
                                   "opacity field", "history", "colour button"])
def test_undo_and_redo_keys_reach_the_document_from_every_widget(qtbot, edited, where):
    stack = edited.session.undo_stack
    square = layer_named(edited.session.doc, "Square")
    widget = focus_targets(edited)[where]
    focus(qtbot, widget)
    qtbot.keyClick(widget, Qt.Key.Key_Z, CTRL)
    assert stack.index() == 1 and square.params.opacity == 1.0
    qtbot.keyClick(widget, Qt.Key.Key_Z, CTRL)
    assert stack.index() == 0 and square.params.offset == (0.0, 0.0)
    qtbot.keyClick(widget, Qt.Key.Key_Z, CTRL | SHIFT)
    assert stack.index() == 1 and square.params.offset == (5.0, 0.0)
    qtbot.keyClick(widget, Qt.Key.Key_Y, CTRL)
    assert stack.index() == 2 and square.params.opacity == 0.5


def test_a_field_being_typed_in_keeps_its_own_undo(qtbot, edited):
    stack = edited.session.undo_stack
    spin = edited.properties.hue.spin
    line = spin.findChild(QLineEdit)
    focus(qtbot, spin)
    shown = line.text()
    spin.selectAll()
    qtbot.keyClicks(spin, "42")
    assert line.text() != shown
    qtbot.keyClick(spin, Qt.Key.Key_Z, CTRL)  # the typing is undone, not the document
    assert stack.index() == 2
    assert line.text() == shown


def test_renaming_a_layer_keeps_its_own_undo(qtbot, edited):
    stack = edited.session.undo_stack
    edited.layer_panel.rename_active()
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    qtbot.keyClicks(editor, "x")
    qtbot.keyClick(editor, Qt.Key.Key_Z, CTRL)
    assert stack.index() == 2  # the name's text, not the document
    assert editor.text() == "Square"
    qtbot.keyClick(editor, Qt.Key.Key_Escape)


def test_enter_applies_a_typed_value_and_hands_the_focus_to_the_canvas(qtbot, edited):
    stack = edited.session.undo_stack
    square = layer_named(edited.session.doc, "Square")
    spin = edited.properties.hue.spin
    focus(qtbot, spin)
    spin.selectAll()
    qtbot.keyClicks(spin, "45")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert square.params.recolor.hue == 45.0 and stack.index() == 3
    assert QApplication.focusWidget() is edited.canvas
    # and the next Ctrl+Z undoes that value: the canvas has the keys
    qtbot.keyClick(edited.canvas, Qt.Key.Key_Z, CTRL)
    assert square.params.recolor.hue == 0.0 and stack.index() == 2


def test_escape_reverts_the_field_and_hands_the_focus_to_the_canvas(qtbot, edited):
    stack = edited.session.undo_stack
    square = layer_named(edited.session.doc, "Square")
    field = edited.layer_panel.opacity  # the layer panel's field behaves the same
    line = field.spin.findChild(QLineEdit)
    focus(qtbot, field.spin)
    shown = line.text()
    field.spin.selectAll()
    qtbot.keyClicks(field.spin, "20")
    qtbot.keyClick(field.spin, Qt.Key.Key_Escape)
    assert line.text() == shown and field.value() == 50.0
    assert square.params.opacity == 0.5 and stack.index() == 2
    assert QApplication.focusWidget() is edited.canvas


def test_escape_in_a_field_does_not_cancel_a_decomposition(qtbot, edited):
    """Esc is also the window's "Cancel Decomposition" key; in a field it is the field's."""
    edited.act_cancel.setEnabled(True)  # as while a decomposition runs
    cancelled = []
    edited.act_cancel.triggered.connect(lambda: cancelled.append(True))
    spin = edited.properties.scale.spin
    focus(qtbot, spin)
    qtbot.keyClick(spin, Qt.Key.Key_Escape)
    assert not cancelled
    assert QApplication.focusWidget() is edited.canvas
    qtbot.keyClick(edited.canvas, Qt.Key.Key_Escape)  # on the canvas it cancels
    assert cancelled
