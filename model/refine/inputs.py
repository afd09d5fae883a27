"""Checking and normalising what refinement is given: the picture and a layer stack.

The picture is RGBA (or RGB, or grayscale) uint8 at full resolution. The layers are RGBA,
straight alpha, uint8 or float in [0, 1] (the qwen pipeline's frames), bottom first, each
of any size whose aspect ratio could have come from the picture's by the model's 32 px
bucket rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BUCKET_STEP = 32  # the pipeline rounds each side of its working size to a multiple of this
MIN_SIDE = 2


class RefineError(ValueError):
    """Refinement cannot run on these inputs; the message is one sentence."""


def picture_rgba(picture: np.ndarray) -> np.ndarray:
    """HxWx4 uint8 from a grayscale, gray+alpha, RGB or RGBA uint8 array."""
    picture = np.asarray(picture)
    if picture.dtype != np.uint8:
        raise RefineError(f"the picture must have 8-bit pixels, not {picture.dtype}")
    if picture.ndim == 2:
        picture = picture[:, :, None]
    if picture.ndim != 3 or picture.shape[2] not in (1, 2, 3, 4):
        raise RefineError(f"the picture must be an image, not an array of shape {picture.shape}")
    height, width, channels = picture.shape
    if min(height, width) < MIN_SIDE:
        raise RefineError(
            f"the picture is {width}x{height} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed"
        )
    if channels == 4:
        return np.ascontiguousarray(picture)
    out = np.empty((height, width, 4), np.uint8)
    if channels <= 2:
        out[:, :, :3] = picture[:, :, :1]
    else:
        out[:, :, :3] = picture
    out[:, :, 3] = picture[:, :, 1] if channels == 2 else 255
    return out


def layer_array(layer: np.ndarray, index: int) -> np.ndarray:
    """One layer as HxWx4, uint8 or float32 in [0, 1] (NaN refused)."""
    layer = np.asarray(layer)
    if layer.ndim != 3 or layer.shape[2] != 4:
        raise RefineError(f"layer {index} is not an RGBA image (array of shape {layer.shape})")
    if min(layer.shape[:2]) < MIN_SIDE:
        raise RefineError(
            f"layer {index} is {layer.shape[1]}x{layer.shape[0]} pixels, too small to scale "
            f"to the picture; a layer needs at least {MIN_SIDE}x{MIN_SIDE}"
        )
    if layer.dtype == np.uint8:
        return layer
    if not np.issubdtype(layer.dtype, np.floating):
        raise RefineError(f"layer {index} has {layer.dtype} pixels; uint8 or float is needed")
    layer = layer.astype(np.float32, copy=False)
    if not np.isfinite(layer).all():
        raise RefineError(f"layer {index} holds invalid values (NaN or infinity)")
    return np.clip(layer, 0.0, 1.0)


def aspect_matches(layer_size: tuple[int, int], picture_size: tuple[int, int]) -> bool:
    """Whether a (width, height) layer could be the picture at some scale with each side
    rounded to the bucket step: some scale s puts both |w - W*s| and |h - H*s| within half a
    step, plus a pixel for the rounding of the sizes themselves."""
    w, h = layer_size
    big_w, big_h = picture_size
    slack = BUCKET_STEP / 2 + 1
    low = max((w - slack) / big_w, (h - slack) / big_h)
    high = min((w + slack) / big_w, (h + slack) / big_h)
    return low <= high


def check_stack(layers: Sequence[np.ndarray], picture_size: tuple[int, int]) -> list[np.ndarray]:
    """The layers validated (see `layer_array`) with aspect ratios that fit the picture."""
    if len(layers) == 0:
        raise RefineError("there are no layers to refine")
    out = [layer_array(layer, i) for i, layer in enumerate(layers)]
    width, height = picture_size
    for i, layer in enumerate(out):
        size = (layer.shape[1], layer.shape[0])
        if not aspect_matches(size, picture_size):
            raise RefineError(
                f"layer {i} is {size[0]}x{size[1]} but the picture is {width}x{height}: their "
                f"aspect ratios differ by more than the model's {BUCKET_STEP} px rounding"
            )
    return out
