"""Runs decompositions for the window: the dialog, the worker, progress, and the result as
one undoable step (the whole picture, or "Decompose further" on one layer)."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.core.decomposition import (
    decompose_document_command,
    decompose_layer_command,
    layer_input,
)
from app.core.render import flatten, unpremultiply_to_uint8
from app.core.wording import count
from app.ui.decompose_dialog import DecomposeDialog
from app.ui.decompose_job import DecomposeJob
from app.ui.progress import ProgressWidget
from app.ui.session import EditorSession
from model.base import DecomposeOptions, DecomposeResult
from model.refine.results import describe


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def result_summary(result: DecomposeResult, elapsed: float) -> str:
    """The status line after a decomposition: how many layers, from what, how long, and
    what the backend warned about (e.g. that it found fewer layers than asked)."""
    parts = [
        f"{count(len(result.layers), 'layer')} from {result.backend} on {result.device} "
        f"in {elapsed:.1f} s"
        + (f"; {describe(result)}." if result.reconstruction_db is not None else ".")
    ]
    parts += [_sentence(w) for w in result.warnings if w.strip()]
    if result.caption:
        parts.append(f"Caption: \u201c{result.caption}\u201d")
    return " ".join(parts)


class DecomposeController(QObject):
    finished = Signal(bool)  # True when a result was applied
    status = Signal(str)  # a line for the status bar

    def __init__(
        self,
        session: EditorSession,
        progress: ProgressWidget,
        parent_widget: QWidget,
        show_error: Callable[[str, str], None],
    ) -> None:
        super().__init__(parent_widget)
        self.session = session
        self.progress = progress
        self.parent_widget = parent_widget
        self.show_error = show_error
        self.job: DecomposeJob | None = None
        self.dialog: DecomposeDialog | None = None
        self.last_result: DecomposeResult | None = None
        self.last_reason = ""
        progress.cancel_requested.connect(self.cancel)
        session.document_replaced.connect(self.cancel)  # the result would have nowhere to go

    @property
    def running(self) -> bool:
        return self.job is not None

    # -- asking

    def ask(self, layer_id: str | None = None) -> DecomposeDialog | None:
        """Open the dialog (not blocking); OK starts the job. Returns the dialog."""
        doc = self.session.doc
        if doc is None or self.running:
            return None
        if layer_id is None:
            target = "the picture"
        else:
            target = f"the layer '{doc.layer(layer_id).name}'"
        dialog = DecomposeDialog(target, self.parent_widget)
        dialog.accepted.connect(
            lambda: self.start(dialog.backend_name(), dialog.options(), layer_id)
        )
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()
        return dialog

    # -- running

    def start(self, backend: str, options: DecomposeOptions, layer_id: str | None = None) -> None:
        doc = self.session.doc
        if doc is None or self.running:
            return
        if layer_id is None:
            visible = [layer for layer in doc.layers if layer.params.visible]
            premul = flatten(visible, doc.width, doc.height)
            rgba, origin = unpremultiply_to_uint8(premul), (0, 0)
            label = "Decomposing the picture"
        else:
            rgba, origin = layer_input(doc, layer_id)
            label = f"Decomposing '{doc.layer(layer_id).name}'"
        job = DecomposeJob(rgba, backend, options, layer_id, origin)
        job.doc = doc
        job.progress.connect(self.progress.update_progress)
        job.succeeded.connect(self._succeeded)
        job.failed.connect(self._failed)
        job.cancelled.connect(self._cancelled)
        self.job = job
        self.progress.start(label + "...")
        self.status.emit(label + "...")
        job.start()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _done(self) -> DecomposeJob | None:
        job, self.job = self.job, None
        self.progress.stop()
        return job

    def _succeeded(self, result: DecomposeResult, reason: str) -> None:
        job = self.sender()
        if job is not self.job:
            return
        self._done()
        doc = self.session.doc
        assert isinstance(job, DecomposeJob)
        arrays = [(layer.rgba, layer.name, layer.text) for layer in result.layers]
        elapsed = time.monotonic() - job.started_at
        try:
            if doc is None or doc is not job.doc:
                raise ValueError("another document was opened while this one was decomposed")
            if job.layer_id is None:
                command = decompose_document_command(
                    doc, arrays, f"Decompose ({result.backend})"
                )
            else:
                if all(layer.id != job.layer_id for layer in doc.layers):
                    raise ValueError("the layer was deleted while it was being decomposed")
                command = decompose_layer_command(doc, job.layer_id, arrays, job.origin)
        except ValueError as exc:
            self.show_error("Decompose", f"The result was not applied: {exc}.")
            self.finished.emit(False)
            return
        self.session.push(command)
        self.last_result = result
        self.status.emit(result_summary(result, elapsed))
        self.last_reason = reason
        self.finished.emit(True)

    def _failed(self, message: str) -> None:
        if self.sender() is not self.job:
            return
        self._done()
        self.show_error("Decompose", message)
        self.status.emit("Decomposition failed; the document is unchanged.")
        self.finished.emit(False)

    def _cancelled(self) -> None:
        if self.sender() is not self.job:
            return
        self._done()
        self.status.emit("Decomposition cancelled; the document is unchanged.")
        self.finished.emit(False)
