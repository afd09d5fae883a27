"""Autosave: recovery copies of open documents, found again when the editor starts.

A recovery copy is an ordinary session file in a recovery folder whose manifest also
records the document's own path (None for an unsaved one) and when the copy was made.
One copy per document and editor process: autosaving again replaces it atomically. The
manifest names the process that wrote it, so an editor started while another one runs does
not offer to "recover" the other one's live documents.
"""

from __future__ import annotations

import hashlib
import os
import socket
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
                  doc: Document | None, key: str | None, pid: int) -> Path:
    """The recovery file for a document: one per saved path, one per unsaved document
    (`key`, or by default the document object's identity in this process); two editors with
    the same file open keep two copies (`pid` is the writing editor's process)."""
    if document_path:
        key = f"{Path(document_path).resolve()}:{pid}"
        stem = Path(document_path).stem or "document"
    else:
        key = f"untitled:{pid}:{key if key is not None else id(doc)}"
        stem = "untitled"
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
    safe_stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:40]
    return Path(recovery_dir) / f"{safe_stem}-{digest}{SESSION_EXTENSION}"


def write_recovery(doc: Document, recovery_dir: str | os.PathLike[str],
                   document_path: str | None, key: str | None = None,
                   pid: int | None = None) -> Path:
    """Write (atomically) the recovery copy of `doc` and return its path.

    For an unsaved document, pass a stable `key` (any string unique to that document in
    this process) when `doc` is a fresh snapshot each time, so autosaves replace one file.
    """
    folder = Path(recovery_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportFailed(folder, describe_os_error(exc)) from None
    pid = pid if pid is not None else os.getpid()
    path = recovery_path(folder, document_path, doc, key, pid)
    saved = datetime.now(UTC).isoformat()
    owner = {"pid": pid, "host": socket.gethostname()}
    extra = {"recovery": {"document_path": document_path, "saved": saved, **owner}}
    save_session(doc, path, extra)
    return path


def _written_by_another_live_editor(info: dict) -> bool:
    pid = info.get("pid")
    if not isinstance(pid, int) or pid == os.getpid() or info.get("host") != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False  # it ended (crashed): its copies are what recovery is for
    except OSError:
        return True  # it exists but belongs to someone else
    return True


def find_recovery(recovery_dir: str | os.PathLike[str]) -> list[RecoveryInfo]:
    """Recovery copies in the folder that can be read, newest first; copies that another
    running editor keeps are left out."""
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
        if not isinstance(info, dict) or _written_by_another_live_editor(info):
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
