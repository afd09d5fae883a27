"""QUndoStack adapter for the core commands: one behaviour for both stacks.

A core command carries the document change (do/undo), its menu text and a merge key; this
adapter lets QUndoStack run it, merge the steps of one gesture and name it in the menus.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from app.core.commands import Command
from app.core.document import Document

# QUndoStack only tries to merge commands whose id() is equal and not -1; the real test of
# "same gesture" is the core merge_key, compared in mergeWith.
MERGEABLE_ID = 0x5354


class CoreUndoCommand(QUndoCommand):
    def __init__(
        self, doc: Document, command: Command, on_change: Callable[[Command], None]
    ) -> None:
        super().__init__(command.text)
        self.doc = doc
        self.command = command
        self._on_change = on_change

    def redo(self) -> None:
        self.command.do(self.doc)
        self._on_change(self.command)

    def undo(self) -> None:
        self.command.undo(self.doc)
        self._on_change(self.command)

    def id(self) -> int:
        return -1 if self.command.merge_key is None else MERGEABLE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, CoreUndoCommand) or other.doc is not self.doc:
            return False
        if other.command.merge_key != self.command.merge_key:
            return False
        if not self.command.merge(other.command):
            return False
        self.setText(self.command.text)
        return True
