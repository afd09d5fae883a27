"""What every backend's layer stack goes through: only meaningful layers, composite kept.

A layer is *meaningful* when it holds at least `MIN_SHARE` of the picture (1/4000: 16x16
pixels of a 1024x1024 picture, 66 pixels of a 512x512 one) and at least `MIN_PIXELS`, counted
as solid pixels: the sum of its alpha (a pixel at alpha 128 counts half) over its visible
pixels (alpha >= `FAINT_ALPHA`, 3%: fainter ones are not seen), leaving out specks, groups of
touching visible pixels smaller than `SPECK_PIXELS`. A layer below that (empty, a haze of
faint pixels, or a dust of specks spread over the picture) is merged into the layer below it
(the bottom one into the layer above) as their own "over" composite, so the composite does
not change (within the rounding of one 8-bit level) and no pixel is lost.

Figures behind the numbers: on 200 synthetic designs the smallest real layer (ground truth)
holds 0.127% of the picture without specks; the empty or speckled layers that `--layers 5`
gave on skimage's photos held 0.000-0.012%. The share is measured on the layer's own pixels,
not on what shows of it in the composite: a layer hidden under another is still content that
moving the upper one reveals.

`keep_meaningful` is applied to every backend's result by `model.registry` (so the CLI, the
editor and evaluation all get it); `CheckedDecomposer` is that wrapper.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from model.base import (
    CancelToken,
    DecomposedLayer,
    DecomposeOptions,
    Decomposer,
    DecomposeResult,
    ProgressCallback,
)

MIN_SHARE = 1 / 4000
MIN_PIXELS = 16
SPECK_PIXELS = 16
FAINT_ALPHA = 8
_EIGHT = np.ones((3, 3), bool)


def over(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Straight RGBA uint8 "over" of two layers, as one layer (worked out where the upper
    layer is visible; elsewhere the lower layer is kept as it is)."""
    out = lower.copy()
    rows = np.flatnonzero(upper[:, :, 3].any(axis=1))
    if rows.size == 0:
        return out
    cols = np.flatnonzero(upper[:, :, 3].any(axis=0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    lo, up_ = lower[y0:y1, x0:x1], upper[y0:y1, x0:x1]
    la = lo[:, :, 3:4].astype(np.float32) / 255.0
    ua = up_[:, :, 3:4].astype(np.float32) / 255.0
    out_a = ua + (1.0 - ua) * la
    out_p = up_[:, :, :3].astype(np.float32) / 255.0 * ua + (1.0 - ua) * la * (
        lo[:, :, :3].astype(np.float32) / 255.0
    )
    rgb = np.where(out_a > 0, out_p / np.maximum(out_a, 1e-8), lo[:, :, :3] / 255.0)
    merged = np.concatenate([rgb, out_a], axis=-1)
    out[y0:y1, x0:x1] = np.clip(np.rint(merged * 255.0), 0, 255).astype(np.uint8)
    return out


def solid_pixels(alpha: np.ndarray) -> float:
    """The alpha sum (in whole pixels) of a layer's visible pixels, specks left out."""
    visible = alpha >= FAINT_ALPHA
    if not visible.any():
        return 0.0
    labels, count = ndimage.label(visible, structure=_EIGHT)
    sizes = np.bincount(labels.ravel())
    keep = sizes >= SPECK_PIXELS
    keep[0] = False
    if not keep.any():
        return 0.0
    return float(alpha[keep[labels]].sum(dtype=np.float64)) / 255.0


def min_solid_pixels(canvas_pixels: int) -> float:
    return max(float(MIN_PIXELS), MIN_SHARE * canvas_pixels)


def is_meaningful(rgba: np.ndarray, canvas_pixels: int | None = None) -> bool:
    """Whether a layer holds enough of the picture to be a layer of its own (see above)."""
    if canvas_pixels is None:
        canvas_pixels = rgba.shape[0] * rgba.shape[1]
    return solid_pixels(rgba[:, :, 3]) >= min_solid_pixels(canvas_pixels)


def merge_negligible(layers: Sequence[DecomposedLayer]) -> tuple[list[DecomposedLayer], int]:
    """The stack with every layer that is not meaningful merged into its neighbour below (the
    bottom one into the layer above), and how many were merged. One layer always remains."""
    stack = list(layers)
    if len(stack) < 2:
        return stack, 0
    canvas = stack[0].rgba.shape[0] * stack[0].rgba.shape[1]
    merged = 0
    for i in range(len(stack) - 1, 0, -1):
        if not is_meaningful(stack[i].rgba, canvas):
            lower = stack[i - 1]
            stack[i - 1 : i + 1] = [DecomposedLayer(over(lower.rgba, stack[i].rgba), lower.name)]
            merged += 1
    if len(stack) > 1 and not is_meaningful(stack[0].rgba, canvas):
        upper = stack[1]
        stack[0:2] = [DecomposedLayer(over(stack[0].rgba, upper.rgba), upper.name)]
        merged += 1
    return stack, merged


def count_warning(asked: int | None, found: int, merged: int) -> str | None:
    """One line saying the result has fewer layers than asked for, or what was merged."""
    plural = "s" if merged != 1 else ""
    what = (f"{merged} nearly empty layer{plural} (under {MIN_SHARE:.3%} of the picture) "
            "merged into the layer below")
    if asked is not None and found < asked:
        line = f"asked for {asked} layers, found {found} meaningful one{'s' if found != 1 else ''}"
        return f"{line}: {what}" if merged else line
    return what if merged else None


def keep_meaningful(result: DecomposeResult, asked: int | None) -> DecomposeResult:
    """The result with only meaningful layers and, when that leaves fewer layers than
    `asked` for (or merged any), one warning that says so."""
    layers, merged = merge_negligible(result.layers)
    result.layers = layers
    warning = count_warning(asked, len(layers), merged)
    if warning:
        result.warnings.append(warning)
    return result


class CheckedDecomposer:
    """A backend whose every result goes through `keep_meaningful`; everything else (name,
    availability, unload, ...) is the backend's own."""

    def __init__(self, backend: Decomposer) -> None:
        self._backend = backend

    @property
    def backend(self) -> Decomposer:
        return self._backend

    def __getattr__(self, name: str):
        return getattr(self._backend, name)

    def decompose(
        self,
        rgba: np.ndarray,
        options: DecomposeOptions,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> DecomposeResult:
        result = self._backend.decompose(rgba, options, progress, cancel)
        return keep_meaningful(result, options.layers)
