"""Writing one batch output atomically, a folder of layer PNGs included."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from app.core.document import Document
from app.core.errors import ExportFailed
from app.core.formats import save_document
from app.core.formats.atomic import describe_os_error


def write_output(doc: Document, path: str | os.PathLike[str], fmt: str) -> None:
    """Save `doc` at `path`. A file is replaced atomically by `save_document`; a folder is
    written beside it under a temporary name and swapped in, so a kill at any moment leaves
    the old folder, the new one, or none, never half of one."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportFailed(path.parent, describe_os_error(exc)) from None
    if fmt != "folder":
        save_document(doc, path)
        return
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        os.mkdir(tmp)  # not mkdtemp: its 0700 would outlive the swap
    except OSError as exc:
        raise ExportFailed(path, describe_os_error(exc)) from None
    try:
        save_document(doc, tmp)
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.{os.getpid()}.old")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportFailed(path, describe_os_error(exc)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
