"""Turn a completed background and foreground pieces into layers that composite exactly.

Alphas are fixed first (quantised to uint8). Bottom up, each piece keeps its intended
colour where a higher piece shows over it; where it is the topmost piece, its colour is
solved from the input, F = (I - (1 - a) * C_below) / a, and where that colour would leave
[0, 1] its alpha is raised just enough. The background takes the input's own pixels where no
piece covers them. So the straight "over" composite equals the input up to uint8 rounding,
and no layer is more opaque than the input anywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from model.classic.pieces import Piece, crop, quantise

_MIN_ALPHA = 2  # alphas below this (of 255) are dropped: they carry no visible colour
SMOOTH_SPREAD = 0.01  # how far off a smooth background model may be under an element
BUSY_SPREAD = 0.03  # ... a texture or photo continued under it
FG_SPREAD = {"text": 0.02, "shape": 0.02}  # how far off an element's own colour may be
PICTURE_SPREAD = 0.1  # ... a picture's, extended to its edge
EXACT_MARGIN = 0.45  # of an 8-bit level: how far a layer may move the composite before rounding


def required_alpha(target: np.ndarray, below: np.ndarray) -> np.ndarray:
    """Smallest alpha with which some colour in [0, 1] turns `below` into `target` (opaque)."""
    diff = target - below
    up = np.where(diff > 0, diff / np.maximum(1.0 - below, 1e-6), 0.0)
    down = np.where(diff < 0, -diff / np.maximum(below, 1e-6), 0.0)
    return np.clip(np.maximum(up, down).max(axis=-1), 0.0, 1.0)


def closest_exact(
    solved: np.ndarray, intended: np.ndarray, alpha: np.ndarray, opaque: np.ndarray
) -> np.ndarray:
    """The 8-bit colour nearest the piece's `intended` colour that still reproduces the input.

    Over an opaque composite, colour F at alpha a changes the result by a * dF, so any F within
    (0.5 / 255) / a of the exact solution rounds to the same pixel: at a soft edge (small a)
    that leaves room to keep the element's own colour instead of the 8-bit noise of the exact
    solve (a solved edge pixel of alpha 2/255 may be off by a quarter of the range). Where the
    input is not opaque the exact solution is kept. Values are multiples of 1/255."""
    exact = np.clip(solved, 0.0, 1.0)
    rounded = np.rint(exact * 255.0)
    reach = EXACT_MARGIN / np.maximum(alpha, 1e-6)[:, None]  # in 8-bit levels
    lo = np.ceil(solved * 255.0 - reach - 1e-4)
    hi = np.floor(solved * 255.0 + reach + 1e-4)
    lo, hi = np.maximum(lo, 0.0), np.minimum(hi, 255.0)
    wanted = np.clip(np.rint(np.clip(intended, 0.0, 1.0) * 255.0), lo, hi)
    usable = (lo <= hi) & opaque[:, None]
    return (np.where(usable, wanted, rounded) / 255.0).astype(np.float32)


def _bleed(rgb: np.ndarray, box, shape: tuple[int, int]) -> np.ndarray:
    """The box's colours extended to the whole canvas by repeating its edge pixels.

    Colour under zero alpha is invisible, but an editor that resamples a straight-alpha
    layer (scaling it) mixes it in at the edges; the layer's own colour avoids dark fringes.
    """
    y0, y1, x0, x1 = box
    h, w = shape
    return cv2.copyMakeBorder(rgb, y0, h - y1, x0, w - x1, cv2.BORDER_REPLICATE)


def unblend(
    target: np.ndarray,
    alpha: np.ndarray,
    fg: np.ndarray,
    bg: np.ndarray,
    fg_spread: np.ndarray | float,
    bg_spread: float,
) -> np.ndarray:
    """The background under soft pixels (N x 3) that, with the element's colour, explains them.

    A soft pixel is I = a F + (1 - a) B. With guesses F0 (the element's own colour) and B0 (the
    background continued from around it) the residual r = I - a F0 - (1 - a) B0 is shared out
    as the most likely correction of the two, each trusted by its spread: B moves by
    (1 - a) sB^2 r / (a^2 sF^2 + (1 - a)^2 sB^2). Faint pixels are mostly background, so they
    tell what the background is there; nearly opaque ones keep the continued background. The
    element's colour is then solved exactly from this background (compose_layers)."""
    a = alpha[:, None]
    sf2 = np.square(fg_spread)
    sf2 = sf2[:, None] if np.ndim(sf2) else sf2
    sb2 = bg_spread**2
    residual = target - a * fg - (1.0 - a) * bg
    weight = (1.0 - a) * sb2 / np.maximum(a * a * sf2 + (1.0 - a) ** 2 * sb2, 1e-12)
    return np.clip(bg + weight * residual, 0.0, 1.0).astype(np.float32)


