"""Refinement: any layer stack brought to the picture's size with a composite that is the
picture. Steps, cheapest first:

1. a smooth per-layer colour correction measured at the model's size (`coarse`);
2. each layer resampled to the picture's size, colour continued past its edges (`upsample`);
3. then band by band of rows at full resolution: alpha re-estimated along the edges from
   the picture where the layer was enlarged enough for that to pay (`alpha`), the stack's
   alpha matched to the picture's, and the colours solved for an exact composite (`colour`).

Alpha comes before colour because changing alpha changes the composite. Memory: the output
layers (uint8) plus one band of rows in float32; time is linear in pixels x visible layers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from model.refine import alpha as alpha_step
from model.refine import kernels
from model.refine.coarse import drift_fields, grid_size
from model.refine.inputs import RefineError, check_stack, picture_rgba
from model.refine.quality import Reconstruction
from model.refine.upsample import edge_band, scale_factor, to_size

ALPHA_MODES = ("auto", "off")
BAND_PIXELS = 1 << 18  # pixels per band of rows (about 50 MB of float work for 6 layers)


@dataclass
class RefineReport:
    psnr_db: float  # reconstruction of the picture by the refined layers
    exact_share: float  # share of pixels reproduced exactly (8 bits)
    seconds: float
    scale: float  # the largest enlargement of a layer
    alpha_layers: int  # layers whose alpha was re-estimated along edges
    drift_layers: int  # layers that received a smooth colour correction
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Refined:
    layers: list[np.ndarray]  # HxWx4 uint8 straight alpha at the picture's size, bottom first
    report: RefineReport


INV255 = np.float32(1 / 255)


def _field_rows(field_: np.ndarray, size: tuple[int, int], y0: int, y1: int) -> np.ndarray:
    """Rows y0:y1 of a grid-sized field bilinearly enlarged to `size`, as (rows, W, 3)."""
    width, height = size
    gh, gw = field_.shape[:2]
    sx, sy = gw / width, gh / height
    matrix = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, (y0 + 0.5) * sy - 0.5]], np.float64)
    rows = cv2.warpAffine(
        field_, matrix, (width, y1 - y0),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE,
    )
    return rows.reshape(y1 - y0, width, 3)


def refine_layers(
    picture: np.ndarray,
    layers: Sequence[np.ndarray],
    alpha: str = "auto",
    params: alpha_step.AlphaParams | None = None,
    check: Callable[[], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Refined:
    """Refine `layers` (bottom first, any size, uint8 or float RGBA) against `picture`.

    alpha: "auto" re-estimates each layer's alpha along its edges where the stack does not
    reproduce the picture yet (measured to help at every enlargement, even the 0.8x shrink
    of a small picture's bucket: notes/refine.md); "off" keeps the resampled alpha (the
    colour solve alone). `check` is called
    between bands (raise from it to cancel); `progress(done, total)` after each band.
    """
    if alpha not in ALPHA_MODES:
        raise RefineError(f"the alpha mode must be one of {', '.join(ALPHA_MODES)}, not {alpha}")
    started = time.perf_counter()
    params = params or alpha_step.AlphaParams()
    picture = picture_rgba(picture)
    height, width = picture.shape[:2]
    size = (width, height)
    stack = check_stack(layers, size)
    timings: dict[str, float] = {}

    clock = time.perf_counter()
    grid = grid_size(size, [(x.shape[1], x.shape[0]) for x in stack])
    fields = drift_fields(picture, stack, grid)
    timings["drift"] = time.perf_counter() - clock

    clock = time.perf_counter()
    factors = [scale_factor(x, size) for x in stack]
    bands = [edge_band(x, size) if alpha == "auto" else None for x in stack]
    out = [to_size(x, size) for x in stack]
    del stack
    timings["resample"] = time.perf_counter() - clock

    clock = time.perf_counter()
    packed = alpha_step.kernel_params(params)
    quality = Reconstruction()
    step = max(8, BAND_PIXELS // width)
    total = (height + step - 1) // step
    for index, y0 in enumerate(range(0, height, step)):
        if check is not None:
            check()
        y1 = min(height, y0 + step)
        _refine_rows(picture, out, fields, bands, factors, size, y0, y1, packed, quality)
        if progress is not None:
            progress(index + 1, total)
    timings["solve"] = time.perf_counter() - clock
    report = RefineReport(
        psnr_db=quality.psnr_db,
        exact_share=quality.exact_share,
        seconds=time.perf_counter() - started,
        scale=max(factors),
        alpha_layers=sum(b is not None for b in bands),
        drift_layers=sum(f is not None for f in fields),
        timings=timings,
    )
    return Refined(out, report)


def _refine_rows(
    picture: np.ndarray,
    out: list[np.ndarray],
    fields: list[np.ndarray | None],
    bands: list[np.ndarray | None],
    factors: list[float],
    size: tuple[int, int],
    y0: int,
    y1: int,
    params: np.ndarray,
    quality: Reconstruction,
) -> None:
    rows = slice(y0, y1)
    band_rows = [None if b is None else b[rows] for b in bands]
    # Layers with nothing in these rows take no part (the bottom one always does: a picture
    # more opaque than the stack is matched by filling it in).
    active = [
        k for k, layer in enumerate(out)
        if k == 0 or layer[rows, :, 3].any() or (band_rows[k] is not None and band_rows[k].any())
    ]
    stack = np.stack([out[k][rows] for k in active])
    count, height, width = stack.shape[:3]
    with_drift = np.array([fields[k] is not None for k in active])
    drift = np.zeros((count, height, width, 3) if with_drift.any() else (count, 1, 1, 3),
                     np.float32)
    for i, k in enumerate(active):
        if fields[k] is not None:
            drift[i] = _field_rows(fields[k], size, y0, y1)
    edges = [band_rows[k] for k in active]
    any_band = any(b is not None and b.any() for b in edges)
    if any_band:
        band = np.zeros((count, height, width), np.uint8)
        for i, b in enumerate(edges):
            if b is not None:
                band[i] = b
        estimates = np.empty((count, height, width), np.float32)
        sigmas = np.empty((count, height, width), np.float32)
        scales = np.empty((count, height, width), np.float32)
        belows = np.empty((count, height, width, 3), np.float32)
        kernels.estimate_rows(
            picture[rows], stack, drift, with_drift, band, params, estimates, sigmas, scales,
            belows,
        )
        # how far each estimate moves alpha, averaged over 3x3 (0 where nothing is estimated)
        changes = np.abs(estimates - stack[:, :, :, 3] * INV255)
        changes[sigmas <= 0] = 0.0
        for i in range(count):
            if edges[i] is not None:
                cv2.blur(changes[i], (3, 3), dst=changes[i], borderType=cv2.BORDER_REPLICATE)
    else:
        band = np.zeros((count, 1, 1), np.uint8)
        estimates = sigmas = scales = changes = np.zeros((count, 1, 1), np.float32)
        belows = np.zeros((count, 1, 1, 3), np.float32)
    enlarged = np.array([factors[k] for k in active], np.float32)
    stats = np.zeros((height, 4), np.float64)
    kernels.refine_rows(
        picture[rows], stack, drift, with_drift, band, estimates, sigmas, changes, scales,
        belows, enlarged, any_band, params, stats,
    )
    for i, k in enumerate(active):
        out[k][rows] = stack[i]
    quality.add_stats(stats, width)
