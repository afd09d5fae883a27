"""Undoable document changes and the history that runs them.

Every change to a Document goes through a Command. Parameter edits store LayerParams
(a few numbers), never pixels. A continuous gesture (a drag, a slider move) pushes many
commands with the same `merge_key`; the history folds them into one undo step, the way
Tiled's ChangeValue commands merge by id. The GUI wraps these same commands for
QUndoStack, so both stacks share one behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.core.document import Document
from app.core.layer import Layer, LayerParams, Recolor
from app.core.render import flatten, layer_view_rect, unpremultiply_to_uint8


class Command:
    text: str = ""
    merge_key: Hashable | None = None

    def do(self, doc: Document) -> None:
        raise NotImplementedError

    def undo(self, doc: Document) -> None:
        raise NotImplementedError

    def merge(self, later: Command) -> bool:
        """Absorb `later` (same merge_key) so that one undo reverts both. True if merged."""
        return False


@dataclass
class SetParams(Command):
    """Replace one layer's edit parameters (rename, visibility, opacity, move, scale, recolor)."""

    layer_id: str
    old: LayerParams
    new: LayerParams
    text: str = "Edit Layer"
    merge_key: Hashable | None = None

    def do(self, doc: Document) -> None:
        doc.layer(self.layer_id).params = self.new

    def undo(self, doc: Document) -> None:
        doc.layer(self.layer_id).params = self.old

    def merge(self, later: Command) -> bool:
        if not isinstance(later, SetParams) or later.layer_id != self.layer_id:
            return False
        self.new = later.new
        return True


@dataclass
class AddLayer(Command):
    layer: Layer
    index: int
    text: str = "Add Layer"

    def do(self, doc: Document) -> None:
        doc.layers.insert(self.index, self.layer)

    def undo(self, doc: Document) -> None:
        doc.layers.pop(doc.index_of(self.layer.id))


@dataclass
class DeleteLayer(Command):
    layer_id: str
    text: str = "Delete Layer"
    _removed: tuple[int, Layer] | None = None

    def do(self, doc: Document) -> None:
        index = doc.index_of(self.layer_id)
        self._removed = (index, doc.layers.pop(index))

    def undo(self, doc: Document) -> None:
        assert self._removed is not None
        index, layer = self._removed
        doc.layers.insert(index, layer)


@dataclass
class MoveLayer(Command):
    """Reorder: move a layer to `to_index` in the stack (0 = bottom)."""

    layer_id: str
    to_index: int
    text: str = "Reorder Layer"
    _from_index: int = -1

    def do(self, doc: Document) -> None:
        self._from_index = doc.index_of(self.layer_id)
        layer = doc.layers.pop(self._from_index)
        doc.layers.insert(self.to_index, layer)

    def undo(self, doc: Document) -> None:
        layer = doc.layers.pop(doc.index_of(self.layer_id))
        doc.layers.insert(self._from_index, layer)


@dataclass
class ReplaceLayers(Command):
    """Swap a run of layers for others as one step (recursive decomposition, merge down).

    `old_ids` must be adjacent in the stack; `new` takes their place, bottom first.
    """

    old_ids: Sequence[str]
    new: Sequence[Layer]
    text: str = "Replace Layers"
    _old: list[Layer] = field(default_factory=list)
    _index: int = -1

    def do(self, doc: Document) -> None:
        indices = sorted(doc.index_of(i) for i in self.old_ids)
        if indices != list(range(indices[0], indices[0] + len(indices))):
            raise ValueError("layers to replace must be adjacent")
        self._index = indices[0]
        self._old = doc.layers[indices[0] : indices[-1] + 1]
        doc.layers[indices[0] : indices[-1] + 1] = list(self.new)

    def undo(self, doc: Document) -> None:
        doc.layers[self._index : self._index + len(self.new)] = self._old


@dataclass
class SetAllLayers(Command):
    """Replace the whole layer stack (a decomposition of the whole picture)."""

    new: Sequence[Layer]
    text: str = "Decompose"
    _old: list[Layer] = field(default_factory=list)

    def do(self, doc: Document) -> None:
        self._old = list(doc.layers)
        doc.layers[:] = list(self.new)

    def undo(self, doc: Document) -> None:
        doc.layers[:] = self._old


