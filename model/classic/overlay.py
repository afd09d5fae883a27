"""Translucent full-width (or full-height) bands: a strip of one colour at one opacity over
everything below it, possibly with other elements placed on top of it.

Across the strip's edge the content below continues, so the row just inside is a constant-alpha
tint of the row just outside: inside = (1 - a) * outside + a * T for every column and channel.
Solving a and T by least squares over the columns that fit (and requiring the outside row to
vary there, so the fit is determined) finds one edge; the other edge must agree with the same
tint, checked column by column, so it may lie on a flat stretch. Columns where something on top
of the band crosses its edge do not fit and are left out. A full-width opaque bar fits a ~ 1
and is left to the shape pass.

Elements above the band (they cross its edge unchanged, or could not be un-tinted into range)
are cut out of it: the overlay's alpha is 0 there and those pixels are not un-tinted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from model.classic.compose import required_alpha
from model.classic.kind import neighbour_step
from model.classic.pieces import channel_max, dilate, quantise

MIN_ALPHA, MAX_ALPHA = 0.12, 0.8
EDGE_STEP = 0.012  # a column "changes" across the edge by more than this
EDGE_COVER = 0.5  # ... in this fraction of the columns
FIT_TOL = 0.02  # a column fits the tint within this
FIT_COVER = 0.5  # ... in this fraction of the columns
MIN_SPREAD = 0.04  # std of the fitting outside columns, so that a and T are determined
PARAM_TOL = 0.04  # the two edges of one band agree within this
SMOOTH = 7  # columns averaged along the edge, so that per-pixel grain does not break the fit
SHARPNESS = 2.0  # an edge row's median step over its neighbour rows'
MAX_EDGES = 64  # edge rows fitted per axis (a noisy picture makes every row a candidate)
CROSS_TOL = 0.03  # a flat region crossing the edge differs from the tint by more than this
RANGE_TOL = 0.02  # un-tinted values this far outside [0, 1] cannot lie below the band
MAX_ABOVE = 0.5  # a band mostly covered by "elements above" is not a band
RIM = 3  # an element above the band takes over un-tintable pixels this close to it


@dataclass
class Band:
    axis: int  # 0: rows [start, stop) are covered; 1: columns
    start: int
    stop: int
    alpha: int  # uint8
    colour: np.ndarray  # uint8 RGB
    above: np.ndarray | None = None  # bool HxW: pixels of elements lying on top of the band

    def covered(self, shape: tuple[int, int]) -> np.ndarray:
        """Bool HxW: where the band tints what lies below it."""
        mask = np.zeros(shape, bool)
        if self.axis == 0:
            mask[self.start : self.stop] = True
        else:
            mask[:, self.start : self.stop] = True
        return mask if self.above is None else mask & ~self.above

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        return np.where(self.covered(shape), np.uint8(self.alpha), np.uint8(0))

    def layer(self, shape: tuple[int, int]) -> np.ndarray:
        """The band as a full-canvas straight RGBA uint8 layer."""
        out = np.zeros(shape + (4,), np.uint8)
        out[:, :, :3] = self.colour
        out[:, :, 3] = self.mask(shape)
        return out


def _robust_start(outside: np.ndarray, inside: np.ndarray) -> np.ndarray | None:
    """Columns near a median-based line (a Theil-Sen style slope over column pairs), so that
    elements crossing the edge, however many, do not pull the first least-squares fit."""
    slopes = []
    for k in (8, 32, 128):
        if k >= len(outside):
            break
        d_out, d_in = outside[k:] - outside[:-k], inside[k:] - inside[:-k]
        sure = np.abs(d_out) > 0.05
        slopes.append((d_in[sure] / d_out[sure]).ravel())
    slopes_all = np.concatenate(slopes) if slopes else np.empty(0)
    if slopes_all.size < 16:
        return None
    slope = float(np.median(slopes_all))
    offset = np.median(inside - slope * outside, axis=0)
    return np.abs(inside - (slope * outside + offset)).max(axis=1) < 2 * FIT_TOL


def _fit(outside: np.ndarray, inside: np.ndarray) -> tuple[float, np.ndarray] | None:
    """(alpha, colour) with inside = (1 - alpha) * outside + alpha * colour on at least
    FIT_COVER of the columns, or None. Least squares on the columns that fit, refit twice."""
    keep = _robust_start(outside, inside)
    if keep is None:
        return None
    for _ in range(3):
        if keep.mean() < FIT_COVER or outside[keep].std(axis=0).max() < MIN_SPREAD:
            return None
        mo, mi = outside[keep].mean(axis=0), inside[keep].mean(axis=0)
        do, di = outside[keep] - mo, inside[keep] - mi
        slope = float((do * di).sum() / max((do * do).sum(), 1e-9))
        alpha = 1.0 - slope
        if not MIN_ALPHA <= alpha <= MAX_ALPHA:
            return None
        colour = (mi - slope * mo) / alpha
        residual = np.abs(inside - (slope * outside + alpha * colour)).max(axis=1)
        keep = residual < FIT_TOL
    if keep.mean() < FIT_COVER or outside[keep].std(axis=0).max() < MIN_SPREAD:
        return None
    if colour.min() < -0.03 or colour.max() > 1.03:
        return None
    return alpha, np.clip(colour, 0.0, 1.0)


def _agrees(outside: np.ndarray, inside: np.ndarray, alpha: float, colour: np.ndarray) -> bool:
    """The edge between `outside` and `inside` is the same tint (checked per column): the
    tint explains most columns, and visibly changes them."""
    tinted = (1.0 - alpha) * outside + alpha * colour
    fits = np.abs(inside - tinted).max(axis=1) < FIT_TOL
    visible = np.abs(tinted - outside).max(axis=1) > EDGE_STEP
    return bool((fits & visible).mean() >= FIT_COVER)


def _edges(rgb: np.ndarray) -> tuple[np.ndarray, list, list]:
    """Edge candidates y (between rows y and y + 1), and the tints fitted entering a band
    below them and leaving one above them."""
    step = channel_max(np.abs(np.diff(rgb, axis=0)))
    typical = np.median(step, axis=1)
    # A band's edge is a jump: it steps much more than the rows next to it (grain does not).
    padded = np.pad(typical, 1, mode="edge")
    sharp = typical > SHARPNESS * np.maximum(padded[:-2], padded[2:])
    candidates = np.flatnonzero(((step > EDGE_STEP).mean(axis=1) >= EDGE_COVER) & sharp)
    # Grain makes many rows candidates; a band's edge steps by about the same in every column.
    strongest = candidates[np.argsort(-typical[candidates])[:MAX_EDGES]]
    entering, leaving = [], []
    for y in np.sort(strongest):
        above, below = rgb[y], rgb[y + 1]
        fit = _fit(above, below)
        if fit is not None:
            entering.append((int(y), *fit))
        fit = _fit(below, above)
        if fit is not None:
            leaving.append((int(y), *fit))
    return candidates, entering, leaving


def _band_rows(rgb: np.ndarray) -> tuple[int, int, float, np.ndarray] | None:
    # Both edges must be seen: a lone edge is as often the bottom of something hidden (a photo
    # over the band) as a band reaching the border. One edge determines the tint; the other
    # only has to agree with it.
    candidates, entering, leaving = _edges(rgb)
    options = []
    for top in entering:
        for y in candidates[candidates > top[0]]:
            if _agrees(rgb[y + 1], rgb[y], top[1], top[2]):
                options.append((top[0] + 1, int(y) + 1, top[1], top[2]))
    for bottom in leaving:
        for y in candidates[candidates < bottom[0]]:
            if _agrees(rgb[y], rgb[y + 1], bottom[1], bottom[2]):
                options.append((int(y) + 1, bottom[0] + 1, bottom[1], bottom[2]))
    if not options:
        return None
    return max(options, key=lambda o: o[1] - o[0])


def _raw(rgb: np.ndarray, alpha: float, colour: np.ndarray) -> np.ndarray:
    return (rgb - alpha * colour) / (1.0 - alpha)


def _above(rgb: np.ndarray, band: Band) -> np.ndarray:
    """Bool HxW: pixels of the band that belong to elements lying on top of it. A flat region
    that crosses the band's edge without taking on the tint lies above it, and so does whatever
    cannot be un-tinted into range; both are closed (scattered out-of-range pixels of a photo) and
    grown over their anti-aliased rims. Holes stay: a ring above the band shows the band inside."""
    h, w = rgb.shape[:2]
    inside = band.covered((h, w))
    a = band.alpha / 255.0
    colour = band.colour.astype(np.float32) / 255.0
    raw = _raw(rgb, a, colour)
    above = inside & ((raw < -RANGE_TOL) | (raw > 1 + RANGE_TOL)).any(axis=2)
    view = rgb if band.axis == 0 else rgb.transpose(1, 0, 2)
    labels, _ = ndimage.label(neighbour_step(view) < CROSS_TOL)
    crossing: set[int] = set()
    n = view.shape[0]
    for out_row, in_row in ((band.start - 1, band.start), (band.stop, band.stop - 1)):
        if not (0 <= out_row < n and 0 <= in_row < n):
            continue
        same = (labels[out_row] == labels[in_row]) & (labels[in_row] > 0)
        tinted = (1.0 - a) * view[out_row] + a * colour
        untinted = np.abs(view[in_row] - tinted).max(axis=1) > CROSS_TOL
        crossing.update(np.unique(labels[in_row][same & untinted]).tolist())
    if crossing:
        regions = np.isin(labels, sorted(crossing))
        above |= regions if band.axis == 0 else regions.T
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    above = cv2.morphologyEx(above.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool)
    return dilate(above, 2) & inside


def untint(rgb: np.ndarray, band: Band) -> np.ndarray:
    """The picture without the band (float RGB), clipped to [0, 1]."""
    covered = band.covered(rgb.shape[:2])
    out = rgb.copy()
    out[covered] = _raw(rgb[covered], band.alpha / 255.0, band.colour.astype(np.float32) / 255.0)
    return np.clip(out, 0.0, 1.0)


def find_band(rgb: np.ndarray) -> Band | None:
    """The largest translucent band over the picture (float RGB in [0, 1]), with the elements
    on top of it cut out, or None."""
    best: Band | None = None
    for axis in (0, 1):
        view = rgb if axis == 0 else rgb.transpose(1, 0, 2)
        found = _band_rows(cv2.blur(np.ascontiguousarray(view), (SMOOTH, 1)))
        if found is None:
            continue
        start, stop, alpha, colour = found
        band = Band(axis, start, stop, int(round(alpha * 255)),
                    quantise(colour))  # fmt: skip
        if best is None or stop - start > best.stop - best.start:
            best = band
    if best is None:
        return None
    area = best.covered(rgb.shape[:2]).sum()
    best.above = _above(rgb, best)
    # What is left under the band must be mostly the band: else it is an opaque thing.
    return best if best.above.sum() <= MAX_ABOVE * area else None


def _over_at(layers: list[np.ndarray], where: tuple) -> np.ndarray:
    """Straight "over" composite of uint8 RGBA layers (opaque bottom) at the pixels `where`,
    float RGB of shape (n, 3)."""
    out = layers[0][where][:, :3].astype(np.float32) / 255.0
    for layer in layers[1:]:
        pixels = layer[where].astype(np.float32) / 255.0
        a = pixels[:, 3:]
        out = a * pixels[:, :3] + (1.0 - a) * out
    return out


def _solve_top(target: np.ndarray, under: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """The RGBA (float, n x 4) that turns `under` into `target`: `pixels`' alpha, raised just
    enough where the colour would leave [0, 1]."""
    alpha = np.maximum(pixels[:, 3], required_alpha(target, under))
    colour = (target - (1.0 - alpha[:, None]) * under) / np.maximum(alpha[:, None], 1e-6)
    return np.concatenate([np.clip(colour, 0.0, 1.0), alpha[:, None]], axis=1)


def _claims(layers: list[np.ndarray], at: int, loose: np.ndarray) -> list[np.ndarray]:
    """Per layer above the band, the loose pixels next to it (its faint rim, dropped by the
    decomposition) that it takes over; the topmost neighbour wins."""
    claims = [np.zeros_like(loose) for _ in layers]
    for index in range(len(layers) - 1, at - 1, -1):
        claims[index] = loose & dilate(layers[index][:, :, 3] > 0, RIM)
        loose = loose & ~claims[index]
    return claims


def lift(layers: list[np.ndarray], at: int, band: Band, image: np.ndarray) -> list[np.ndarray]:
    """The stack with the band inserted at `at`, whole where it can be, uint8 RGBA layers.

    The elements above the band (`layers[at:]`) were decomposed un-tinted; the band now also
    tints what lies under their soft rims, so the layers below are un-tinted there (the tint is
    affine, so un-tinting every layer's colour un-tints their composite) and the rims' colours
    are solved again against what they now cover. Pixels that cannot be un-tinted and belong
    to no element above (one the decomposition left in a lower layer) stay cut out."""
    h, w = image.shape[:2]
    a = band.alpha / 255.0
    colour = band.colour.astype(np.float32) / 255.0
    cut = band.above if band.above is not None else np.zeros((h, w), bool)
    stack = [layer.copy() for layer in layers]
    bare = cut & ~np.any([layer[:, :, 3] > 0 for layer in stack[at:]], axis=0)
    where = np.nonzero(bare)
    loose = np.zeros((h, w), bool)
    raw = _raw(_over_at(stack[:at], where), a, colour)
    loose[where] = ((raw < -RANGE_TOL) | (raw > 1 + RANGE_TOL)).any(axis=1)
    claims = _claims(stack, at, loose)
    stays = dilate(loose & ~np.any(claims, axis=0), 2) & cut
    cut = cut & ~stays
    for layer in stack[:at]:
        layer[cut, :3] = quantise(_raw(layer[cut, :3].astype(np.float32) / 255.0, a, colour))
    top = dataclasses.replace(band, above=stays).layer((h, w))
    stack.insert(at, top)
    claims.insert(at, np.zeros_like(cut))
    tinted = top[:, :, 3] > 0
    for index in range(at + 1, len(stack)):
        layer = stack[index]
        # Its own pixels on the band (its rim reaching into the tint too) and the rim it claims.
        mine = (cut | (tinted & (layer[:, :, 3] > 0))) & ((layer[:, :, 3] > 0) | claims[index])
        for higher in stack[index + 1 :]:
            mine &= higher[:, :, 3] == 0
        if mine.any():
            where = np.nonzero(mine)
            target = image[where][:, :3].astype(np.float32) / 255.0
            pixels = layer[where].astype(np.float32) / 255.0
            layer[where] = quantise(_solve_top(target, _over_at(stack[:index], where), pixels))
    return stack
