"""The layer panel: thumbnails, names, visibility, position locks, drag-and-drop order,
selection in sync."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QPoint, QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.layer_delegate import LayerDelegate
from app.ui.layer_model import THUMB, LayerIdRole, LayerListModel
from app.ui.properties import set_active_opacity
from app.ui.session import EditorSession
from app.ui.widgets import SliderField


class LayerPanel(QWidget):
    def __init__(
        self,
        session: EditorSession,
        context_actions: list[QAction | None],
        button_actions: list[QAction],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.model = LayerListModel(session)
        self.context_actions = context_actions
        self.view = QListView()
        self.view.setObjectName("layerList")
        self.view.setModel(self.model)
        self.view.setItemDelegate(LayerDelegate(self.view))
        self.view.setIconSize(QSize(THUMB, THUMB))
        self.view.setUniformItemSizes(True)
        self.view.setSpacing(1)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.view.setDragDropOverwriteMode(False)
        self.view.setDropIndicatorShown(True)
        triggers = QAbstractItemView.EditTrigger
        self.view.setEditTriggers(triggers.DoubleClicked | triggers.EditKeyPressed)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.setToolTip(
            "Layers, top first. Double-click to rename, drag to reorder, click the lock to "
            "lock or free a layer's position."
        )

        self.opacity = SliderField(0, 100, 0, " %", tooltip="Opacity of the selected layer")
        header = QHBoxLayout()
        header.setContentsMargins(8, 6, 8, 6)
        header.addWidget(QLabel("Opacity"))
        header.addWidget(self.opacity, 1)
        self.opacity.edited.connect(self._opacity_edited)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(4, 2, 4, 2)
        buttons.setSpacing(2)
        buttons.addStretch(1)
        for action in button_actions:
            button = QToolButton()
            button.setDefaultAction(action)
            button.setAutoRaise(True)
            button.setIconSize(QSize(18, 18))
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)

        self.view.selectionModel().currentChanged.connect(self._current_changed)
        session.active_changed.connect(self._select_active)
        session.active_changed.connect(self._show_opacity)
        session.layer_changed.connect(self._show_opacity)
        session.layers_changed.connect(self._show_opacity)
        self.model.modelReset.connect(self._model_reset)
        self._select_active(session.active_id)
        self._show_opacity()

    def _opacity_edited(self, percent: float, gesture) -> None:
        set_active_opacity(self.session, percent, gesture)

    def _show_opacity(self, *_args) -> None:
        layer = self.session.active_layer()
        self.opacity.setEnabled(layer is not None)
        if layer is not None:
            self.opacity.set_value(layer.params.opacity * 100)

    def _model_reset(self) -> None:
        self._select_active(self.session.active_id)

    def _current_changed(self, current, _previous) -> None:
        layer_id = current.data(LayerIdRole) if current.isValid() else None
        if layer_id is not None:
            self.session.set_active(layer_id)

    def _select_active(self, layer_id: str | None) -> None:
        selection = self.view.selectionModel()
        row = -1 if layer_id is None else self.model.row_of(layer_id)
        if row < 0:
            selection.clearSelection()
            return
        index = self.model.index(row)
        if selection.currentIndex() != index or not selection.isSelected(index):
            selection.setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
        self.view.scrollTo(index)

    def rename_active(self) -> None:
        row = self.model.row_of(self.session.active_id or "")
        if row >= 0:
            self.view.edit(self.model.index(row))

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        self.session.set_active(index.data(LayerIdRole))
        menu = QMenu(self)
        for action in self.context_actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.exec(self.view.viewport().mapToGlobal(pos))
