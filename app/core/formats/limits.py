"""Limits that keep hostile or huge files from exhausting memory.

The pixel limit every reader applies comes, in this order, from the call (`max_pixels=`),
from the program (`set_max_pixels`: the CLI's `--max-pixels`, the editor's preference), from
the STRATA_MAX_PIXELS environment variable, else `DEFAULT_MAX_PIXELS`.
"""

from __future__ import annotations

import os

# 2**27 pixels (e.g. 16384x8192, or 11585x11585): about 512 MB as RGBA8.
DEFAULT_MAX_PIXELS = 1 << 27
MAX_LAYERS = 2000  # more layers than any design file we know of
MAX_MANIFEST_BYTES = 16 << 20  # stack.xml / session manifest
MAX_SIDE = 300_000  # PSD's own limit is 300000 px per side
TOTAL_PIXEL_FACTOR = 8  # all layers of a file together: at most 8x the pixel limit
LIMIT_WORDS = "the pixel limit"  # every refusal for size says this, so callers can add a hint

_program_limit: int | None = None


def set_max_pixels(n: int | None) -> int | None:
    """The pixel limit of every reader that is not given one (the CLI's --max-pixels, the
    editor's preference); None goes back to STRATA_MAX_PIXELS or the default. Returns the
    previous setting, so that a caller can put it back."""
    global _program_limit
    if n is not None:
        n = int(n)
        if n <= 0:
            raise ValueError(f"the pixel limit must be positive, got {n}")
    previous, _program_limit = _program_limit, n
    return previous


def max_pixels() -> int:
    """The pixel limit in force: set_max_pixels, else STRATA_MAX_PIXELS, else the default."""
    if _program_limit is not None:
        return _program_limit
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
    if width > MAX_SIDE or height > MAX_SIDE:
        return (
            f"the image is {width}x{height} pixels, wider or taller than the {MAX_SIDE:,} "
            "pixels any reader allows"
        )
    if width * height > max_pixels:
        return (
            f"the image is {width}x{height} = {width * height:,} pixels, larger than "
            f"{LIMIT_WORDS} of {max_pixels:,}"
        )
    return None
