"""The status-bar progress widget of a running decomposition, with its Cancel button."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from model.base import Progress

PHASES = {
    "loading": "Loading model",
    "captioning": "Captioning",
    "denoising": "Denoising",
    "decoding": "Decoding",
    "naming": "Naming layers",
    "segmenting": "Segmenting",
}


def describe(progress: Progress) -> str:
    label = progress.message or PHASES.get(progress.phase, progress.phase.capitalize())
    if progress.total:
        return f"{label} ({progress.step}/{progress.total})"
    return label


class ProgressWidget(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(160)
        self.bar.setFixedHeight(14)
        self.bar.setTextVisible(False)
        self.cancel = QToolButton()
        self.cancel.setText("Cancel")
        self.cancel.setToolTip("Stop the decomposition; the document stays as it is")
        self.cancel.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(6)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        self.hide()

    def start(self, text: str) -> None:
        self.label.setText(text)
        self.bar.setRange(0, 0)  # busy until the first step count arrives
        self.cancel.setEnabled(True)
        self.show()

    def update_progress(self, progress: Progress) -> None:
        self.label.setText(describe(progress))
        if progress.total > 0:
            self.bar.setRange(0, progress.total)
            self.bar.setValue(min(progress.step, progress.total))
        else:
            self.bar.setRange(0, 0)

    def stop(self) -> None:
        self.hide()
