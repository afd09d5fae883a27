"""The open document as the widgets see it: the document, its undo stack and the active layer.

Every change goes through `push`, which wraps a core command for the QUndoStack; after each
do/undo the session says what changed, so the canvas and panels redraw only what they must.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from app.core.commands import Command, SetParams
from app.core.document import Document
from app.core.layer import Layer
from app.core.text_layer import SetText
from app.ui.compositing import make_compositor
from app.ui.undo import CoreUndoCommand


def snapshot(doc: Document) -> Document:
    """A copy safe to read from another thread: layers share their read-only pixels."""
    layers = [
        Layer(layer.pixels, layer.origin, layer.params, layer.id, layer.text)
        for layer in doc.layers
    ]
    return replace(doc, layers=layers, metadata=dict(doc.metadata))


class EditorSession(QObject):
    document_replaced = Signal()  # a different Document object (open, new, recover)
    layers_changed = Signal()  # the stack's structure changed: add, delete, reorder, replace
    layer_changed = Signal(str)  # one layer's parameters changed
    active_changed = Signal(object)  # the active layer id, or None
    changed = Signal()  # anything above; the composite is out of date

    def __init__(self, doc: Document | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)
        self.doc: Document | None = None
        self.path: str | None = None
        self.active_id: str | None = None
        self.revision = 0  # bumps on every change; autosave compares it
        self.compositor = None
        self._gestures = itertools.count(1)
        if doc is not None:
            self.set_document(doc)

    # -- document lifetime

    def set_document(
        self, doc: Document | None, path: str | None = None, modified: bool = False
    ) -> None:
        self.undo_stack.clear()
        self.doc = doc
        self.path = path
        self.compositor = None if doc is None else make_compositor(doc)
        self.active_id = doc.layers[-1].id if doc is not None and doc.layers else None
        self.undo_stack.setClean()
        if modified:
            self.undo_stack.resetClean()
        self.revision += 1
        self.document_replaced.emit()
        self.active_changed.emit(self.active_id)
        self.changed.emit()

    @property
    def is_modified(self) -> bool:
        return self.doc is not None and not self.undo_stack.isClean()

    def mark_saved(self, path: str) -> None:
        self.path = path
        self.undo_stack.setClean()

    # -- editing

    def new_gesture(self) -> int:
        """An id shared by the steps of one drag or slider move, merged into one undo step."""
        return next(self._gestures)

    def push(self, command: Command) -> None:
        if self.doc is None:
            return
        self.undo_stack.push(CoreUndoCommand(self.doc, command, self._after_change))

    def _after_change(self, command: Command) -> None:
        self.revision += 1
        if isinstance(command, (SetParams, SetText)):  # one layer's state, not the stack
            self.layer_changed.emit(command.layer_id)
        else:
            self._keep_active_valid(command)
            self.layers_changed.emit()
        self.changed.emit()

    def _keep_active_valid(self, command: Command) -> None:
        assert self.doc is not None
        ids = [layer.id for layer in self.doc.layers]
        new = getattr(command, "new", None)
        added = getattr(command, "layer", None)
        if self.active_id in ids:
            candidate = self.active_id
        else:
            candidate = None
        if isinstance(added, Layer) and added.id in ids:
            candidate = added.id
        elif isinstance(new, list | tuple) and new and new[-1].id in ids:
            candidate = new[-1].id if candidate is None else candidate
        if candidate is None and ids:
            candidate = ids[-1]
        if candidate != self.active_id:
            self.active_id = candidate
            self.active_changed.emit(candidate)

    # -- the active layer

    def set_active(self, layer_id: str | None) -> None:
        if layer_id == self.active_id:
            return
        self.active_id = layer_id
        self.active_changed.emit(layer_id)

    def active_layer(self) -> Layer | None:
        if self.doc is None or self.active_id is None:
            return None
        try:
            return self.doc.layer(self.active_id)
        except KeyError:
            return None