def compose_layers(
    rgb: np.ndarray,
    alpha_in: np.ndarray,
    background: np.ndarray,
    pieces: list[Piece],
    check: Callable[[], None] = lambda: None,
    bg_spread: float = SMOOTH_SPREAD,
) -> list[np.ndarray]:
    """Full-canvas straight RGBA uint8 layers, background first, then `pieces` in order.

    rgb, background: HxWx3 float32 in [0, 1]; alpha_in: HxW float32 in [0, 1]. `background`
    under the pieces is the background continued from its clean parts; `bg_spread` says how far
    off that guess may be (larger on textures and photos). Under a soft edge of one piece the
    background is unblended from the pixel (`unblend`).
    """
    h, w = alpha_in.shape
    a_in_q = quantise(alpha_in)
    a_in = a_in_q.astype(np.float32) / 255.0
    target = rgb.astype(np.float32)
    opaque_in = a_in_q == 255

    # Quantised alphas, never above the input's own alpha.
    alphas: list[np.ndarray] = []
    top = np.zeros((h, w), np.int16)
    for index, piece in enumerate(pieces, start=1):
        aq = np.minimum(quantise(piece.alpha), crop(a_in_q, piece.box))
        aq[aq < _MIN_ALPHA] = 0
        alphas.append(aq)
        region = crop(top, piece.box)
        region[aq > 0] = index

    # Where the input is partly transparent only the topmost piece keeps its alpha there.
    if not opaque_in.all():
        for index, (piece, aq) in enumerate(zip(pieces, alphas), start=1):
            lower_than_top = (crop(top, piece.box) != index) & ~crop(opaque_in, piece.box)
            aq[lower_than_top] = 0

    # Background: the input where nothing covers it, the completed background elsewhere, and
    # under the soft edge of a single piece what the pixel says is there.
    covered = top > 0
    bg_rgb = np.where(covered[:, :, None], background, target)
    _unblend_edges(bg_rgb, target, pieces, alphas, opaque_in, bg_spread)
    bg_a = a_in.copy()
    if covered.any():
        top_alpha = np.zeros((h, w), np.float32)
        for index, (piece, aq) in enumerate(zip(pieces, alphas), start=1):
            region = crop(top_alpha, piece.box)
            mine = crop(top, piece.box) == index
            region[mine] = aq[mine] / 255.0
        need = 1.0 - (1.0 - a_in) / np.maximum(1.0 - top_alpha, 1e-6)
        bg_a = np.where(covered & ~opaque_in, np.clip(need, 0.0, 1.0), bg_a)
    bg_layer = np.dstack([quantise(bg_rgb), quantise(bg_a)])

    # Running composite, premultiplied, from the quantised layers.
    comp_a = bg_layer[:, :, 3].astype(np.float32) / 255.0
    comp_p = bg_layer[:, :, :3].astype(np.float32) / 255.0 * comp_a[:, :, None]
    layers = [bg_layer]
    for index, (piece, aq) in enumerate(zip(pieces, alphas), start=1):
        check()
        y0, y1, x0, x1 = piece.box
        a = aq.astype(np.float32) / 255.0
        colour = np.clip(piece.colour, 0.0, 1.0).astype(np.float32)
        mine = (crop(top, piece.box) == index) & (aq > 0)
        cp = comp_p[y0:y1, x0:x1]
        if mine.any():
            t_p = target[y0:y1, x0:x1][mine] * a_in[y0:y1, x0:x1][mine][:, None]
            am = a[mine]
            below_p = cp[mine]
            opaque = opaque_in[y0:y1, x0:x1][mine]
            solved = (t_p - (1.0 - am)[:, None] * below_p) / am[:, None]
            bad = ((solved < -0.5 / 255) | (solved > 1.0 + 0.5 / 255)).any(axis=1)
            if bad.any():
                # Opaque input: the composite below is opaque, so raise alpha just enough.
                fix = bad & opaque
                if fix.any():
                    need = required_alpha(t_p[fix], below_p[fix])
                    raised = np.maximum(am[fix], np.ceil(need * 255.0 - 1e-4) / 255.0)
                    am[fix] = raised
                    solved[fix] = (t_p[fix] - (1.0 - raised)[:, None] * below_p[fix]) / raised[
                        :, None
                    ]
                # Transparent input: this piece alone carries the pixel; clear the background.
                alone = bad & ~opaque
                if alone.any():
                    am[alone] = a_in[y0:y1, x0:x1][mine][alone]
                    solved[alone] = target[y0:y1, x0:x1][mine][alone]
                    ys, xs = np.nonzero(mine)
                    by, bx = ys[alone] + y0, xs[alone] + x0
                    layers[0][by, bx, 3] = 0
                    below_p[alone] = 0.0
                    cp_view = comp_p[y0:y1, x0:x1]
                    ca_view = comp_a[y0:y1, x0:x1]
                    sub_p = cp_view[mine]
                    sub_a = ca_view[mine]
                    sub_p[alone] = 0.0
                    sub_a[alone] = 0.0
                    cp_view[mine] = sub_p
                    ca_view[mine] = sub_a
                a[mine] = am
                aq[mine] = np.clip(np.rint(am * 255.0), 0, 255).astype(np.uint8)
                a = aq.astype(np.float32) / 255.0
                am = a[mine]
            colour[mine] = closest_exact(solved, colour[mine], am, opaque)
        layer = np.zeros((h, w, 4), np.uint8)
        layer[:, :, :3] = _bleed(quantise(colour), piece.box, (h, w))
        layer[y0:y1, x0:x1, 3] = aq
        layers.append(layer)
        fq = layer[y0:y1, x0:x1, :3].astype(np.float32) / 255.0
        comp_p[y0:y1, x0:x1] = a[:, :, None] * fq + (1.0 - a[:, :, None]) * comp_p[y0:y1, x0:x1]
        comp_a[y0:y1, x0:x1] = a + (1.0 - a) * comp_a[y0:y1, x0:x1]
    return layers


