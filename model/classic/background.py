"""Completing the background behind foreground pieces.

A smooth model (a low-degree polynomial per channel in x, y) when the visible background
is flat or a gradient, which is what graphic designs mostly have. Under a photo or texture two
fills serve two purposes:
- `inpaint` (OpenCV Telea at a reduced size): a smooth estimate of what lies under the edges of
  the foreground, which soft alphas and edge colours are solved against; a smooth estimate is
  the better guess there, where a textured one would put its grain into the alphas;
- `texture_fill` (`fill.py`, patch-based) with the local shade near the rim
  (`continue_texture`): what the user sees when a foreground layer is moved or hidden, under
  every pixel a piece touches (`texture_under`); soft edges are then unblended against it
  (compose.py), so the composite does not change. Telea alone smears large holes into radial
  streaks.
"""

from __future__ import annotations

import cv2
import numpy as np

from model.classic.fill import fill_hole, push_pull
from model.classic.pieces import Piece, dilate, quantise, resize, working_size

SMOOTH_RMS = 0.012  # a smooth model that fits the visible background this well is used
_INPAINT_SIDE = 384
FILL_SIDE = 1024  # larger pictures are texture-filled at this size and the fill is upsampled
FRINGE = 2  # pixels around the hole not used as a source
SHADE_DEPTH = 12.0  # pixels into a hole over which the surroundings' shade fades out
SHADE_SIGMA = 3.0  # what counts as shade rather than grain (Gaussian sigma, pixels)


def _design_matrix(xs: np.ndarray, ys: np.ndarray, degree: int) -> np.ndarray:
    terms = [xs**i * ys**j for i in range(degree + 1) for j in range(degree + 1 - i)]
    return np.stack(terms, axis=-1).astype(np.float32)


def fit_smooth(
    rgb: np.ndarray, known: np.ndarray, degree: int = 2, samples: int = 20000, seed: int = 0
) -> tuple[np.ndarray, float] | None:
    """Least-squares polynomial colour model of the known pixels: (coefficients, RMS error)."""
    ys, xs = np.nonzero(known)
    if ys.size < 3 * (degree + 1) * (degree + 2) // 2:
        return None
    if ys.size > samples:
        pick = np.random.default_rng(seed).choice(ys.size, samples, replace=False)
        ys, xs = ys[pick], xs[pick]
    h, w = known.shape
    m = _design_matrix(xs / max(w - 1, 1), ys / max(h - 1, 1), degree)
    values = rgb[ys, xs].astype(np.float32)
    coeffs = np.linalg.lstsq(m, values, rcond=None)[0]
    rms = float(np.sqrt(np.mean((m @ coeffs - values) ** 2)))
    return coeffs, rms


