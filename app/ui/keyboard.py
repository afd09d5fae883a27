"""Undo and redo keys that act on the document wherever the focus is, as in other editors.

Qt gives Ctrl+Z to any focused line edit first, a spin box's included, even when nothing was
typed there, so after clicking a property field the keys would undo nothing. This filter lets
a text being typed in keep its own undo and sends the keys everywhere else in the window
(canvas, layer list, sliders, spin boxes not being typed in, history) to the window's Undo and
Redo actions, that is to the document's undo stack.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDockWidget,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)


def is_typing(widget: QWidget | None) -> bool:
    """Whether `widget` is a text the user is typing in (it keeps its own text undo)."""
    if widget is None:
        return False
    if isinstance(widget, QLineEdit) and isinstance(widget.parent(), QAbstractSpinBox):
        widget = widget.parent()
    if isinstance(widget, QAbstractSpinBox):
        # a number field is typed in once its text differs from the value it shows
        edit = widget.findChild(QLineEdit)
        return edit is not None and (edit.isModified() or edit.isUndoAvailable())
    if isinstance(widget, QLineEdit | QTextEdit | QPlainTextEdit):
        return not widget.isReadOnly()  # a name being edited, a dialog's text field
    return False


def belongs_to(widget: QWidget, window: QWidget) -> bool:
    """Whether `widget` is in `window` or in one of its floating docks."""
    top = widget.window()
    if isinstance(top, QDockWidget):
        top = top.parentWidget().window() if top.parentWidget() is not None else top
    return top is window


class UndoKeys(QObject):
    """An application event filter owned by `window`; it goes away with the window."""

    def __init__(self, window: QWidget, actions: Sequence[QAction]) -> None:
        super().__init__(window)
        self.window = window
        self.actions = list(actions)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def _is_undo_key(self, event: QKeyEvent) -> bool:
        pressed = QKeySequence(event.keyCombination())
        return any(
            pressed.matches(keys) == QKeySequence.SequenceMatch.ExactMatch
            for action in self.actions
            for keys in action.shortcuts()
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(event, QKeyEvent):
            return False
        focus = QApplication.focusWidget()
        if focus is None or not belongs_to(focus, self.window) or is_typing(focus):
            return False
        if not self._is_undo_key(event):
            return False
        event.ignore()  # no override: the window's Undo / Redo shortcut fires
        return True
