"""The canvas's renderer, and premultiplied RGBA buffers as QImages."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from app.core.compositor import Compositor
from app.core.document import Document


def make_compositor(doc: Document) -> Compositor:
    return Compositor(doc)


def premul_to_qimage(buf: np.ndarray) -> QImage:
    """A QImage over a premultiplied RGBA uint8 buffer; the image keeps the buffer alive."""
    buf = np.ascontiguousarray(buf)
    h, w = buf.shape[:2]
    image = QImage(buf.data, w, h, 4 * w, QImage.Format.Format_RGBA8888_Premultiplied)
    image._buffer = buf  # type: ignore[attr-defined]  # QImage does not own the memory
    return image


def straight_to_qimage(rgba: np.ndarray) -> QImage:
    """A detached QImage copy of a straight-alpha RGBA uint8 array."""
    rgba = np.ascontiguousarray(rgba)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
