"""A thin Qt item model over the document's layer stack (row 0 = the top layer).

Edits made through the model (rename, show/hide, lock, drag-and-drop reorder) become core
commands on the session, so they are undoable like everything else.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from app.core import commands
from app.core.layer import Layer
from app.core.render import apply_recolor
from app.ui.compositing import straight_to_qimage
from app.ui.session import EditorSession
from app.ui.text_properties import text_tooltip

MIME_TYPE = "application/x-strata-layer-id"
THUMB = 40
LayerIdRole = Qt.ItemDataRole.UserRole + 1
LockedRole = Qt.ItemDataRole.UserRole + 2  # whether the layer's position is locked


def shrink_for_thumbnail(pixels: np.ndarray, size: int = THUMB) -> np.ndarray:
    """The pixels fitted into size x size (area-averaged; premultiplied so that transparent
    pixels do not darken the edges), as straight RGBA."""
    h, w = pixels.shape[:2]
    k = min(size / w, size / h, 1.0)
    tw, th = max(1, round(w * k)), max(1, round(h * k))
    premul = pixels.astype(np.float32)
    premul[:, :, :3] *= premul[:, :, 3:4] / 255.0
    small = cv2.resize(premul, (tw, th), interpolation=cv2.INTER_AREA).reshape(th, tw, 4)
    alpha = small[:, :, 3:4]
    small[:, :, :3] = np.where(alpha > 0, small[:, :, :3] * 255.0 / np.maximum(alpha, 1e-6), 0)
    return np.clip(small + 0.5, 0, 255).astype(np.uint8)


def thumbnail(small: np.ndarray, layer: Layer, size: int = THUMB) -> QPixmap:
    """A shrunk copy of the layer's pixels, recoloured, centred over a checkerboard."""
    image = straight_to_qimage(apply_recolor(small, layer.params.recolor))
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    x, y = (size - image.width()) // 2, (size - image.height()) // 2
    light, dark = QColor("#ffffff"), QColor("#cccccc")
    for ty in range(0, size, 5):
        for tx in range(0, size, 5):
            p.fillRect(tx, ty, 5, 5, light if (tx + ty) // 5 % 2 else dark)
    p.drawImage(x, y, image)
    p.end()
    return pix


class LayerListModel(QAbstractListModel):
    def __init__(self, session: EditorSession) -> None:
        super().__init__()
        self.session = session
        self._thumbs: dict[str, tuple[tuple, QIcon]] = {}
        # recolouring a thumbnail must not recolour a 4096 px layer at every slider step
        self._small: dict[str, tuple[int, np.ndarray]] = {}
        session.document_replaced.connect(self._reset)
        session.layers_changed.connect(self._reset)
        session.layer_changed.connect(self._layer_changed)

    # -- reading

    def _layers(self) -> list[Layer]:
        doc = self.session.doc
        return [] if doc is None else doc.layers

    def row_of(self, layer_id: str) -> int:
        layers = self._layers()
        for i, layer in enumerate(layers):
            if layer.id == layer_id:
                return len(layers) - 1 - i
        return -1

    def layer_at(self, row: int) -> Layer | None:
        layers = self._layers()
        if 0 <= row < len(layers):
            return layers[len(layers) - 1 - row]
        return None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._layers())

    def _icon(self, layer: Layer) -> QIcon:
        key = (id(layer.pixels), layer.params.recolor)
        cached = self._thumbs.get(layer.id)
        if cached is None or cached[0] != key:
            small = self._small.get(layer.id)
            if small is None or small[0] != id(layer.pixels):
                small = (id(layer.pixels), shrink_for_thumbnail(layer.pixels))
                self._small[layer.id] = small
            pix = thumbnail(small[1], layer)
            icon = QIcon(pix)
            icon.addPixmap(pix, QIcon.Mode.Selected)  # no selection tint over the pixels
            cached = (key, icon)
            self._thumbs[layer.id] = cached
        return cached[1]

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        layer = self.layer_at(index.row()) if index.isValid() else None
        if layer is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return layer.name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(layer)
        if role == Qt.ItemDataRole.CheckStateRole:
            return Qt.CheckState.Checked if layer.params.visible else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            x0, y0, x1, y1 = layer.bounds()
            locked = "\nPosition locked: click the lock to move it" if layer.locked else ""
            return (
                f"{layer.name}\n{x1 - x0:.0f} x {y1 - y0:.0f} px at ({x0:.0f}, {y0:.0f}), "
                f"opacity {layer.params.opacity * 100:.0f}%{locked}{text_tooltip(layer)}"
            )
        if role == LayerIdRole:
            return layer.id
        if role == LockedRole:
            return layer.locked
        return None

    def flags(self, index):
        base = super().flags(index)
        if not index.isValid():
            return base | Qt.ItemFlag.ItemIsDropEnabled
        return (
            base
            | Qt.ItemFlag.ItemIsEditable
            | Qt.ItemFlag.ItemIsUserCheckable
            | Qt.ItemFlag.ItemIsDragEnabled
        )

    # -- editing

    def setData(self, index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        layer = self.layer_at(index.row()) if index.isValid() else None
        doc = self.session.doc
        if layer is None or doc is None:
            return False
        if role == Qt.ItemDataRole.EditRole:
            name = str(value).strip()
            if not name or name == layer.name:
                return False
            self.session.push(commands.rename(doc, layer.id, name))
            return True
        if role == Qt.ItemDataRole.CheckStateRole:
            visible = Qt.CheckState(value) == Qt.CheckState.Checked
            if visible != layer.params.visible:
                self.session.push(commands.set_visible(doc, layer.id, visible))
            return True
        return False

    def toggle_lock(self, row: int) -> None:
        """Lock or unlock the position of the layer at display `row` (one undo step)."""
        layer, doc = self.layer_at(row), self.session.doc
        if layer is not None and doc is not None:
            self.session.push(commands.set_locked(doc, layer.id, not layer.locked))

    def move_to_row(self, layer_id: str, row: int) -> None:
        """Reorder: put the layer at display `row` (0 = top)."""
        doc = self.session.doc
        if doc is None:
            return
        n = len(doc.layers)
        target = n - 1 - max(0, min(row, n - 1))
        if target != doc.index_of(layer_id):
            self.session.push(commands.move_layer(doc, layer_id, target))

    # -- drag and drop reorder

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [MIME_TYPE]

    def mimeData(self, indexes) -> QMimeData:  # noqa: N802
        data = QMimeData()
        ids = [self.data(i, LayerIdRole) for i in indexes if i.isValid()]
        data.setData(MIME_TYPE, ",".join(ids).encode())
        return data

    def dropMimeData(self, data, action, row, column, parent) -> bool:  # noqa: N802
        if not data.hasFormat(MIME_TYPE):
            return False
        ids = bytes(data.data(MIME_TYPE).data()).decode().split(",")
        if len(ids) != 1 or not ids[0]:
            return False
        if row < 0:
            row = parent.row() if parent.isValid() else self.rowCount()
        source_row = self.row_of(ids[0])
        if source_row < 0:
            return False
        # `row` is an insertion point between rows; after removing the source it shifts by one
        target = row - 1 if row > source_row else row
        self.move_to_row(ids[0], target)
        return False  # the session already reordered; the view must not remove anything

    # -- keeping in step with the session

    def _reset(self) -> None:
        self.beginResetModel()
        live = {layer.id for layer in self._layers()}
        self._thumbs = {k: v for k, v in self._thumbs.items() if k in live}
        self._small = {k: v for k, v in self._small.items() if k in live}
        self.endResetModel()

    def _layer_changed(self, layer_id: str) -> None:
        row = self.row_of(layer_id)
        if row >= 0:
            index = self.index(row)
            self.dataChanged.emit(index, index)

