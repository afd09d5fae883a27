"""A decomposition running in a worker thread, with progress and a cancel that returns at once.

Cancelling sets the backend's CancelToken and detaches the job: the window is free again
immediately, and whatever the backend still returns is dropped.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.ui.tasks import user_message
from model.base import (
    Cancelled,
    CancelToken,
    DecomposeError,
    DecomposeOptions,
    DecomposeResult,
    Progress,
)
from model.refine.results import measure
from model.registry import choose_backend


def failure_message(exc: BaseException) -> str:
    if isinstance(exc, DecomposeError):
        text = str(exc).strip().rstrip(".")
        return f"Cannot decompose the image: {text}."
    return user_message(exc, "decompose the image")


class DecomposeJob(QObject):
    progress = Signal(object)  # Progress
    succeeded = Signal(object, str)  # DecomposeResult, why this backend
    failed = Signal(str)  # one sentence
    cancelled = Signal()

    def __init__(
        self,
        rgba: np.ndarray,
        backend: str,
        options: DecomposeOptions,
        layer_id: str | None = None,
        origin: tuple[int, int] = (0, 0),
    ) -> None:
        super().__init__()
        self.rgba = rgba
        self.backend = backend
        self.options = options
        self.layer_id = layer_id  # None: the whole document
        self.origin = origin
        self.token = CancelToken()
        self.doc: object | None = None  # the document it was started on
        self.started_at = 0.0
        self.detached = False
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.thread = threading.Thread(target=self._run, name="strata: decompose", daemon=True)
        self.thread.start()

    def cancel(self) -> None:
        self.token.cancel()
        if not self.detached:
            self.detached = True
            self.cancelled.emit()

    def _report(self, progress: Progress) -> None:
        self.token.check()  # a backend that reports progress also stops here when cancelled
        if not self.detached:
            self.progress.emit(progress)

    def _run(self) -> None:
        try:
            self._report(Progress("loading", 0, 0, f"Preparing {self.backend}..."))
            backend, reason = choose_backend(self.backend, self.options)
            result: DecomposeResult = backend.decompose(
                self.rgba, self.options, progress=self._report, cancel=self.token
            )
            self.token.check()
            if not result.layers:
                raise DecomposeError("the decomposer returned no layers")
            measure(result, self.rgba)
        except Cancelled:
            return  # `cancel` already told the window
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a message
            if not self.detached:
                self.detached = True
                self.failed.emit(failure_message(exc))
            return
        if not self.detached:
            self.detached = True
            self.succeeded.emit(result, reason)
