"""Translucent full-width (or full-height) bands: a strip of one colour at one opacity over
everything below it.

Across the strip's edge the content below continues, so the row just inside is a constant-alpha
tint of the row just outside: inside = (1 - a) * outside + a * T for every column and channel.
Solving a and T by least squares over the edge (and requiring the outside row to vary, so the
fit is determined) finds the strip; a full-width opaque bar fits a ~ 1 and is left to the shape
pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_ALPHA, MAX_ALPHA = 0.12, 0.8
EDGE_STEP = 0.012  # a column "changes" across the edge by more than this
EDGE_COVER = 0.85  # ... in this fraction of the columns
FIT_TOL = 0.02  # a column fits the tint within this
FIT_COVER = 0.85  # ... in this fraction of the columns
MIN_SPREAD = 0.04  # std of the outside row, so that a and T are determined
PARAM_TOL = 0.04  # the two edges of one band agree within this


@dataclass
class Band:
    axis: int  # 0: rows [start, stop) are covered; 1: columns
    start: int
    stop: int
    alpha: int  # uint8
    colour: np.ndarray  # uint8 RGB

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        alpha = np.zeros(shape, np.uint8)
        if self.axis == 0:
            alpha[self.start : self.stop] = self.alpha
        else:
            alpha[:, self.start : self.stop] = self.alpha
        return alpha


def _fit(outside: np.ndarray, inside: np.ndarray) -> tuple[float, np.ndarray] | None:
    """(alpha, colour) with inside = (1 - alpha) * outside + alpha * colour, or None."""
    if outside.std(axis=0).max() < MIN_SPREAD:
        return None
    mo, mi = outside.mean(axis=0), inside.mean(axis=0)
    do, di = outside - mo, inside - mi
    slope = float((do * di).sum() / max((do * do).sum(), 1e-9))
    alpha = 1.0 - slope
    if not MIN_ALPHA <= alpha <= MAX_ALPHA:
        return None
    colour = (mi - slope * mo) / alpha
    if colour.min() < -0.03 or colour.max() > 1.03:
        return None
    residual = np.abs(inside - (slope * outside + alpha * colour)).max(axis=1)
    if (residual < FIT_TOL).mean() < FIT_COVER:
        return None
    return alpha, np.clip(colour, 0.0, 1.0)


def _edges(rgb: np.ndarray) -> tuple[list, list]:
    """Row edges y (between rows y and y + 1) entering a band below and leaving one above."""
    step = np.abs(np.diff(rgb, axis=0)).max(axis=2)
    candidates = np.flatnonzero((step > EDGE_STEP).mean(axis=1) >= EDGE_COVER)
    entering, leaving = [], []
    for y in candidates[:64]:
        above, below = rgb[y], rgb[y + 1]
        fit = _fit(above, below)
        if fit is not None:
            entering.append((int(y), *fit))
        fit = _fit(below, above)
        if fit is not None:
            leaving.append((int(y), *fit))
    return entering, leaving


def _same(a: tuple, b: tuple) -> bool:
    return abs(a[1] - b[1]) < PARAM_TOL and float(np.abs(a[2] - b[2]).max()) < 3 * PARAM_TOL


def _band_rows(rgb: np.ndarray) -> tuple[int, int, float, np.ndarray] | None:
    # Both edges must be seen: a lone edge is as often the bottom of something hidden (a photo
    # over the band) as a band reaching the border.
    entering, leaving = _edges(rgb)
    options = []
    for top in entering:
        for bottom in leaving:
            if bottom[0] > top[0] and _same(top, bottom):
                options.append((top[0] + 1, bottom[0] + 1, (top[1] + bottom[1]) / 2,
                                (top[2] + bottom[2]) / 2))  # fmt: skip
    if not options:
        return None
    return max(options, key=lambda o: o[1] - o[0])


def untint(rgb: np.ndarray, band: Band) -> np.ndarray:
    """The picture without the band (float RGB), clipped to [0, 1]."""
    a = band.alpha / 255.0
    colour = band.colour.astype(np.float32) / 255.0
    out = rgb.copy()
    view = out[band.start : band.stop] if band.axis == 0 else out[:, band.start : band.stop]
    view[:] = (view - a * colour) / (1.0 - a)
    return np.clip(out, 0.0, 1.0)


def find_band(rgb: np.ndarray) -> Band | None:
    """The largest translucent band over the picture (float RGB in [0, 1]), or None."""
    best: Band | None = None
    for axis in (0, 1):
        view = rgb if axis == 0 else rgb.transpose(1, 0, 2)
        found = _band_rows(view)
        if found is None:
            continue
        start, stop, alpha, colour = found
        band = Band(axis, start, stop, int(round(alpha * 255)),
                    np.clip(np.rint(colour * 255), 0, 255).astype(np.uint8))  # fmt: skip
        if best is None or stop - start > best.stop - best.start:
            best = band
    if best is None:
        return None
    # The band must un-tint into range: the content below it is a real picture.
    a = best.alpha / 255.0
    colour = best.colour.astype(np.float32) / 255.0
    region = rgb[best.start : best.stop] if best.axis == 0 else rgb[:, best.start : best.stop]
    raw = (region - a * colour) / (1.0 - a)
    outside = ((raw < -0.02) | (raw > 1.02)).any(axis=2).mean()
    return best if outside < 0.002 else None
