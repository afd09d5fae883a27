"""Classic's use of the learned prior: take a full-canvas tint or fade off before decomposing.

When the prior (`model.prior`) finds a full-canvas overlay it trusts, the picture is un-tinted
(below = (picture - a T) / (1 - a)), the rest is decomposed by classic as usual, and the overlay
goes on top as its own layer, its colour solved per pixel against the layers below so that the
stack reproduces the picture (the alpha is raised where an un-tinted value would leave [0, 1]:
something lying above the overlay). Anything doubtful keeps classic's own answer: no overlay
found, too much of the picture out of range once un-tinted, or a stack that does not reproduce
the picture. Missing or unreadable weights give one warning and classic's own answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

import numpy as np

from model.base import DecomposedLayer, DecomposeOptions, DecomposeResult
from model.classic.compose import closest_exact, composite, required_alpha
from model.classic.naming import unique_names
from model.classic.pieces import quantise
from model.prior import runtime
from model.prior.overlay import find_overlay

MAX_OUT_OF_RANGE = 0.08  # share of pixels that cannot be un-tinted (elements above the overlay)
RANGE_TOL = 0.02
EXACT_PSNR = 45.0
MIN_SIDE = 64  # smaller pictures are not searched for overlays

Decompose = Callable[[np.ndarray, DecomposeOptions], DecomposeResult]


def _psnr(layers: list[np.ndarray], rgb: np.ndarray) -> float:
    error = composite(layers)[:, :, :3] - rgb
    mse = float(np.mean(error**2))
    return 100.0 if mse == 0 else float(10 * np.log10(1.0 / mse))


def _overlay_layer(
    rgb: np.ndarray, under: np.ndarray, alpha: np.ndarray, colour: np.ndarray
) -> np.ndarray:
    """The overlay's RGBA uint8 layer over `under` (float RGB) that reproduces `rgb`: its alpha
    where that suffices, raised where the picture cannot be reached with it; its colour the
    8-bit value nearest the overlay's that rounds to the picture."""
    h, w = alpha.shape
    target, below = rgb.reshape(-1, 3), under.reshape(-1, 3)
    a = np.maximum(np.rint(alpha.reshape(-1) * 255.0) / 255.0, required_alpha(target, below))
    a = np.ceil(a * 255.0 - 1e-6) / 255.0
    solved = (target - (1.0 - a[:, None]) * below) / np.maximum(a[:, None], 1e-6)
    intended = np.broadcast_to(colour.astype(np.float32), solved.shape)
    fitted = closest_exact(solved, intended, a, np.ones(a.shape, bool))
    fitted = np.where(a[:, None] > 0, fitted, 0.0)
    out = np.concatenate([fitted, a[:, None]], axis=1).reshape(h, w, 4)
    return quantise(out)


class MapSource(Protocol):
    def predict(self, rgb: np.ndarray) -> np.ndarray: ...


def candidate(prior: MapSource, rgb: np.ndarray):
    """(overlay, alpha HxW, colour, un-tinted picture) when the prior sees a full-canvas
    overlay that the picture can be un-tinted by, else None."""
    overlay = find_overlay(prior.predict(rgb))
    if overlay is None:
        return None
    colour = quantise(overlay.colour).astype(np.float32) / 255.0
    alpha = np.rint(overlay.alpha(rgb.shape[:2]) * 255.0) / 255.0
    raw = (rgb - alpha[..., None] * colour) / np.maximum(1.0 - alpha[..., None], 1e-6)
    outside = ((raw < -RANGE_TOL) | (raw > 1 + RANGE_TOL)).any(axis=2)
    if outside.mean() > MAX_OUT_OF_RANGE:
        return None
    return overlay, alpha, colour, raw


def with_prior(
    image: np.ndarray,
    options: DecomposeOptions,
    decompose: Decompose,
    prior: MapSource | None = None,
) -> DecomposeResult:
    """Classic's result using the prior where it is confident, else classic's own (with a
    warning when the prior could not be loaded). `decompose(picture, options)` runs classic;
    `prior` replaces the shipped network (benchmarks/eval_prior.py --oracle: the true maps)."""
    warnings: list[str] = []
    plain = dataclasses.replace(options, prior="off")
    if options.layers != 1 and min(image.shape[:2]) >= MIN_SIDE and image[:, :, 3].min() == 255:
        rgb = image[:, :, :3].astype(np.float32) / 255.0
        result = split(image, rgb, options, decompose, warnings, prior)
        if result is not None:
            return result
    result = decompose(image, plain)
    result.warnings = warnings + result.warnings
    return result


def split(
    image: np.ndarray,
    rgb: np.ndarray,
    options: DecomposeOptions,
    decompose: Decompose,
    warnings: list[str],
    prior: MapSource | None = None,
) -> DecomposeResult | None:
    """Classic's result with a full-canvas overlay taken off by the prior, or None (use
    classic's own answer). `decompose` runs classic on the un-tinted picture."""
    try:
        prior = prior or runtime.load()
    except runtime.PriorUnavailable as exc:
        warnings.append(f"{exc}; classic continues without the layer prior")
        return None
    found = candidate(prior, rgb)
    if found is None:
        return None
    overlay, alpha, colour, raw = found
    below = np.dstack([quantise(np.clip(raw, 0.0, 1.0)), image[:, :, 3]])
    n = options.layers
    inner = dataclasses.replace(options, prior="off", layers=None if n is None else n - 1)
    result = decompose(below, inner)
    stack = [layer.rgba for layer in result.layers]
    top = _overlay_layer(rgb, composite(stack)[:, :, :3], alpha, colour)
    stack.append(top)
    if _psnr(stack, rgb) < EXACT_PSNR:
        return None
    names = unique_names([layer.name for layer in result.layers] + ["Overlay"])
    result.layers = [
        DecomposedLayer(rgba, name, getattr(old, "text", None))
        for rgba, name, old in zip(stack, names, result.layers + [None])
    ]
    result.warnings = warnings + result.warnings
    result.timings["prior confidence"] = round(overlay.confidence, 3)
    return result