# --- Factories: the commands an editor issues, built from the document's current state.


class LayerLocked(ValueError):
    """A move or scale of a layer whose position is locked."""

    def __init__(self, name: str) -> None:
        super().__init__(f"'{name}' is locked")
        self.name = name


def _check_movable(doc: Document, layer_id: str) -> None:
    layer = doc.layer(layer_id)
    if layer.locked:
        raise LayerLocked(layer.name)


def _set(doc: Document, layer_id: str, text: str, key: Hashable | None, **changes) -> SetParams:
    layer = doc.layer(layer_id)
    return SetParams(layer_id, layer.params, layer.params.with_(**changes), text, key)


def rename(doc: Document, layer_id: str, name: str) -> SetParams:
    return _set(doc, layer_id, f"Rename '{doc.layer(layer_id).name}'", None, name=name)


def set_visible(doc: Document, layer_id: str, visible: bool) -> SetParams:
    verb = "Show" if visible else "Hide"
    return _set(doc, layer_id, f"{verb} '{doc.layer(layer_id).name}'", None, visible=visible)


def set_locked(doc: Document, layer_id: str, locked: bool) -> SetParams:
    verb = "Lock" if locked else "Unlock"
    return _set(doc, layer_id, f"{verb} '{doc.layer(layer_id).name}'", None, locked=locked)


def set_opacity(
    doc: Document, layer_id: str, opacity: float, gesture: Hashable = None
) -> SetParams:
    key = None if gesture is None else ("opacity", layer_id, gesture)
    value = float(np.clip(opacity, 0.0, 1.0))
    return _set(doc, layer_id, f"Opacity '{doc.layer(layer_id).name}'", key, opacity=value)


def set_offset(
    doc: Document, layer_id: str, offset: tuple[float, float], gesture: Hashable = None
) -> SetParams:
    _check_movable(doc, layer_id)
    key = None if gesture is None else ("offset", layer_id, gesture)
    value = (float(offset[0]), float(offset[1]))
    return _set(doc, layer_id, f"Move '{doc.layer(layer_id).name}'", key, offset=value)


def translate(
    doc: Document, layer_id: str, dx: float, dy: float, gesture: Hashable = None
) -> SetParams:
    ox, oy = doc.layer(layer_id).params.offset
    return set_offset(doc, layer_id, (ox + dx, oy + dy), gesture)


MIN_SCALE, MAX_SCALE = 0.01, 20.0


def set_scale(
    doc: Document, layer_id: str, scale: tuple[float, float], gesture: Hashable = None
) -> SetParams:
    _check_movable(doc, layer_id)
    key = None if gesture is None else ("scale", layer_id, gesture)
    value = tuple(float(np.clip(s, MIN_SCALE, MAX_SCALE)) for s in scale)
    return _set(doc, layer_id, f"Scale '{doc.layer(layer_id).name}'", key, scale=value)


def set_recolor(
    doc: Document, layer_id: str, recolor: Recolor, gesture: Hashable = None
) -> SetParams:
    key = None if gesture is None else ("recolor", layer_id, gesture)
    return _set(doc, layer_id, f"Recolor '{doc.layer(layer_id).name}'", key, recolor=recolor)


def add_layer(doc: Document, layer: Layer, index: int | None = None) -> AddLayer:
    index = len(doc.layers) if index is None else index
    return AddLayer(layer, index, f"Add '{layer.name}'")


def delete_layer(doc: Document, layer_id: str) -> DeleteLayer:
    return DeleteLayer(layer_id, f"Delete '{doc.layer(layer_id).name}'")


def move_layer(doc: Document, layer_id: str, to_index: int) -> MoveLayer:
    to_index = int(np.clip(to_index, 0, len(doc.layers) - 1))
    return MoveLayer(layer_id, to_index, f"Reorder '{doc.layer(layer_id).name}'")


