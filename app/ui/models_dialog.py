"""Help -> Models: the decomposers, whether each can run here, and the Qwen weights' state
(what `python main.py models` reports), checked off the GUI thread."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout

from app.ui.tasks import run_in_background
from model.base import DecomposeOptions


def models_report() -> str:
    from app.cli.models import backend_lines
    from model.qwen.weights import DEFAULT_MODEL, inspect_weights

    lines = ["Backends (name, can run here, why):", *backend_lines(DecomposeOptions()), ""]
    report = inspect_weights(DEFAULT_MODEL)
    lines.append(f"Qwen-Image-Layered weights ({report.model}):")
    lines.append(f"  {report.summary()}")
    lines += [f"  - {problem}" for problem in report.problems[:20]]
    if not report.complete:
        lines.append("")
        lines.append("To fetch the weights: python main.py models download")
    return "\n".join(lines)


class ModelsDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(640, 360)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlainText("Checking the decomposers and weights...")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Decomposers available on this computer:"))
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.task = run_in_background(
            models_report, "check the models", self.text.setPlainText, self.text.setPlainText
        )
