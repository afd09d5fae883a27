"""Autosave: recovery copies of open documents, found again when the editor starts.

A recovery copy is an ordinary session file in a recovery folder whose manifest also
records the document's own path (None for an unsaved one) and when the copy was made.
One copy per document: autosaving again replaces it atomically.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.core.document import Document
from app.core.errors import ExportFailed, ImportFailed
from app.core.formats.atomic import describe_os_error
from app.core.formats.session import SESSION_EXTENSION, read_manifest, save_session
from app.core.formats.zipsafe import open_zip


@dataclass(frozen=True)
class RecoveryInfo:
    path: Path  # the recovery session file; open it with load_document
    document_path: str | None  # the file the user was editing, None if never saved
    saved: datetime  # when the copy was written (UTC)


def recovery_path(recovery_dir: str | os.PathLike[str], document_path: str | None,
                  doc: Document | None = None, key: str | None = None) -> Path:
    """The recovery file for a document: one per saved path, one per unsaved document
    (`key`, or by default the document object's identity in this process)."""
    if document_path:
        key = str(Path(document_path).resolve())
        stem = Path(document_path).stem or "document"
    else:
        key = f"untitled:{os.getpid()}:{key if key is not None else id(doc)}"
        stem = "untitled"
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
    safe_stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:40]
    return Path(recovery_dir) / f"{safe_stem}-{digest}{SESSION_EXTENSION}"


def write_recovery(doc: Document, recovery_dir: str | os.PathLike[str],
                   document_path: str | None, key: str | None = None) -> Path:
    """Write (atomically) the recovery copy of `doc` and return its path.

    For an unsaved document, pass a stable `key` (any string unique to that document in
    this process) when `doc` is a fresh snapshot each time, so autosaves replace one file.
    """
    folder = Path(recovery_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportFailed(folder, describe_os_error(exc)) from None
    path = recovery_path(folder, document_path, doc, key)
    saved = datetime.now(UTC).isoformat()
    extra = {"recovery": {"document_path": document_path, "saved": saved}}
    save_session(doc, path, extra)
    return path


def find_recovery(recovery_dir: str | os.PathLike[str]) -> list[RecoveryInfo]:
    """Recovery copies in the folder that can be read, newest first."""
    folder = Path(recovery_dir)
    if not folder.is_dir():
        return []
    found: list[RecoveryInfo] = []
    for path in folder.glob(f"*{SESSION_EXTENSION}"):
        if path.name.startswith("."):
            continue  # a temporary file of an interrupted write
        try:
            with open_zip(path) as zf:
                manifest = read_manifest(zf, path)
        except (ImportFailed, OSError):
            continue
        info = manifest.get("recovery")
        if not isinstance(info, dict):
            continue
        document_path = info.get("document_path")
        try:
            saved = datetime.fromisoformat(str(info.get("saved")))
        except ValueError:
            saved = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if saved.tzinfo is None:
            saved = saved.replace(tzinfo=UTC)
        found.append(
            RecoveryInfo(path, document_path if isinstance(document_path, str) else None, saved)
        )
    found.sort(key=lambda r: r.saved, reverse=True)
    return found


def discard_recovery(info_or_path: RecoveryInfo | str | os.PathLike[str]) -> None:
    """Delete a recovery copy (after a successful save, or when the user declines it)."""
    path = info_or_path.path if isinstance(info_or_path, RecoveryInfo) else Path(info_or_path)
    try:
        path.unlink()
    except FileNotFoundError:
        pass
