"""PNG encoding shared by the exporters."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode_png(rgba: np.ndarray, compress_level: int = 1) -> bytes:
    """RGBA uint8 -> PNG bytes. Level 1 is ~3x faster than the default 6 for ~10% more size."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba), "RGBA").save(
        buf, "PNG", compress_level=compress_level
    )
    return buf.getvalue()


def thumbnail_png(rgba: np.ndarray, max_side: int = 256) -> bytes:
    im = Image.fromarray(np.ascontiguousarray(rgba), "RGBA")
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()
