"""`python main.py [FILE]`: start the editor with a qasync event loop."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from PySide6.QtCore import QStandardPaths, QTimer
from PySide6.QtWidgets import QApplication

from app.ui.main_window import MainWindow
from app.ui.resources import icon, stylesheet

APP_NAME = "Strata"


def configure_app(app: QApplication) -> None:
    app.setOrganizationName(APP_NAME)
    app.setApplicationName(APP_NAME)
    app.setDesktopFileName("strata")  # links the window to installer/strata.desktop (Wayland)
    app.setApplicationDisplayName(APP_NAME)
    app.setStyle("Fusion")
    app.setStyleSheet(stylesheet())
    app.setWindowIcon(icon("strata"))


def recovery_dir() -> str:
    """Where autosaves go: STRATA_RECOVERY_DIR, or the per-user app data folder."""
    override = os.environ.get("STRATA_RECOVERY_DIR")
    if override:
        return override
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return str(Path(base) / "recovery")


def _start(window: MainWindow, path: str | None) -> None:
    if window.offer_recovery():
        return
    if path is None:
        return
    if Path(path).exists():
        window.open_file(path)
    else:
        window.show_error("Strata", f"Cannot open {path}: the file does not exist.")


def run_editor(path: str | None) -> int:
    import qasync

    app = QApplication.instance() or QApplication(sys.argv[:1])
    configure_app(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow(recovery_dir())
    window.show()
    QTimer.singleShot(0, lambda: _start(window, path))
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    return 0
