"""Refinement applied to a decomposer's result, and its reconstruction measured."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from model.base import DecomposedLayer, DecomposeError, DecomposeResult
from model.refine.inputs import RefineError
from model.refine.quality import stack_psnr


def refined_layers(
    picture: np.ndarray,
    frames: Sequence[np.ndarray],
    names: Sequence[str],
    timings: dict[str, float],
    check: Callable[[], None] | None = None,
) -> tuple[list[DecomposedLayer], float]:
    """A model's frames (any size, float or uint8 RGBA) refined against the input picture:
    the layers at the picture's size and the reconstruction PSNR. Adds timings["refine"]."""
    from model.refine.core import refine_layers  # numba: loaded on first use

    started = time.perf_counter()
    try:
        refined = refine_layers(picture, frames, check=check)
    except RefineError as exc:
        raise DecomposeError(f"the layers could not be refined: {exc}") from None
    timings["refine"] = time.perf_counter() - started
    layers = [DecomposedLayer(rgba, name) for rgba, name in zip(refined.layers, names)]
    return layers, refined.report.psnr_db


def measure(result: DecomposeResult, picture: np.ndarray) -> DecomposeResult:
    """Fill in the result's reconstruction PSNR against the input, if the backend did not."""
    if result.reconstruction_db is None and result.layers:
        arrays = [layer.rgba for layer in result.layers]
        if all(a.shape == picture.shape and a.dtype == np.uint8 for a in arrays):
            result.reconstruction_db = stack_psnr(picture, arrays)
    return result


def describe(result: DecomposeResult) -> str:
    """'reconstruction 100 dB (exact); refined to full resolution in 0.41 s', for the CLI's
    notes and the editor's status bar."""
    db = result.reconstruction_db
    if db is None:
        text = "reconstruction not measured"
    elif db >= 100:
        text = "reconstruction exact (100 dB)"
    else:
        text = f"reconstruction {db:.1f} dB"
    if "refine" in result.timings:
        text += f"; refined to full resolution in {result.timings['refine']:.2f} s"
    return text
