"""A "simulated model output": ground-truth layers degraded the way a decomposition model
degrades them, to measure what refinement brings back (issue 14).

The model works at a bucket of about 640x640 (each side a multiple of 32); its layers come
back at that size with their colours drifted by up to a couple of percent (the RGBA-VAE's
reconstruction and the diffusion) and slightly soft alpha. `degrade` does the same to the
true layers: premultiplied area downscale to the bucket, a Gaussian softening of 0.7 bucket
pixels, then per layer a colour offset of up to +-2 % per channel plus a smooth +-1 % field.
`upscale` replaces the bucket by the picture's size divided by that factor (sides still
rounded to 32 px), so that the benchmark's 512 px pictures stand in for 2000-4000 px photos
at the real bucket: what matters to refinement is the enlargement, not the absolute size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

BUCKET_STEP = 32


@dataclass(frozen=True)
class Degradation:
    resolution: int = 640  # the model's bucket: about resolution^2 pixels
    upscale: float | None = None  # instead: the picture's sides divided by this
    drift: float = 0.02  # colour offset per layer and channel, uniform in +-drift
    field: float = 0.01  # plus a smooth field in +-field
    soft: float = 0.7  # alpha (and colour with it) softened by this sigma, bucket pixels

    def label(self) -> str:
        where = f"{self.upscale:g}x enlargement" if self.upscale else f"{self.resolution} bucket"
        return f"simulated model output ({where}, drift {self.drift:g}, soft {self.soft:g})"


def bucket(width: int, height: int, degradation: Degradation) -> tuple[int, int]:
    """The model's working size for a picture, as the pipeline computes it (each side a
    multiple of 32 at about resolution^2 pixels), or for `upscale`, the picture's size
    divided by it."""
    if degradation.upscale:
        area = width * height / degradation.upscale**2
    else:
        area = float(degradation.resolution**2)
    ratio = width / height
    w = math.sqrt(area * ratio)
    h = w / ratio
    return (
        max(BUCKET_STEP, round(w / BUCKET_STEP) * BUCKET_STEP),
        max(BUCKET_STEP, round(h / BUCKET_STEP) * BUCKET_STEP),
    )


def degrade(
    layers: Sequence[np.ndarray], degradation: Degradation, rng: np.random.Generator
) -> list[np.ndarray]:
    """The layers (uint8 RGBA, full size) as the model would return them: float32 RGBA in
    [0, 1], straight alpha, at the bucket size."""
    height, width = layers[0].shape[:2]
    size = bucket(width, height, degradation)
    out = []
    for layer in layers:
        rgba = layer.astype(np.float32) / 255
        premul = rgba.copy()
        premul[:, :, :3] *= rgba[:, :, 3:]
        shrinking = size[0] * size[1] < width * height
        method = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
        premul = cv2.resize(premul, size, interpolation=method)
        if degradation.soft > 0:
            premul = cv2.GaussianBlur(premul, (0, 0), degradation.soft)
        premul = np.clip(premul, 0.0, 1.0)
        alpha = premul[:, :, 3:]
        colour = np.where(alpha > 1e-4, premul[:, :, :3] / np.maximum(alpha, 1e-4), 0.0)
        offset = rng.uniform(-degradation.drift, degradation.drift, 3)
        coarse = rng.uniform(-degradation.field, degradation.field, (3, 3, 3))
        smooth = cv2.resize(coarse.astype(np.float32), size, interpolation=cv2.INTER_CUBIC)
        colour = np.clip(colour + offset.astype(np.float32) + smooth, 0.0, 1.0)
        out.append(np.concatenate([colour, alpha], axis=2).astype(np.float32))
    return out


def naive_resize(layers: Sequence[np.ndarray], width: int, height: int) -> list[np.ndarray]:
    """What `qwen` did before refinement: each layer resized on its own (premultiplied
    Lanczos), model/qwen/resample.py."""
    from model.qwen.resample import resize_layer

    return [resize_layer(layer, width, height) for layer in layers]
