"""File dialogs of the window (a mixin of MainWindow): open, save, export, recent files, the
unsaved-changes question and the crash-recovery offer."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.core.formats import IMPORT_EXTENSIONS, LAYERS_JSON
from app.core.formats.recovery import RecoveryInfo, discard_recovery, find_recovery
from app.ui.documents import opened_path

EXPORTS = {
    "psd": ("Photoshop (*.psd)", ".psd"),
    "ora": ("OpenRaster (*.ora)", ".ora"),
    "png": ("Flattened PNG (*.png)", ".png"),
    "jpg": ("Flattened JPEG (*.jpg *.jpeg)", ".jpg"),
}
SESSION_FILTER = "Strata session (*.strata)"
_OPEN_PATTERNS = " ".join([*(f"*{ext}" for ext in IMPORT_EXTENSIONS), LAYERS_JSON])
OPEN_FILTERS = ";;".join([
    f"Images, layered files and layer folders ({_OPEN_PATTERNS})",
    f"Folder of layer PNGs ({LAYERS_JSON})",
    "All files (*)",
])


class FileDialogsMixin:
    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open", self._last_dir(), OPEN_FILTERS)
        if path:
            self.open_file(path)

    def open_file(self, path: str) -> None:
        """Open a file, a folder of layer PNGs, or such a folder's layers.json."""
        QSettings().setValue("lastDir", str(opened_path(path).parent))
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

