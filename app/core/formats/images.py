"""Flat image import (PNG, JPEG, WebP, TIFF, BMP, GIF...) to straight RGBA uint8.

Every decoded picture ends up the same way whatever its mode: EXIF orientation applied,
an embedded ICC profile converted to sRGB, L/LA/P/CMYK/16-bit/float modes turned into
RGBA8. The pixel limit is checked from the header, before anything is decoded.

Pillow's own decompression-bomb check is off: it refuses anything over a fixed 179 M pixels
before the size can be read, with no size in its message and whatever limit the user set.
`open_checked` applies Strata's limit (`limits.max_pixels()`, `--max-pixels`) instead, from the
same header, and reads only the first frame.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageCms, ImageOps

from app.core.errors import ImportFailed
from app.core.formats.limits import LIMIT_WORDS, check_size

_SIXTEEN_BIT = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
Image.MAX_IMAGE_PIXELS = None  # see the module docstring: check_size does this job


def open_checked(source: str | Path | BinaryIO, path: object, max_pixels: int) -> Image.Image:
    """Open an image lazily and refuse it, before decoding, if it is empty or too big."""
    with warnings.catch_warnings():
        # Decoders warn about damaged metadata; we check the size ourselves.
        warnings.simplefilter("ignore")
        try:
            im = Image.open(source)
        except Image.DecompressionBombError:
            # Only when something set Pillow's own limit again.
            raise ImportFailed(path, f"the image is larger than {LIMIT_WORDS} Pillow was "
                               "given") from None
        except (Image.UnidentifiedImageError, SyntaxError):
            raise ImportFailed(path, "the file is not an image Strata can read") from None
    reason = check_size(im.width, im.height, max_pixels)
    if reason:
        im.close()
        raise ImportFailed(path, reason)
    return im


def decode(im: Image.Image, path: object) -> np.ndarray:
    """Decode an opened image (first frame) into straight RGBA uint8."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            im.seek(0)
        except EOFError:
            pass
        try:
            im.load()
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ImportFailed(path, f"the image data is damaged or truncated ({exc})") from None
        im = _oriented(im)
        rgba = to_rgba8(im)
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.shape[0] == 0 or rgba.shape[1] == 0:
        raise ImportFailed(path, "the image has zero size")
    return rgba


def load_flat(path: str | Path, max_pixels: int) -> np.ndarray:
    im = open_checked(path, path, max_pixels)
    try:
        return decode(im, path)
    finally:
        im.close()


def read_png_bytes(data: bytes, path: object, max_pixels: int, what: str) -> np.ndarray:
    """Decode an image stored inside an archive (ORA, session), with the same limits."""
    try:
        im = open_checked(io.BytesIO(data), path, max_pixels)
    except ImportFailed as exc:
        raise ImportFailed(path, f"{what}: {exc.reason}") from None
    try:
        return decode(im, path)
    except ImportFailed as exc:
        raise ImportFailed(path, f"{what}: {exc.reason}") from None
    finally:
        im.close()


def _oriented(im: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(im) or im
    except Exception:  # noqa: BLE001 - a damaged EXIF block only loses the orientation
        return im


def _to_srgb(im: Image.Image) -> Image.Image:
    """Convert an image carrying an ICC profile to sRGB; other images pass unchanged.

    Returns RGB (or RGBA when the input had alpha). A broken profile is ignored: the
    pixels are then taken as sRGB, as browsers do.
    """
    icc = im.info.get("icc_profile")
    if not icc:
        return im
    alpha = im.getchannel("A") if im.mode in ("RGBA", "LA", "PA") else None
    base = {"RGBA": "RGB", "LA": "L", "PA": "RGB"}.get(im.mode, im.mode)
    if im.mode == "PA":
        im = im.convert("RGBA")
    colour = im.convert(base) if im.mode != base else im
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(colour, src, _SRGB, outputMode="RGB")
    except Exception:  # noqa: BLE001 - lcms rejects damaged or mismatched profiles
        return im
    if converted is None:
        return im
    if alpha is not None:
        converted.putalpha(alpha)
    converted.info.pop("icc_profile", None)
    return converted


def _sixteen_to_eight(a: np.ndarray) -> np.ndarray:
    wide = np.clip(a.astype(np.int64), 0, 65535)
    return ((wide * 255 + 32767) // 65535).astype(np.uint8)


def to_rgba8(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> HxWx4 straight RGBA uint8 (colour-managed to sRGB)."""
    mode = im.mode
    if mode in _SIXTEEN_BIT:
        grey = _sixteen_to_eight(np.asarray(im))
        out = np.empty((*grey.shape, 4), np.uint8)
        out[:, :, :3] = grey[:, :, None]
        out[:, :, 3] = 255
        return out
    if mode == "F":
        values = np.nan_to_num(np.asarray(im, np.float64), nan=0.0, posinf=1.0, neginf=0.0)
        scale = 255.0 if values.size and values.max() <= 1.0 else 1.0
        grey = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
        out = np.empty((*grey.shape, 4), np.uint8)
        out[:, :, :3] = grey[:, :, None]
        out[:, :, 3] = 255
        return out
    if mode == "1":
        im = im.convert("L")
    elif mode in ("P", "PA"):
        im = im.convert("RGBA")
    elif mode in ("RGBa", "La"):
        im = im.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA", "CMYK"):
        im = im.convert("RGB")  # YCbCr, LAB, HSV, RGBX, ...
    im = _to_srgb(im)
    if im.mode != "RGBA":
        im = im.convert("RGBA")
    return np.array(im, dtype=np.uint8)


def merged_image_document(rgba: np.ndarray, width: int, height: int, path: Path, what: str):
    """A layered file without layers opens as one layer holding its merged image (`what`).

    The merged image is not kept as the document's source: it was not a flat input.
    """
    from app.core.document import Document

    if rgba.shape[:2] != (height, width):
        raise ImportFailed(path, f"{what} does not match the canvas")
    doc = Document.from_image(rgba, path.stem or "Background")
    doc.source = None
    return doc
