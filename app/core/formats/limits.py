"""Limits that keep hostile or huge files from exhausting memory."""

from __future__ import annotations

import os

# 2**27 pixels (e.g. 16384x8192, or 11585x11585): about 512 MB as RGBA8. Configurable per call
# (`max_pixels=`), for the whole program with `set_max_pixels` (the editor's preference) or
# with the STRATA_MAX_PIXELS environment variable.
DEFAULT_MAX_PIXELS = 1 << 27
MAX_LAYERS = 2000  # more layers than any design file we know of
MAX_MANIFEST_BYTES = 16 << 20  # stack.xml / session manifest
MAX_SIDE = 300_000  # PSD's own limit is 300000 px per side
TOTAL_PIXEL_FACTOR = 8  # all layers of a file together: at most 8x the pixel limit


_max_pixels: int | None = None  # set for the whole program (the editor's preference)


def set_max_pixels(n: int | None) -> None:
    """The pixel limit of every reader that is not given one; None goes back to the default
    (STRATA_MAX_PIXELS, or DEFAULT_MAX_PIXELS)."""
    global _max_pixels
    if n is not None and int(n) <= 0:
        raise ValueError(f"the pixel limit must be positive, got {n}")
    _max_pixels = None if n is None else int(n)


def max_pixels() -> int:
    """The pixel limit in force: set_max_pixels, else STRATA_MAX_PIXELS, else the default."""
    if _max_pixels is not None:
        return _max_pixels
    env = os.environ.get("STRATA_MAX_PIXELS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return DEFAULT_MAX_PIXELS


def max_pixels_or_default(max_pixels_: int | None) -> int:
    return max_pixels() if max_pixels_ is None else int(max_pixels_)


def check_size(width: int, height: int, max_pixels: int) -> str | None:
    """A reason to refuse an image of this size, or None when it is acceptable."""
    if width <= 0 or height <= 0:
        return f"the image has zero size ({width}x{height})"
    if width > MAX_SIDE or height > MAX_SIDE or width * height > max_pixels:
        return (
            f"the image is {width}x{height} pixels, more than the limit of "
            f"{max_pixels:,} pixels"
        )
    return None
