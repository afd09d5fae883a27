"""Shared fixtures and helpers of the GUI tests (offscreen Qt, isolated settings)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent, QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from app.core.compositor import composite  # noqa: E402

pytestmark = pytest.mark.gui


def design_image(w: int = 320, h: int = 240) -> np.ndarray:
    """A flat design: cream background, a red disc, a blue square (opaque RGBA)."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = (236, 226, 200)
    cv2.circle(img, (90, 110), 50, (200, 40, 40), -1, cv2.LINE_AA)
    cv2.rectangle(img, (180, 60), (290, 170), (30, 90, 180), -1)
    return np.dstack([img, np.full((h, w), 255, np.uint8)])


def write_png(path, rgba: np.ndarray) -> str:
    Image.fromarray(rgba, "RGBA").save(path)
    return str(path)


@pytest.fixture(name="isolated_settings")
def isolated_settings_fixture(tmp_path):
    QCoreApplication.setOrganizationName("StrataTests")
    QCoreApplication.setApplicationName("StrataTests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "cfg"))
    QSettings().clear()
    yield tmp_path / "cfg"


@pytest.fixture(name="window")
def window_fixture(qtbot, tmp_path, isolated_settings):
    from app.ui.main_window import MainWindow

    w = MainWindow(recovery_dir=str(tmp_path / "recovery"), autosave_ms=3_600_000)
    w.resize(1100, 760)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)  # shortcuts only reach the active window
    yield w
    w.decomposer.cancel()
    w.session.undo_stack.setClean()  # closing must not ask about unsaved changes
    w.close()
    w.deleteLater()


def open_and_wait(qtbot, window, path: str) -> None:
    window.open_file(path)
    qtbot.waitUntil(lambda: window.session.doc is not None and not window.files.busy,
                    timeout=60_000)


def wait_files(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.files.busy, timeout=60_000)


def canvas_point(window, x: float, y: float) -> QPointF:
    wx, wy = window.canvas.view.to_widget(x, y)
    return QPointF(wx, wy)


def send_mouse(widget: QWidget, kind: QEvent.Type, pos: QPointF, buttons, button=None,
               modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    button = Qt.MouseButton.NoButton if button is None else button
    global_pos = QPointF(widget.mapToGlobal(pos.toPoint()))
    event = QMouseEvent(kind, pos, global_pos, button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def drag(widget: QWidget, start: QPointF, end: QPointF, steps: int = 8,
         button=Qt.MouseButton.LeftButton, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """Press at `start`, move in `steps` to `end`, release: as a user's drag delivers it."""
    send_mouse(widget, QEvent.Type.MouseButtonPress, start, button, button, modifiers)
    for i in range(1, steps + 1):
        t = i / steps
        pos = QPointF(start.x() + (end.x() - start.x()) * t, start.y() + (end.y() - start.y()) * t)
        send_mouse(widget, QEvent.Type.MouseMove, pos, button, None, modifiers)
    send_mouse(widget, QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton, button,
               modifiers)


def click(widget: QWidget, pos: QPointF) -> None:
    drag(widget, pos, pos, steps=0)


def layer_named(doc, name: str):
    matches = [layer for layer in doc.layers if layer.name == name]
    assert matches, f"no layer named {name}: {[layer.name for layer in doc.layers]}"
    return matches[0]


def doc_composite(window) -> np.ndarray:
    return composite(window.session.doc)


def undo_all(window) -> int:
    n = 0
    while window.session.undo_stack.canUndo():
        window.act_undo.trigger()
        n += 1
    return n


def redo_all(window) -> int:
    n = 0
    while window.session.undo_stack.canRedo():
        window.act_redo.trigger()
        n += 1
    return n


