"""Help -> Models: the decomposers, whether each can run here, and the Qwen weights' state
(what `python main.py models` reports), checked off the GUI thread; and a cancellable,
resumable download of the Qwen weights."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from app.ui.tasks import run_in_background, user_message
from model.base import Cancelled, CancelToken, DecomposeError, DecomposeOptions, Progress


def models_report() -> str:
    from app.cli.models import backend_lines
    from model.qwen.weights import DEFAULT_MODEL, inspect_weights

    lines = ["Backends (name, can run here, why):", *backend_lines(DecomposeOptions()), ""]
    report = inspect_weights(DEFAULT_MODEL)
    lines.append(f"Qwen-Image-Layered weights ({report.model}):")
    lines.append(f"  {report.summary()}")
    if report.found:
        lines += [f"  - {problem}" for problem in report.problems[:20]]
    if not report.complete:
        lines.append("")
        lines.append("Download them with the button below (tens of GB; an interrupted")
        lines.append("download resumes),")
        lines.append("or run: python main.py models download")
    return "\n".join(lines)


class _Download(QObject):
    progress = Signal(object)
    finished = Signal(str)  # a one-line outcome

    def __init__(self) -> None:
        super().__init__()
        self.token = CancelToken()

    def start(self) -> None:
        threading.Thread(target=self._run, name="strata: download", daemon=True).start()

    def _run(self) -> None:
        from model.qwen.download import download

        try:
            report = download(progress=self.progress.emit, cancel=self.token, show_bars=False)
        except Cancelled:
            self.finished.emit("Download cancelled; running it again resumes it.")
        except DecomposeError as exc:
            self.finished.emit(f"Download failed: {str(exc).rstrip('.')}.")
        except Exception as exc:  # noqa: BLE001 - shown as one sentence
            self.finished.emit(user_message(exc, "download the weights"))
        else:
            self.finished.emit(f"Downloaded: {report.summary()}")


class ModelsDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(680, 420)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlainText("Checking the decomposers and weights...")
        self.status = QLabel()
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.hide()
        self.download_button = QPushButton("Download Qwen weights")
        self.download_button.setToolTip("Fetch Qwen-Image-Layered into the Hugging Face cache")
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.hide()
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button.clicked.connect(self.cancel_download)
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.download_button)
        row.addWidget(self.cancel_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Decomposers available on this computer:"))
        layout.addWidget(self.text, 1)
        layout.addWidget(self.status)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.job: _Download | None = None
        self.report_ready = False
        self.refresh()

    def refresh(self) -> None:
        self.report_ready = False
        run_in_background(models_report, "check the models", self._show_report, self._show_report)

    def _show_report(self, text: str) -> None:
        self.text.setPlainText(text)
        self.report_ready = True

    # -- download

    def start_download(self) -> None:
        if self.job is not None:
            return
        job = _Download()
        job.progress.connect(self._progress)
        job.finished.connect(self._finished)
        self.job = job
        self.status.setText("Asking the Hub what to fetch...")
        self.bar.setRange(0, 0)
        self.bar.show()
        self.download_button.hide()
        self.cancel_button.show()
        job.start()

    def cancel_download(self) -> None:
        if self.job is not None:
            self.job.token.cancel()
            self.status.setText("Cancelling...")

    def _progress(self, progress: Progress) -> None:
        if progress.total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * progress.step / progress.total))
        self.status.setText(progress.message or progress.phase)

    def _finished(self, message: str) -> None:
        self.job = None
        self.status.setText(message)
        self.bar.hide()
        self.cancel_button.hide()
        self.download_button.show()
        self.refresh()

    def reject(self) -> None:
        self.cancel_download()
        super().reject()
