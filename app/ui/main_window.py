"""The main window: canvas in the middle, layers, properties and history docked around it,
menus, toolbar and status bar; it wires the session to the file and decompose controllers."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QUndoView,
    QWidget,
)

from app.core import commands
from app.core.formats import IMPORT_EXTENSIONS
from app.core.formats.recovery import RecoveryInfo, discard_recovery, find_recovery
from app.ui.canvas import Canvas
from app.ui.decompose_controller import DecomposeController
from app.ui.documents import DocumentFiles
from app.ui.extract import extract_command
from app.ui.layer_panel import LayerPanel
from app.ui.progress import ProgressWidget
from app.ui.properties import PropertiesPanel
from app.ui.resources import icon
from app.ui.session import EditorSession
from app.ui.tasks import run_in_background

EXPORTS = {
    "psd": ("Photoshop (*.psd)", ".psd"),
    "ora": ("OpenRaster (*.ora)", ".ora"),
    "png": ("Flattened PNG (*.png)", ".png"),
    "jpg": ("Flattened JPEG (*.jpg *.jpeg)", ".jpg"),
}
SESSION_FILTER = "Strata session (*.strata)"


class MainWindow(QMainWindow):
    def __init__(self, recovery_dir: str | None = None, autosave_ms: int = 60_000) -> None:
        super().__init__()
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
        self._make_status_bar()
        self._connect()
        self.setAcceptDrops(True)
        self.setWindowIcon(icon("strata"))
        self.resize(1400, 900)
        self._restore_layout()
        self._update_title()
        self._update_actions()

    # -- construction

    def _action(
        self, text: str, slot, shortcut=None, icon_name: str = "", tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            if isinstance(shortcut, list):
                action.setShortcuts(shortcut)
            else:
                action.setShortcut(shortcut)
        hint = tip or text.replace("...", "").replace("&", "")
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{hint} ({keys})" if keys else hint)
        action.setStatusTip(hint)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        a = self._action
        K = QKeySequence
        self.act_open = a("&Open...", self.open_dialog, K.StandardKey.Open, "open",
                          "Open an image, PSD, ORA or session")
        self.act_save = a("&Save", self.save, K.StandardKey.Save, "save", "Save the session")
        self.act_save_as = a("Save &As...", self.save_as, K.StandardKey.SaveAs, "",
                             "Save the session under a new name")
        self.act_export = {
            "psd": a("Photoshop (PSD)...", lambda: self.export_dialog("psd"), K("Ctrl+Shift+E"),
                     "export", "Export layers as a PSD"),
            "ora": a("OpenRaster (ORA)...", lambda: self.export_dialog("ora")),
            "dir": a("Layer PNGs (folder)...", lambda: self.export_dialog("dir")),
            "png": a("Flattened PNG...", lambda: self.export_dialog("png")),
            "jpg": a("Flattened JPEG...", lambda: self.export_dialog("jpg")),
        }
        self.act_quit = a("&Quit", self.close, K.StandardKey.Quit)
        stack = self.session.undo_stack
        self.act_undo = stack.createUndoAction(self, "Undo")
        self.act_undo.setShortcut(K.StandardKey.Undo)
        self.act_undo.setIcon(icon("undo"))
        self.act_redo = stack.createRedoAction(self, "Redo")
        self.act_redo.setShortcuts([K("Ctrl+Shift+Z"), K("Ctrl+Y")])
        self.act_redo.setIcon(icon("redo"))
        for act in (self.act_undo, self.act_redo):
            self.addAction(act)
        self.act_delete = a("&Delete Layer", self.delete_layer, K(Qt.Key.Key_Delete), "delete")
        self.act_duplicate = a("D&uplicate Layer", self.duplicate_layer, K("Ctrl+J"),
                               "duplicate")
        self.act_merge = a("&Merge Down", self.merge_down, K("Ctrl+E"), "merge",
                           "Merge the layer into the one below")
        self.act_rename = a("&Rename Layer...", self.rename_layer, K(Qt.Key.Key_F2))
        self.act_raise = a("Move Layer &Up", lambda: self.restack(1), K("Ctrl+]"), "up")
        self.act_lower = a("Move Layer Do&wn", lambda: self.restack(-1), K("Ctrl+["), "down")
        self.act_export_layer = a("Export Layer as &PNG...", self.export_layer_dialog)
        self.act_decompose = a("&Decompose...", lambda: self.decomposer.ask(), K("Ctrl+D"),
                               "decompose", "Split the picture into layers")
        self.act_decompose_layer = a(
            "Decompose &Further...", self.decompose_active, K("Ctrl+Shift+D"), "decompose-layer",
            "Split the selected layer into more layers",
        )
        self.act_cancel = a("Cancel Decomposition", self.decomposer.cancel, K(Qt.Key.Key_Escape))
        tools = QActionGroup(self)
        self.act_move_tool = a("&Move Tool", lambda: self.canvas.set_tool("move"), K("V"),
                               "move", "Select, move and scale layers")
        self.act_extract_tool = a("E&xtract Tool", lambda: self.canvas.set_tool("extract"),
                                  K("E"), "extract",
                                  "Drag a box around an object to lift it onto its own layer")
        for act in (self.act_move_tool, self.act_extract_tool):
            act.setCheckable(True)
            tools.addAction(act)
        self.act_move_tool.setChecked(True)
        self.act_zoom_in = a("Zoom &In", self.canvas.zoom_in,
                             [K("Ctrl+="), K("Ctrl++")], "zoom-in")
        self.act_zoom_out = a("Zoom &Out", self.canvas.zoom_out, K("Ctrl+-"), "zoom-out")
        self.act_fit = a("&Fit to Window", self.canvas.fit, K("Ctrl+0"), "zoom-fit")
        self.act_actual = a("&Actual Pixels (100%)", self.canvas.actual_size, K("Ctrl+1"),
                            "zoom-actual")
        self.act_models = a("&Models...", self.show_models, None, "", "Decomposers and weights")
        self.act_about = a("&About Strata", self.show_about)

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addAction(self.act_open)
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        file.addAction(self.act_save)
        file.addAction(self.act_save_as)
        export = file.addMenu("&Export")
        export.setIcon(icon("export"))
        for act in self.act_export.values():
            export.addAction(act)
        file.addSeparator()
        file.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        edit.addAction(self.act_undo)
        edit.addAction(self.act_redo)
        edit.addSeparator()
        edit.addAction(self.act_move_tool)
        edit.addAction(self.act_extract_tool)
        layer = bar.addMenu("&Layer")
        for act in self.layer_context_actions():
            if act is None:
                layer.addSeparator()
            else:
                layer.addAction(act)
        image = bar.addMenu("&Image")
        image.addAction(self.act_decompose)
        image.addAction(self.act_decompose_layer)
        image.addAction(self.act_cancel)
        self.view_menu = bar.addMenu("&View")
        for act in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual):
            self.view_menu.addAction(act)
        self.view_menu.addSeparator()
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_models)
        help_menu.addAction(self.act_about)

    def layer_context_actions(self) -> list[QAction | None]:
        return [
            self.act_decompose_layer, None, self.act_duplicate, self.act_merge,
            self.act_delete, self.act_rename, None, self.act_raise, self.act_lower, None,
            self.act_export_layer,
        ]  # fmt: skip

    def _make_toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        for act in (self.act_open, self.act_save, self.act_export["psd"], None,
                    self.act_undo, self.act_redo, None, self.act_move_tool,
                    self.act_extract_tool, None, self.act_decompose, None,
                    self.act_zoom_out, self.act_zoom_in, self.act_fit, self.act_actual):
            if act is None:
                bar.addSeparator()
            else:
                bar.addAction(act)

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
        s.undo_stack.cleanChanged.connect(self._update_title)
        s.undo_stack.indexChanged.connect(self._update_title)
        self.canvas.zoom_changed.connect(self._show_zoom)
        self.canvas.cursor_moved.connect(self._show_cursor)
        self.canvas.extract_requested.connect(self.extract)
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
        self.result_label.setText(f"{result.backend} · {len(result.layers)} layers")
        tip = [f"Decomposed by {self.decomposer.last_reason} on {result.device}."]
        if result.caption:
            tip.append(f"Caption: {result.caption}")
        tip += result.warnings
        self.result_label.setToolTip("\n".join(tip))
        self.result_label.show()

    def _show_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%")

    def _update_title(self, *_args) -> None:
        name = self.files.display_name if self.session.doc is not None else "Strata"
        self.setWindowTitle(f"{name}[*] \u2014 Strata" if self.session.doc is not None else name)
        self.setWindowModified(self.session.is_modified)

    def _document_replaced(self) -> None:
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
        self.act_merge.setEnabled(index > 0)
        self.act_lower.setEnabled(index > 0)
        self.act_raise.setEnabled(doc is not None and 0 <= index < len(doc.layers) - 1)

    # -- files

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        patterns = " ".join(f"*{ext}" for ext in IMPORT_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(
            self, "Open", self._last_dir(), f"Images and layered files ({patterns});;All files (*)"
        )
        if path:
            self.open_file(path)

    def open_file(self, path: str) -> None:
        QSettings().setValue("lastDir", str(Path(path).parent))
        self.files.open(path)

    def _last_dir(self) -> str:
        return str(QSettings().value("lastDir", str(Path.home())))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.files.recent()
        for path in files:
            act = self.recent_menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.triggered.connect(lambda _c=False, p=path: self._open_recent(p))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent Files", self.files.clear_recent)
        else:
            self.recent_menu.addAction("No recent files").setEnabled(False)

    def _open_recent(self, path: str) -> None:
        if self.confirm_discard():
            self.open_file(path)

    def save(self) -> None:
        if self.session.path:
            self.files.save_to(self.session.path)
        else:
            self.save_as()

    def save_as(self) -> None:
        if self.session.doc is None:
            return
        default = str(Path(self._last_dir()) / (Path(self.files.display_name).stem + ".strata"))
        path, _ = QFileDialog.getSaveFileName(self, "Save Session", default, SESSION_FILTER)
        if path:
            if not path.lower().endswith(".strata"):
                path += ".strata"
            self.files.save_to(path)

    def export_dialog(self, kind: str) -> None:
        if self.session.doc is None:
            return
        stem = Path(self.files.display_name).stem
        if kind == "dir":
            path = QFileDialog.getExistingDirectory(self, "Export Layer PNGs to Folder",
                                                    self._last_dir())
            if path:
                self.files.export(str(Path(path) / f"{stem} layers"))
            return
        filter_text, ext = EXPORTS[kind]
        default = str(Path(self._last_dir()) / (stem + ext))
        path, _ = QFileDialog.getSaveFileName(self, "Export", default, filter_text)
        if path:
            if Path(path).suffix.lower() not in (ext, ".jpeg"):
                path += ext
            self.files.export(path)

    def export_layer_dialog(self) -> None:
        layer = self.session.active_layer()
        if layer is None:
            return
        default = str(Path(self._last_dir()) / f"{layer.name}.png")
        path, _ = QFileDialog.getSaveFileName(self, "Export Layer", default, "PNG (*.png)")
        if path:
            if not path.lower().endswith(".png"):
                path += ".png"
            self.files.export(path, layer.id)

    def confirm_discard(self) -> bool:
        """Ask about unsaved changes; True when it is fine to replace or close the document."""
        if not self.session.is_modified:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes",
            f"Save the changes to {self.files.display_name} before closing it?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Cancel:
            return False
        if answer == QMessageBox.StandardButton.Save:
            path = self.session.path
            if not path:
                path, _ = QFileDialog.getSaveFileName(self, "Save Session", self._last_dir(),
                                                      SESSION_FILTER)
                if not path:
                    return False
            return self.files.save_now(path)
        self.files.discard_own_recovery()
        return True

    # -- recovery

    def offer_recovery(self) -> bool:
        """At start: offer to restore autosaved work left by a crash; True if restoring."""
        if self.files.recovery_dir is None:
            return False
        found = find_recovery(self.files.recovery_dir)
        if not found:
            return False
        info = found[0]
        name = Path(info.document_path).name if info.document_path else "an unsaved document"
        box = QMessageBox(
            QMessageBox.Icon.Question, "Restore unsaved work",
            f"Strata did not close normally. Restore {name}, autosaved at "
            f"{info.saved.astimezone():%Y-%m-%d %H:%M}?",
            QMessageBox.StandardButton.NoButton, self,
        )
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.exec()
        if box.clickedButton() is restore:
            self.restore_recovery(info)
            return True
        for item in found:
            discard_recovery(item)
        return False

    def restore_recovery(self, info: RecoveryInfo) -> None:
        self.files.restore(info)

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

    def rename_layer(self) -> None:
        self.dock_layers.show()
        self.layer_panel.rename_active()

    def decompose_active(self) -> None:
        if self.session.active_id is not None:
            self.decomposer.ask(self.session.active_id)

    def extract(self, rect: QRectF) -> None:
        doc, layer = self.session.doc, self.session.active_layer()
        if doc is None:
            return
        centre = rect.center()
        if layer is None or not layer.params.visible:
            layer = doc.topmost_at(centre.x(), centre.y())
        if layer is None:
            self.status_message("Select the layer that holds the object first.")
            return
        box = (rect.x(), rect.y(), rect.width(), rect.height())
        target = layer

        def done(command) -> None:
            if self.session.doc is doc and target in doc.layers:
                self.session.push(command)
                self.status_message("Extracted a new layer; the hole below was filled.")

        run_in_background(
            lambda: extract_command(doc, target, box), "extract the object", done,
            lambda message: self.show_error("Extract", message),
        )
        self.status_message("Extracting...")

    # -- help

    def show_models(self) -> None:
        from app.ui.models_dialog import ModelsDialog

        ModelsDialog(self).open()

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

