"""Reading and writing documents: flat images, PSD, OpenRaster, sessions, PNG folders.

    load_document(path, max_pixels=None) -> Document      any supported file or layer folder
    load_image_rgba(path, max_pixels=None) -> ndarray     HxWx4 uint8 (layered: composite)
    save_document(doc, path)                              chosen by extension (or a folder)
    check_output(path, inputs=())                         the same choice, before the work

Every failure to read raises `ImportFailed` (never another exception, never a partial
document); every failure to write raises `ExportFailed` and leaves any earlier file intact.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from app.core.document import Document
from app.core.errors import ExportFailed, ImportFailed, StrataError
from app.core.formats.bake import composite_rgba
from app.core.formats.folder import (
    FLAT_EXTENSIONS,
    LAYERS_JSON,
    is_layer_folder,
    load_folder,
    save_flat,
    save_folder,
)
from app.core.formats.images import load_flat
from app.core.formats.limits import (
    DEFAULT_MAX_PIXELS,
    max_pixels,
    max_pixels_or_default,
    set_max_pixels,
)
from app.core.formats.ora import ORA_MIMETYPE, load_ora, save_ora
from app.core.formats.outputs import FOLDER, check_writable_folder, output_format
from app.core.formats.outputs import check_output as _check_output
from app.core.formats.psd import PSD_MAGIC, load_psd, save_psd
from app.core.formats.session import SESSION_EXTENSION, is_session, load_session, save_session

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "SESSION_EXTENSION",
    "IMPORT_EXTENSIONS",
    "LAYERS_JSON",
    "EXPORT_EXTENSIONS",
    "load_document",
    "load_image_rgba",
    "save_document",
    "detect_format",
    "check_output",
    "check_writable_folder",
    "max_pixels",
    "set_max_pixels",
]

IMPORT_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif",
    ".psd", ".psb", ".ora", SESSION_EXTENSION,
)
_WRITERS = {
    ".psd": save_psd,
    ".ora": save_ora,
    SESSION_EXTENSION: save_session,
    **{ext: save_flat for ext in FLAT_EXTENSIONS},
}
EXPORT_EXTENSIONS = tuple(_WRITERS)  # and a path without an extension: a folder


def detect_format(path: str | os.PathLike[str]) -> str:
    """'psd', 'ora', 'session' or 'image', from the file's content (not its name); 'folder'
    for a folder of layer PNGs or its layers.json."""
    path = Path(path)
    if is_layer_folder(path):
        return "folder"
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == PSD_MAGIC:
        return "psd"
    if head == b"PK\x03\x04":
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if "mimetype" in names and zf.read("mimetype").strip() == ORA_MIMETYPE:
                return "ora"
            if "stack.xml" in names:
                return "ora"
            if is_session(zf):
                return "session"
        raise ImportFailed(path, "the archive is neither an OpenRaster file nor a session")
    return "image"


def _load(path: Path, max_pixels: int) -> Document:
    if not path.exists():
        raise ImportFailed(path, "the file does not exist")
    if is_layer_folder(path):
        return load_folder(path, max_pixels)
    if path.stat().st_size == 0:
        raise ImportFailed(path, "the file is empty")
    kind = detect_format(path)
    if kind == "psd":
        return load_psd(path, max_pixels)
    if kind == "ora":
        return load_ora(path, max_pixels)
    if kind == "session":
        return load_session(path, max_pixels)
    rgba = load_flat(path, max_pixels)
    doc = Document.from_image(rgba, path.stem or "Background")
    return doc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "not enough memory to open it"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, zipfile.BadZipFile):
        return "the archive is damaged"
    if isinstance(exc, RecursionError):
        return "the file is nested too deeply"
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return f"the file is damaged or not supported ({text[:200]})"


def load_document(path: str | os.PathLike[str], max_pixels: int | None = None) -> Document:
    """Open any supported file as a Document, or raise ImportFailed.

    A folder of layer PNGs (or its layers.json) opens through `load_folder`: its layers have
    their opacity baked into the pixels, so they open at opacity 1."""
    path = Path(path)
    limit = max_pixels_or_default(max_pixels)
    try:
        doc = _load(path, limit)
    except ImportFailed:
        raise
    except StrataError as exc:
        raise ImportFailed(path, str(exc)) from None
    except (Exception, MemoryError) as exc:  # noqa: BLE001 - decoders fail in many ways
        raise ImportFailed(path, _reason(exc)) from None
    return doc


def load_image_rgba(path: str | os.PathLike[str], max_pixels: int | None = None) -> np.ndarray:
    """A file's picture as HxWx4 uint8 straight RGBA: a flat image, or a layered file's
    composite."""
    path = Path(path)
    limit = max_pixels_or_default(max_pixels)
    try:
        if path.is_file() and detect_format(path) == "image" and path.stat().st_size > 0:
            return load_flat(path, limit)
    except ImportFailed:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ImportFailed(path, _reason(exc)) from None
    doc = load_document(path, limit)
    try:
        return composite_rgba(doc)
    except MemoryError:
        raise ImportFailed(path, "not enough memory to composite it") from None


def check_output(
    path: str | os.PathLike[str], inputs: tuple[str | os.PathLike[str], ...] = ()
) -> str:
    """What `save_document(doc, path)` will write ('.psd', ... or 'folder'), checked before
    the work: a known extension, none of `inputs`, a folder that can be written. Raises
    ExportFailed with one sentence."""
    return _check_output(path, EXPORT_EXTENSIONS, inputs)


def save_document(doc: Document, path: str | os.PathLike[str]) -> None:
    """Write `doc`, the format chosen by the extension; a path without one (or an existing
    folder) is a folder of layer PNGs; an unknown extension is refused."""
    path = Path(path)
    kind = output_format(path, EXPORT_EXTENSIONS)
    try:
        if kind == FOLDER:
            save_folder(doc, path)
        else:
            _WRITERS[kind](doc, path)
    except ExportFailed:
        raise
    except OSError as exc:
        from app.core.formats.atomic import describe_os_error

        raise ExportFailed(path, describe_os_error(exc)) from None
    except MemoryError:
        raise ExportFailed(path, "not enough memory") from None
    except Exception as exc:  # noqa: BLE001 - an encoder failing is still one sentence
        raise ExportFailed(path, str(exc) or exc.__class__.__name__) from exc