def _unblend_edges(
    bg_rgb: np.ndarray,
    target: np.ndarray,
    pieces: list[Piece],
    alphas: list[np.ndarray],
    opaque_in: np.ndarray,
    bg_spread: float = SMOOTH_SPREAD,
) -> None:
    """`unblend` in place, where exactly one piece covers an opaque pixel with 0 < alpha < 1."""
    h, w = opaque_in.shape
    count = np.zeros((h, w), np.uint8)
    for piece, aq in zip(pieces, alphas):
        crop(count, piece.box)[aq > 0] += 1
    for piece, aq in zip(pieces, alphas):
        soft = (aq > 0) & (aq < 255) & (crop(count, piece.box) == 1) & crop(opaque_in, piece.box)
        if not soft.any():
            continue
        y0, _, x0, _ = piece.box
        ys, xs = np.nonzero(soft)
        ys, xs = ys + y0, xs + x0
        spread = FG_SPREAD.get(piece.kind, PICTURE_SPREAD)
        bg_rgb[ys, xs] = unblend(
            target[ys, xs],
            aq[soft].astype(np.float32) / 255.0,
            np.clip(piece.colour[soft], 0.0, 1.0),
            bg_rgb[ys, xs],
            spread,
            bg_spread,
        )


def composite(layers: list[np.ndarray]) -> np.ndarray:
    """Straight "over" of full-canvas RGBA uint8 layers (bottom first) -> RGBA float32 [0, 1]."""
    h, w = layers[0].shape[:2]
    out_p = np.zeros((h, w, 3), np.float32)
    out_a = np.zeros((h, w), np.float32)
    for layer in layers:
        a = layer[:, :, 3].astype(np.float32) / 255.0
        out_p = (
            a[:, :, None] * (layer[:, :, :3].astype(np.float32) / 255.0)
            + (1.0 - a[:, :, None]) * out_p
        )
        out_a = a + (1.0 - a) * out_a
    rgb = np.where(out_a[:, :, None] > 0, out_p / np.maximum(out_a, 1e-8)[:, :, None], 0.0)
    return np.dstack([rgb, out_a])
