"""The decomposer interface every backend implements, and the types it exchanges.

A decomposer turns one RGBA image into layers (index 0 = bottom), full canvas,
straight-alpha RGBA uint8, at the input's own size, whose "over" composite reproduces it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from model.text_spec import TextSpec


class DecomposeError(Exception):
    """A failure a user can act on; the message is one sentence saying what to do."""


class Cancelled(Exception):
    """The run was cancelled; nothing was produced."""


class CancelToken:
    """A flag the caller sets from any thread; backends poll it and stop promptly."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("decomposition cancelled")


@dataclass(frozen=True)
class Progress:
    phase: str  # "loading", "captioning", "denoising", "decoding", "segmenting", ...
    step: int = 0
    total: int = 0
    message: str = ""


ProgressCallback = Callable[[Progress], None]


@dataclass
class DecomposeOptions:
    layers: int | None = None  # None = the backend picks ("auto")
    prompt: str | None = None  # None or "" = caption the image automatically (qwen)
    seed: int | None = None
    # qwen-only; defaults are the paper's official call
    resolution: int = 640
    steps: int = 50
    cfg: float = 4.0
    negative_prompt: str = " "
    cfg_normalize: bool = True
    use_en_prompt: bool = True
    model: str | None = None  # Hub id or local folder
    device: str = "auto"  # auto | cuda | mps | cpu
    offload: str = "auto"  # auto | none | model | group | sequential
    quality: str = "exact"  # exact (the paper's call) | fast (step caching) | draft (previews)
    weights_dtype: str = "auto"  # auto | bf16 | fp8 | int8 | nf4, or transformer=X,text_encoder=Y
    names: bool = True  # qwen: name the layers with the text encoder
    # auto: backends whose layers are not exact at the input's size (qwen) refine them
    # against the input (model/refine); off: they only resize them
    refine: str = "auto"
    # classic: the learned layer prior (model/prior); auto = on when its manifest says it won
    # on the held-out sets, on = always, off = classic's own heuristics only
    prior: str = "auto"


@dataclass
class DecomposedLayer:
    rgba: np.ndarray  # HxWx4 uint8, straight alpha, full input canvas
    name: str
    text: TextSpec | None = None  # set when the layer is live text (the pixels are its render)


@dataclass
class DecomposeResult:
    layers: list[DecomposedLayer]  # bottom first
    backend: str
    device: str = "cpu"
    caption: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # PSNR (dB, 100 = exact) of the layers' composite against the input, when measured
    reconstruction_db: float | None = None


REFINE_MODES = ("auto", "off")


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str  # why it can or cannot run here, one sentence


class Decomposer(Protocol):
    name: str
    description: str

    def availability(self, options: DecomposeOptions | None = None) -> Availability: ...

    def decompose(
        self,
        rgba: np.ndarray,
        options: DecomposeOptions,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> DecomposeResult: ...


def as_rgba(image: np.ndarray) -> np.ndarray:
    """Validate and normalise a decomposer input to HxWx4 uint8."""
    if image.ndim == 2:
        image = np.stack([image] * 3 + [np.full_like(image, 255)], axis=-1)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise DecomposeError(f"expected an RGB or RGBA image, got an array of shape {image.shape}")
    if image.dtype != np.uint8:
        raise DecomposeError(f"expected 8-bit pixels, got {image.dtype}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise DecomposeError(
            f"the image is {image.shape[1]}x{image.shape[0]} pixels; at least 2x2 is needed"
        )
    if image.shape[2] == 3:
        image = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    return np.ascontiguousarray(image)
