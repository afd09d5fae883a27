"""Opening, saving, exporting, recent files, autosave and crash recovery for the window.

File work runs in background threads on a snapshot of the document (layers share their
read-only pixels), so the window stays responsive and a failed write leaves the session
as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QSettings, QTimer, Signal

from app.core.document import Document
from app.core.formats import LAYERS_JSON, load_document, save_document
from app.core.formats.recovery import RecoveryInfo, discard_recovery, write_recovery
from app.core.formats.session import SESSION_EXTENSION
from app.core.wording import count
from app.ui.session import EditorSession, snapshot
from app.ui.tasks import BackgroundTask, run_in_background

MAX_RECENT = 10


def opened_path(path: str) -> Path:
    """What opening `path` opens: a layers.json stands for its folder of layer PNGs."""
    p = Path(path)
    return p.parent if p.name.lower() == LAYERS_JSON and p.is_file() else p


class DocumentFiles(QObject):
    opened = Signal(str)  # path
    saved = Signal(str)  # path
    status = Signal(str)
    recent_changed = Signal()

    def __init__(
        self,
        session: EditorSession,
        show_error: Callable[[str, str], None],
        recovery_dir: str | None,
        autosave_ms: int = 60_000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.show_error = show_error
        self.recovery_dir = recovery_dir
        self.display_name = "Untitled"
        self.recovery_file: Path | None = None
        self._autosaved_revision = -1
        self._tasks: set[object] = set()  # one token per task still running
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_ms)
        self.autosave_timer.timeout.connect(self.autosave)
        if recovery_dir is not None:
            self.autosave_timer.start()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """Let running saves finish (closing the window must not cut a write short)."""
        deadline = time.monotonic() + timeout_s
        while self.busy and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.01)
        return not self.busy

    def _run(self, fn, what: str, on_done, on_failed=None, quiet: bool = False
             ) -> BackgroundTask:
        def failed(message: str) -> None:
            if quiet:
                self.status.emit(message)
            else:
                self.show_error("Strata", message)
            if on_failed is not None:
                on_failed(message)

        token = object()
        self._tasks.add(token)
        return run_in_background(
            fn, what, on_done, failed, on_finished=lambda: self._tasks.discard(token)
        )

    # -- open

    def open(self, path: str) -> None:
        name = opened_path(path).name
        self.status.emit(f"Opening {name}...")
        self._run(lambda: load_document(path), f"open {name}", lambda doc: self._opened(doc, path))

    def _opened(self, doc: Document, path: str) -> None:
        self.discard_own_recovery()
        is_session = Path(path).suffix.lower() == SESSION_EXTENSION
        self.display_name = opened_path(path).name
        self.session.set_document(doc, path if is_session else None)
        self._autosaved_revision = self.session.revision
        self.add_recent(str(opened_path(path)))
        self.status.emit(f"Opened {self.display_name}: {doc.width} x {doc.height}, "
                         f"{count(len(doc.layers), 'layer')}.")
        self.opened.emit(path)

    # -- save and export

    def save_to(self, path: str, then: Callable[[], None] | None = None) -> None:
        """Save the session to `path` (a .strata file); the clean mark moves there."""
        if self.session.doc is None:
            return
        doc = snapshot(self.session.doc)
        index = self.session.undo_stack.index()
        revision = self.session.revision

        def done(_result: object) -> None:
            if self.session.undo_stack.index() == index and self.session.revision == revision:
                self.session.mark_saved(path)
                self.discard_own_recovery()
            else:
                self.session.path = path
            self.display_name = Path(path).name
            self.add_recent(path)
            self.status.emit(f"Saved {self.display_name}.")
            self.saved.emit(path)
            if then is not None:
                then()

        self.status.emit(f"Saving {Path(path).name}...")
        self._run(lambda: save_document(doc, path), f"save {Path(path).name}", done)

    def save_now(self, path: str) -> bool:
        """Save on the calling thread (closing the window must know the outcome)."""
        if self.session.doc is None:
            return True
        try:
            save_document(self.session.doc, path)
        except Exception as exc:  # noqa: BLE001 - shown as one sentence
            from app.ui.tasks import user_message

            self.show_error("Strata", user_message(exc, f"save {Path(path).name}"))
            return False
        self.session.mark_saved(path)
        self.discard_own_recovery()
        self.add_recent(path)
        return True

    def export(self, path: str, layer_id: str | None = None) -> None:
        """Write a copy (PSD, ORA, PNG/JPEG, folder), or one layer as a PNG; no clean mark."""
        if self.session.doc is None:
            return
        doc = snapshot(self.session.doc)
        if layer_id is not None:
            doc = Document(doc.width, doc.height, [doc.layer(layer_id)])
        name = Path(path).name
        self.status.emit(f"Exporting {name}...")
        self._run(
            lambda: save_document(doc, path),
            f"export {name}",
            lambda _r: self.status.emit(f"Exported {name}."),
        )

    # -- recent files

    def recent(self) -> list[str]:
        value = QSettings().value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        files = [path] + [p for p in self.recent() if p != path]
        QSettings().setValue("recentFiles", files[:MAX_RECENT])
        self.recent_changed.emit()

    def clear_recent(self) -> None:
        QSettings().setValue("recentFiles", [])
        self.recent_changed.emit()

    # -- autosave and recovery

    def autosave(self) -> None:
        """Write a recovery copy when the document changed since the last one."""
        session = self.session
        if self.recovery_dir is None or session.doc is None:
            return
        if not session.is_modified or session.revision == self._autosaved_revision:
            return
        doc = snapshot(session.doc)
        revision = session.revision
        folder, document_path = self.recovery_dir, session.path

        def done(path: Path) -> None:
            if self.recovery_file is not None and self.recovery_file != path:
                discard_recovery(self.recovery_file)
            self.recovery_file = path
            self._autosaved_revision = revision

        # a failed autosave is reported in the status bar, not by a dialog every minute
        self._run(lambda: write_recovery(doc, folder, document_path), "autosave", done,
                  quiet=True)

    def discard_own_recovery(self) -> None:
        if self.recovery_file is not None:
            discard_recovery(self.recovery_file)
            self.recovery_file = None
        self._autosaved_revision = self.session.revision

    def restore(self, info: RecoveryInfo) -> None:
        """Open a recovery copy as the (modified) document it was autosaved from."""

        def done(doc: Document) -> None:
            path = info.document_path
            is_session = path is not None and Path(path).suffix.lower() == SESSION_EXTENSION
            self.display_name = Path(path).name if path else "Recovered"
            self.session.set_document(doc, path if is_session else None, modified=True)
            self.recovery_file = info.path  # replaced by the next autosave, removed on save
            self._autosaved_revision = self.session.revision
            self.status.emit(f"Restored the autosave of {self.display_name} "
                             f"from {info.saved.astimezone():%H:%M:%S}.")
            self.opened.emit(str(info.path))

        self._run(lambda: load_document(info.path), "restore the autosave", done)
