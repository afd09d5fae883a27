"""The main window: canvas in the middle, layers, properties and history docked around it,
menus, toolbar and status bar; it wires the session to the file and decompose controllers."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRectF, QSettings, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QUndoView,
    QWidget,
)

from app.core import commands
from app.core.wording import count
from app.ui.canvas import Canvas
from app.ui.decompose_controller import DecomposeController
from app.ui.documents import DocumentFiles
from app.ui.extract import box_region, extract_command, stroke_region
from app.ui.keyboard import UndoKeys
from app.ui.layer_panel import LayerPanel
from app.ui.object_select import install as install_object_select
from app.ui.preferences import PreferencesDialog, apply_saved_preferences
from app.ui.progress import ProgressWidget
from app.ui.properties import PropertiesPanel
from app.ui.resources import icon
from app.ui.session import EditorSession
from app.ui.tasks import run_in_background
from app.ui.text_tools import TextTools
from app.ui.window_actions import ActionsMixin
from app.ui.window_files import FileDialogsMixin
from model.refine.results import describe


class MainWindow(ActionsMixin, FileDialogsMixin, QMainWindow):
    def __init__(self, recovery_dir: str | None = None, autosave_ms: int = 60_000) -> None:
        super().__init__()
        apply_saved_preferences()
        self.session = EditorSession(parent=self)
        self.last_error: str | None = None
        self.canvas = Canvas(self.session)
        self.setCentralWidget(self.canvas)
        self.progress = ProgressWidget()
        self.files = DocumentFiles(self.session, self.show_error, recovery_dir, autosave_ms, self)
        self.decomposer = DecomposeController(
            self.session, self.progress, self, self.show_error
        )
        self._make_actions()
        self._make_menus()
        self._make_toolbar()
        self._make_docks()
        self.text_tools = TextTools(self)
        self._make_status_bar()
        self.object_select = install_object_select(self)  # Object Select (W), beside Extract
        self._locks: dict[str, bool] = {}
        self._connect()
        # Ctrl+Z / Ctrl+Shift+Z reach the document unless a text is being typed in
        self.undo_keys = UndoKeys(self, [self.act_undo, self.act_redo])
        self.setAcceptDrops(True)
        self.setWindowIcon(icon("strata"))
        self.resize(1400, 900)
        self._restore_layout()
        self._update_title()
        self._update_actions()

    # -- construction

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        self.view_menu.addAction(dock.toggleViewAction())
        return dock

    def _make_docks(self) -> None:
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.properties = PropertiesPanel(self.session)
        self.layer_panel = LayerPanel(
            self.session,
            self.layer_context_actions(),
            [self.act_decompose_layer, self.act_duplicate, self.act_merge, self.act_raise,
             self.act_lower, self.act_delete],
        )
        self.history = QUndoView(self.session.undo_stack)
        self.history.setEmptyLabel("Opened")
        self.dock_properties = self._dock("Properties", "propertiesDock", self.properties, right)
        self.dock_layers = self._dock("Layers", "layersDock", self.layer_panel, right)
        self.dock_history = self._dock("History", "historyDock", self.history, right)
        self.tabifyDockWidget(self.dock_properties, self.dock_history)
        self.dock_properties.raise_()
        for panel in (self.properties, self.layer_panel, self.history):
            panel.setMinimumWidth(260)
        self._docks_sized = False

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        self.result_label = QLabel()
        self.result_label.setObjectName("statusField")
        self.result_label.hide()
        self.cursor_label = QLabel()
        self.size_label = QLabel()
        self.zoom_label = QLabel()
        self.zoom_label.setMinimumWidth(56)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.result_label)
        for label in (self.cursor_label, self.size_label, self.zoom_label):
            label.setObjectName("statusField")
            bar.addPermanentWidget(label)
        self.cursor_label.hide()  # until the mouse is over the canvas

    def _connect(self) -> None:
        s = self.session
        s.changed.connect(self._update_actions)
        s.active_changed.connect(self._update_actions)
        s.document_replaced.connect(self._document_replaced)
        s.layers_changed.connect(self._remember_locks)
        s.layer_changed.connect(self._say_lock_change)
        s.undo_stack.cleanChanged.connect(self._update_title)
        s.undo_stack.indexChanged.connect(self._update_title)
        self.canvas.zoom_changed.connect(self._show_zoom)
        self.canvas.cursor_moved.connect(self._show_cursor)
        self.canvas.extract_requested.connect(self.extract)
        self.canvas.extract_painted.connect(self.extract_painted)
        self.canvas.message.connect(self.status_message)
        # Enter or Esc in a property field hands the keys back to the canvas
        for field in [*self.properties.slider_fields(), self.layer_panel.opacity]:
            field.done.connect(self.canvas.setFocus)
        self.files.status.connect(self.status_message)
        self.files.saved.connect(self._update_title)
        self.files.opened.connect(self._update_title)
        self.decomposer.status.connect(self.status_message)
        self.decomposer.finished.connect(self._update_actions)
        self.decomposer.finished.connect(self._show_result)

    # -- state shown

    def status_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 15_000)

    def show_error(self, title: str, message: str) -> None:
        """Report a failure in one sentence, without blocking (the window keeps running)."""
        self.last_error = message
        self.status_message(message)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok,
                          self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _show_cursor(self, x: float, y: float) -> None:
        self.cursor_label.setText(f"{int(x)}, {int(y)}")
        self.cursor_label.show()

    def _show_result(self, applied: bool) -> None:
        result = self.decomposer.last_result
        if not applied or result is None:
            return
        warned = "\u26a0 " if result.warnings else ""
        text = f"{warned}{result.backend} \u00b7 {count(len(result.layers), 'layer')}"
        if result.reconstruction_db is not None:
            db = result.reconstruction_db
            text += " \u00b7 exact" if db >= 100 else f" \u00b7 {db:.1f} dB"
        self.result_label.setText(text)
        tip = [f"Decomposed by {self.decomposer.last_reason} on {result.device}.",
               f"Reconstruction: {describe(result).removeprefix('reconstruction ')}."]
        if result.caption:
            tip.append(f"Caption: {result.caption}")
        tip += result.warnings
        self.result_label.setToolTip("\n".join(tip))
        self.result_label.show()

    def _remember_locks(self) -> None:
        doc = self.session.doc
        self._locks = {} if doc is None else {layer.id: layer.locked for layer in doc.layers}

    def _say_lock_change(self, layer_id: str) -> None:
        """A lock toggled (click, Ctrl+/, undo) replaces any "is locked" line in the status bar."""
        doc = self.session.doc
        layer = None if doc is None else next((la for la in doc.layers if la.id == layer_id), None)
        if layer is None or self._locks.get(layer_id) == layer.locked:
            return
        self._locks[layer_id] = layer.locked
        self.status_message(
            f"'{layer.name}' is locked against moving." if layer.locked
            else f"'{layer.name}' is unlocked: it can be moved now."
        )

    def _show_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%")

    def _update_title(self, *_args) -> None:
        name = self.files.display_name if self.session.doc is not None else "Strata"
        self.setWindowTitle(f"{name}[*] \u2014 Strata" if self.session.doc is not None else name)
        self.setWindowModified(self.session.is_modified)

    def _document_replaced(self) -> None:
        self._remember_locks()
        doc = self.session.doc
        self.result_label.hide()
        self.size_label.setText("" if doc is None else f"{doc.width} \u00d7 {doc.height} px")
        self._show_zoom(self.canvas.view.zoom)
        self._update_title()
        self._update_actions()

    def _update_actions(self, *_args) -> None:
        doc = self.session.doc
        layer = self.session.active_layer()
        has_doc = doc is not None
        running = self.decomposer.running
        for act in (self.act_save, self.act_save_as, *self.act_export.values(),
                    self.act_fit, self.act_actual, self.act_zoom_in, self.act_zoom_out):
            act.setEnabled(has_doc)
        self.act_decompose.setEnabled(has_doc and not running)
        self.act_cancel.setEnabled(running)
        for act in (self.act_delete, self.act_duplicate, self.act_rename, self.act_export_layer):
            act.setEnabled(layer is not None)
        self.act_decompose_layer.setEnabled(layer is not None and not running)
        index = -1 if layer is None or doc is None else doc.index_of(layer.id)
        self.act_lock.setEnabled(layer is not None)
        self.act_lock.setChecked(layer is not None and layer.locked)
        self.act_merge.setEnabled(index > 0)
        self.act_lower.setEnabled(index > 0)
        self.act_raise.setEnabled(doc is not None and 0 <= index < len(doc.layers) - 1)

    # -- layer actions

    def _push(self, make) -> None:
        doc, layer = self.session.doc, self.session.active_layer()
        if doc is None or layer is None:
            return
        try:
            command = make(doc, layer.id)
        except ValueError as exc:
            self.status_message(str(exc).capitalize() + ".")
            return
        self.session.push(command)

    def delete_layer(self) -> None:
        self._push(commands.delete_layer)

    def duplicate_layer(self) -> None:
        self._push(commands.duplicate_layer)

    def merge_down(self) -> None:
        self._push(commands.merge_down)

    def restack(self, step: int) -> None:
        self._push(lambda doc, lid: commands.move_layer(doc, lid, doc.index_of(lid) + step))

    def toggle_lock(self) -> None:
        layer = self.session.active_layer()
        if layer is not None:
            self._push(lambda doc, lid: commands.set_locked(doc, lid, not layer.locked))

    def rename_layer(self) -> None:
        self.dock_layers.show()
        self.layer_panel.rename_active()

    def decompose_active(self) -> None:
        if self.session.active_id is not None:
            self.decomposer.ask(self.session.active_id)

    def extract(self, rect: QRectF) -> None:
        """Extract what the box dragged with the extract tool holds."""
        box = (rect.x(), rect.y(), rect.width(), rect.height())
        centre = rect.center()
        self._extract(lambda layer: box_region(layer, box), (centre.x(), centre.y()))

    def extract_painted(self, points: list, radius: float) -> None:
        """Extract what the region painted with the extract brush covers."""
        xs, ys = zip(*points)
        centre = (sum(xs) / len(xs), sum(ys) / len(ys))
        self._extract(lambda layer: stroke_region(layer, points, radius), centre)

    def _extract(self, make_region, centre: tuple[float, float]) -> None:
        doc, layer = self.session.doc, self.session.active_layer()
        if doc is None:
            return
        if layer is None or not layer.params.visible:
            layer = doc.topmost_at(*centre)
        if layer is None:
            self.status_message("Select the layer that holds the object first.")
            return
        target = layer

        def done(command) -> None:
            if self.session.doc is doc and target in doc.layers:
                self.session.push(command)
                self.status_message("Extracted a new layer; the hole below was filled.")

        run_in_background(
            lambda: extract_command(doc, target, make_region(target)), "extract the object",
            done, lambda message: self.show_error("Extract", message),
        )
        self.status_message("Extracting...")

    # -- help

    def show_models(self) -> None:
        from app.ui.models_dialog import ModelsDialog

        ModelsDialog(self).open()

    def show_preferences(self) -> PreferencesDialog:
        dialog = PreferencesDialog(self)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def show_about(self) -> None:
        QMessageBox.about(
            self, "About Strata",
            "<b>Strata</b><br>Split a picture into editable layers, edit them, export PSD.",
        )

    # -- window events

    def _restore_layout(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        state = settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._docks_sized and QSettings().value("window/state") is None:
            self.resizeDocks([self.dock_layers], [330], Qt.Orientation.Horizontal)
            self.resizeDocks([self.dock_properties, self.dock_layers], [330, 420],
                             Qt.Orientation.Vertical)
        self._docks_sized = True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.confirm_discard():
            event.ignore()
            return
        self.decomposer.cancel()
        self.files.autosave_timer.stop()
        self.files.wait_idle()
        self.files.discard_own_recovery()
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        event.accept()

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls and self.confirm_discard():
            event.acceptProposedAction()
            self.open_file(urls[0].toLocalFile())