def eval_smooth(coeffs: np.ndarray, shape: tuple[int, int], box=None) -> np.ndarray:
    """The polynomial model over the full canvas (or a box of it), HxWx3 float32."""
    h, w = shape
    y0, y1, x0, x1 = box if box is not None else (0, h, 0, w)
    degree = int(round((np.sqrt(8 * coeffs.shape[0] + 1) - 3) / 2))
    xs = np.arange(x0, x1, dtype=np.float64) / max(w - 1, 1)
    ys = np.arange(y0, y1, dtype=np.float64) / max(h - 1, 1)
    # Separable: sum_j y^j (sum_i x^i c_ij), so one matrix product instead of a pass per term.
    rows = np.zeros((degree + 1, xs.size, 3))
    k = 0
    for i in range(degree + 1):
        for j in range(degree + 1 - i):
            rows[j] += xs[:, None] ** i * coeffs[k][None, :]
            k += 1
    powers = ys[:, None] ** np.arange(degree + 1)[None, :]
    out = (powers @ rows.reshape(degree + 1, -1)).reshape(ys.size, xs.size, 3)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def inpaint(rgb: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Telea inpainting of `covered` at a reduced resolution, upsampled to the full size."""
    h, w = covered.shape
    size = working_size(w, h, _INPAINT_SIDE)
    small = resize(rgb, size)
    small_mask = resize(covered.astype(np.float32), size) > 0
    small_mask = dilate(small_mask, 1)
    if small_mask.all():
        fill = np.broadcast_to(rgb.reshape(-1, 3).mean(axis=0), small.shape).astype(np.float32)
    else:
        u8 = quantise(small)
        filled = cv2.inpaint(u8, small_mask.astype(np.uint8), 5, cv2.INPAINT_TELEA)
        fill = filled.astype(np.float32) / 255.0
    return resize(fill, (w, h)).astype(np.float32)


def texture_fill(rgb: np.ndarray, covered: np.ndarray, method: str = "auto") -> np.ndarray:
    """The picture with `covered` filled from its own texture (at most FILL_SIDE pixels on
    the longer side, upsampled for larger pictures). The hole is grown by a few pixels so that
    the foreground's anti-aliased fringe is not copied into the fill."""
    h, w = covered.shape
    size = working_size(w, h, FILL_SIDE)
    small = resize(rgb, size) if size != (w, h) else rgb
    small_hole = resize(covered.astype(np.float32), size) > 0 if size != (w, h) else covered
    fill = fill_hole(small, dilate(small_hole, FRINGE), method=method)
    if size != (w, h):
        fill = resize(fill, (w, h))
    return np.where(covered[:, :, None], fill, rgb).astype(np.float32)


def continue_texture(rgb: np.ndarray, hole: np.ndarray, method: str = "auto") -> np.ndarray:
    """The picture with `hole` filled from the clean pixels around it: texture from patches of
    the picture (never from the hole's anti-aliased rim, see `texture_fill`), and near the rim
    (thin letters are all rim) the local shade of the surroundings, which the copied patches
    carry only by chance."""
    fill = texture_fill(rgb, hole, method)
    depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
    rim = (1.0 - np.clip(depth / SHADE_DEPTH, 0.0, 1.0))[:, :, None]
    shade = inpaint(rgb, dilate(hole, FRINGE)) - cv2.GaussianBlur(fill, (0, 0), SHADE_SIGMA)
    fill = np.clip(fill + rim * shade, 0.0, 1.0)
    return np.where(hole[:, :, None], fill, rgb).astype(np.float32)


def texture_under(rgb: np.ndarray, background: np.ndarray, pieces: list[Piece]) -> np.ndarray:
    """`background` with the texture continued wherever a piece will show (alpha of at least
    2/255, what the layers keep), from the pixels no piece touches; elsewhere unchanged."""
    touched = _touched(rgb.shape[:2], pieces)
    if not touched.any():
        return background
    fill = continue_texture(rgb, touched)
    return np.where(touched[:, :, None], fill, background).astype(np.float32)


def _touched(shape: tuple[int, int], pieces: list[Piece]) -> np.ndarray:
    """Where some piece will show (alpha of at least 2/255, what the layers keep)."""
    touched = np.zeros(shape, bool)
    for piece in pieces:
        y0, y1, x0, x1 = piece.box
        touched[y0:y1, x0:x1] |= piece.alpha >= 1.5 / 255
    return touched


def shade_under(
    rgb: np.ndarray, model: np.ndarray, background: np.ndarray, pieces: list[Piece]
) -> np.ndarray:
    """`background` under the pieces as the smooth `model` plus what the model does not explain
    around them (a shadow or glow that stays in the background, the model's own error there),
    continued inward from clean pixels (not the pieces' anti-aliased rims)."""
    touched = _touched(rgb.shape[:2], pieces)
    if not touched.any() or touched.all():
        return background
    # Push-pull, not Telea: Telea extrapolates gradients, and those of 8-bit rounding noise
    # grew to 6 levels inside a 100 px disc on an exact gradient.
    continued = push_pull(rgb - model, dilate(touched, FRINGE))
    under = np.clip(model + continued, 0.0, 1.0)
    return np.where(touched[:, :, None], under, background).astype(np.float32)


def complete_background(
    rgb: np.ndarray, covered: np.ndarray, smooth: np.ndarray | None = None
) -> np.ndarray:
    """A full background image: the input where visible, a plausible fill under `covered`.

    `smooth` is a precomputed smooth model of the whole canvas, used when given.
    """
    if not covered.any():
        return rgb.astype(np.float32)
    if smooth is None:
        known = ~covered
        fit = fit_smooth(rgb, known) if known.any() else None
        if fit is not None and fit[1] <= SMOOTH_RMS:
            smooth = eval_smooth(fit[0], covered.shape)
    fill = smooth if smooth is not None else inpaint(rgb, covered)
    return np.where(covered[:, :, None], fill, rgb).astype(np.float32)
