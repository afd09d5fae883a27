"""The window around the editing: entry point, drag-and-drop open, layer PNG export, the
Models dialog, remembered layout, the layer panel's opacity field."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from test_gui_canvas import make_doc
from test_gui_support import (  # noqa: F401 - the *_fixture names are fixtures
    design_image,
    isolated_settings_fixture,
    wait_files,
    window_fixture,
    write_png,
)

from app.core.formats.bake import bake_layer
from app.ui.main_window import MainWindow
from app.ui.models_dialog import ModelsDialog

ROOT = Path(__file__).resolve().parents[1]


def test_dropping_a_file_opens_it(qtbot, window, tmp_path):
    path = write_png(tmp_path / "dropped.png", design_image())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(path)])
    pos = QPointF(200, 200)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    qtbot.waitUntil(lambda: window.session.doc is not None and not window.files.busy)
    assert window.files.display_name == "dropped.png"
    assert len(window.session.doc.layers) == 1


def test_export_one_layer_as_png(qtbot, window, tmp_path):
    window.session.set_document(make_doc())
    doc = window.session.doc
    square = doc.layers[1]
    out = tmp_path / "square.png"
    window.files.export(str(out), square.id)
    wait_files(qtbot, window)
    assert window.last_error is None
    saved = np.asarray(Image.open(out).convert("RGBA"))
    assert saved.shape == (doc.height, doc.width, 4)
    baked = bake_layer(doc, square)
    x, y = baked.x, baked.y
    h, w = baked.pixels.shape[:2]
    assert np.array_equal(saved[y : y + h, x : x + w], baked.pixels)
    assert saved[:, :, 3].sum() == baked.pixels[:, :, 3].sum()  # nothing of the other layers


def test_models_dialog_reports_the_backends(qtbot, window, monkeypatch):
    dialog = ModelsDialog(window)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.report_ready, timeout=60_000)
    text = dialog.text.toPlainText()
    assert "classic" in text and "qwen" in text and "Qwen-Image-Layered weights" in text
    # downloading with the Hub switched off ends in one sentence, the dialog stays usable
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dialog.start_download()
    assert dialog.cancel_button.isVisibleTo(dialog)
    qtbot.waitUntil(lambda: dialog.job is None, timeout=30_000)
    assert dialog.status.text().startswith("Download failed: HF_HUB_OFFLINE is set")
    assert dialog.download_button.isVisibleTo(dialog)
    dialog.close()


def test_layout_is_remembered(qtbot, tmp_path, isolated_settings):
    first = MainWindow(recovery_dir=None)
    first.show()
    first.dock_history.hide()
    first.close()
    second = MainWindow(recovery_dir=None)
    second.show()
    try:
        assert not second.dock_history.isVisible()
        assert second.dock_layers.isVisible()
    finally:
        second.close()


def test_layer_panel_opacity_field(window):
    window.session.set_document(make_doc())
    ring = window.session.doc.layers[2]
    window.session.set_active(ring.id)
    field = window.layer_panel.opacity
    assert field.value() == 100
    field.spin.setValue(40)
    assert ring.params.opacity == 0.4
    assert window.properties.opacity.value() == 40
    window.act_undo.trigger()
    assert field.value() == 100


def test_main_py_starts_the_editor_with_a_file(tmp_path):
    path = write_png(tmp_path / "start.png", design_image())
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", STRATA_RECOVERY_DIR=str(tmp_path / "r"),
               XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"))
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), path], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(6)
        assert proc.poll() is None, proc.communicate()[1]  # still running: the window is up
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "Traceback" not in err
