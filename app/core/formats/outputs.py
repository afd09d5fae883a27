"""Checking where a document will be written, before any long work starts.

`check_output` refuses, with one sentence, what `save_document` would only find out at the
end: an extension no writer knows, the input itself as the output, a folder that cannot be
written. A probe file (created and removed at once) is the only honest writability test: it
answers for permissions, read-only disks and network mounts alike, and for root too.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from app.core.errors import ExportFailed
from app.core.formats.atomic import describe_os_error
from app.core.formats.folder import COMPOSITE, LAYERS_JSON, is_layer_file_name

FOLDER = "folder"


def output_format(path: str | os.PathLike[str], extensions: Iterable[str]) -> str:
    """The lower-case extension that picks the writer, or FOLDER for a path without an
    extension or an existing folder; ExportFailed naming the supported ones otherwise."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir() or not suffix:
        return FOLDER
    known = list(extensions)
    if suffix not in known:
        names = ", ".join(known[:-1]) + f" or {known[-1]}"
        raise ExportFailed(
            path, f"'{path.suffix}' is not a format Strata writes; use {names}, or a path "
            "without an extension for a folder of layer PNGs"
        )
    return suffix


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _overwrites_input(output: Path, kind: str, source: Path) -> bool:
    """Whether writing `output` would replace or delete the file or folder `source`."""
    if _same(output, source):
        return True
    if source.name == LAYERS_JSON and _same(output, source.parent):
        return True  # a layer folder given by its layers.json
    if kind == FOLDER and _same(output, source.parent):
        # the folder writer writes these names and deletes stale numbered PNGs
        return source.name in (COMPOSITE, LAYERS_JSON) or is_layer_file_name(source.name)
    return False


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable_folder(folder: str | os.PathLike[str], for_path: object = None) -> None:
    """Refuse (ExportFailed about `for_path`, else `folder`) when files cannot be created in
    `folder`, or in the nearest existing folder above it when it does not exist yet."""
    folder = Path(folder)
    subject = for_path if for_path is not None else folder
    existing = _existing_parent(folder)
    if not existing.is_dir():
        raise ExportFailed(subject, f"{existing} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".strata-write-check-", dir=existing)
    except OSError as exc:
        raise ExportFailed(subject, f"cannot write in {existing}: {describe_os_error(exc)}"
                           ) from None
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass


def check_output(
    path: str | os.PathLike[str],
    extensions: Iterable[str],
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> str:
    """Everything about an output path that can be known before the work: its format
    (returned, as `output_format`), that it is none of `inputs`, and that it can be written.
    A file's folder must exist; a folder output is created later with its parents."""
    path = Path(path)
    kind = output_format(path, extensions)
    for source in inputs:
        if _overwrites_input(path, kind, Path(source)):
            raise ExportFailed(path, "that is the input; choose another output path, the "
                               "input is never overwritten")
    if kind == FOLDER:
        if path.exists() and not path.is_dir():
            raise ExportFailed(path, "a file has that name, not a folder")
        check_writable_folder(path, path)
    else:
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            reason = "is a file" if parent.exists() else "does not exist"
            raise ExportFailed(path, f"the folder {parent} {reason}")
        check_writable_folder(parent, path)
    return kind