def duplicate_layer(doc: Document, layer_id: str) -> AddLayer:
    layer = doc.layer(layer_id)
    copy = layer.copy(doc.unique_name(f"{layer.name} copy"))
    copy.params = copy.params.with_(locked=False)  # as Photoshop's "Background copy"
    return AddLayer(copy, doc.index_of(layer_id) + 1, f"Duplicate '{layer.name}'")


def bake_layers(doc: Document, layers: Sequence[Layer], name: str) -> Layer:
    """One new unedited layer whose pixels are the given layers flattened with their edits.

    Pixels moved off the canvas are kept (as Photoshop keeps them), up to half a canvas
    beyond each edge, which bounds the buffer when a layer is scaled up a lot.
    """
    rects = [layer_view_rect(layer) for layer in layers if layer.params.visible]
    rects = [r for r in rects if r is not None]
    if not rects:
        return Layer.from_canvas(np.zeros((1, 1, 4), np.uint8), name)
    mx, my = doc.width // 2, doc.height // 2
    x0 = max(min(r[0] for r in rects), -mx)
    y0 = max(min(r[1] for r in rects), -my)
    x1 = min(max(r[0] + r[2] for r in rects), doc.width + mx)
    y1 = min(max(r[1] + r[3] for r in rects), doc.height + my)
    if x1 <= x0 or y1 <= y0:
        return Layer.from_canvas(np.zeros((1, 1, 4), np.uint8), name)
    premul = flatten(layers, doc.width, doc.height, clip=(x0, y0, x1 - x0, y1 - y0))
    return Layer.from_canvas(unpremultiply_to_uint8(premul), name, origin=(x0, y0))


def merge_down(doc: Document, layer_id: str) -> ReplaceLayers:
    index = doc.index_of(layer_id)
    if index == 0:
        raise ValueError("the bottom layer has nothing below to merge into")
    lower, upper = doc.layers[index - 1], doc.layers[index]
    merged = bake_layers(doc, [lower, upper], lower.name)
    merged.params = merged.params.with_(locked=lower.locked)
    return ReplaceLayers([lower.id, upper.id], [merged], f"Merge Down '{upper.name}'")


def replace_layer(
    doc: Document, layer_id: str, parts: Sequence[Layer], text: str = ""
) -> ReplaceLayers:
    name = doc.layer(layer_id).name
    return ReplaceLayers([layer_id], list(parts), text or f"Decompose '{name}'")


class History:
    """Undo/redo stack over a document, with merging, a clean mark and a bounded size."""

    def __init__(self, doc: Document, limit: int = 500) -> None:
        self.doc = doc
        self.limit = limit
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._clean_depth: int | None = 0  # len(_done) at the last save; None if unreachable
        self.listeners: list[Callable[[], None]] = []

    def push(self, cmd: Command) -> None:
        cmd.do(self.doc)
        self._undone.clear()
        last = self._done[-1] if self._done else None
        mergeable = (
            last is not None and cmd.merge_key is not None and last.merge_key == cmd.merge_key
        )
        if mergeable and self._clean_depth != len(self._done) and last.merge(cmd):
            pass
        else:
            self._done.append(cmd)
            if self._clean_depth is not None and self._clean_depth > len(self._done) - 1:
                self._clean_depth = None  # the clean state was in the discarded redo branch
            if len(self._done) > self.limit:
                self._done.pop(0)
                if self._clean_depth is not None:
                    self._clean_depth = self._clean_depth - 1 if self._clean_depth > 0 else None
        self._changed()

    def undo(self) -> bool:
        if not self._done:
            return False
        cmd = self._done.pop()
        cmd.undo(self.doc)
        self._undone.append(cmd)
        self._changed()
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        cmd = self._undone.pop()
        cmd.do(self.doc)
        self._done.append(cmd)
        self._changed()
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    def __len__(self) -> int:
        return len(self._done) + len(self._undone)

    def mark_clean(self) -> None:
        self._clean_depth = len(self._done)
        self._changed()

    @property
    def is_clean(self) -> bool:
        return self._clean_depth == len(self._done)

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()
