"""Device choice (CUDA, then MPS, then CPU), memory modes, and freeing accelerator memory."""

from __future__ import annotations

import gc
from dataclasses import dataclass

from model.base import DecomposeError

OFFLOAD_MODES = ("none", "model", "sequential")
CPU_WARNING = (
    "running Qwen-Image-Layered on the CPU: expect hours per image and ~60 GB of RAM; "
    "a CUDA or Apple MPS GPU is strongly recommended"
)
_MIB, _GIB = 1024**2, 1024**3
# GPU memory a run needs on top of the weights grows with the image tokens (`image_tokens`).
# Measured by benchmarks/bench_qwen.py on an H200 (bf16, 4 layers, full-size random weights):
# whole pipeline on the GPU, peak minus weights 6.6 GiB at 640 (9,600 tokens) and 16.7 GiB at
# 1024 (24,576 tokens), the VAE's encode/decode being the largest part; with model offload the
# transformer's own share was 1.2 and 2.5 GiB. Per token, rounded up, plus a fixed margin for
# the CUDA context and the allocator's fragmentation.
_RUN_BYTES_PER_TOKEN = int(0.75 * _MIB)
_TRANSFORMER_BYTES_PER_TOKEN = int(0.13 * _MIB)
_MARGIN = 2 * _GIB


def torch_module():  # noqa: ANN201 - torch is optional
    import torch

    return torch


def gpu_kind() -> str | None:
    """'cuda', 'mps' or None, without raising when torch is missing or broken."""
    try:
        torch = torch_module()
    except Exception:  # noqa: BLE001 - a missing or broken torch means no GPU for us
        return None
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return None


def pick_device(requested: str = "auto") -> tuple[str, list[str]]:
    """The device to run on and any warnings; a requested device that is absent is an error."""
    requested = (requested or "auto").lower()
    found = gpu_kind()
    if requested == "auto":
        if found:
            return found, []
        return "cpu", [CPU_WARNING]
    if requested == "cpu":
        return "cpu", [CPU_WARNING]
    if requested in ("cuda", "mps"):
        if found != requested:
            raise DecomposeError(
                f"--device {requested} was asked for but no {requested.upper()} GPU is usable "
                f"here ({'found ' + found if found else 'none found'}); use --device auto"
            )
        return requested, []
    raise DecomposeError(f"unknown device '{requested}'; choose auto, cuda, mps or cpu")


@dataclass(frozen=True)
class MemoryPlan:
    offload: str  # none | model | sequential
    reason: str


def free_gpu_bytes() -> int | None:
    torch = torch_module()
    if torch.cuda.is_available():
        free, _total = torch.cuda.mem_get_info()
        return int(free)
    return None


def image_tokens(layers: int, width: int, height: int) -> int:
    """Tokens the transformer attends over, one per 16x16 pixels of each frame: the pipeline's
    latents hold the composite and each layer, and the input's latents are joined to them."""
    return (layers + 2) * (width // 16) * (height // 16)


def plan_memory(
    requested: str,
    device: str,
    model_bytes: int,
    largest_component: int,
    tokens: int,
    free: int | None = None,
) -> MemoryPlan:
    """Resolve --offload: `auto` keeps everything on the GPU when it fits, else offloads."""
    requested = (requested or "auto").lower()
    if requested not in ("auto", *OFFLOAD_MODES):
        raise DecomposeError(
            f"unknown offload mode '{requested}'; choose auto, none, model or sequential"
        )
    if device != "cuda":
        # MPS shares system memory and CPU offload moves nothing useful on the CPU.
        return MemoryPlan("none", f"no offload on {device}")
    if requested != "auto":
        return MemoryPlan(requested, "as asked")
    if free is None:
        free = free_gpu_bytes() or 0
    run = tokens * _RUN_BYTES_PER_TOKEN + _MARGIN
    whole = model_bytes + run
    if free >= whole:
        return MemoryPlan(
            "none",
            f"the whole model and this run ({whole / _GIB:.1f} GiB) fit in "
            f"{free / _GIB:.1f} GiB free",
        )
    # With model offload one component is on the GPU at a time: the transformer while it
    # denoises, the VAE (small weights, large activations) while it encodes and decodes.
    one_part = max(largest_component + tokens * _TRANSFORMER_BYTES_PER_TOKEN + _MARGIN, run)
    if free >= one_part:
        return MemoryPlan(
            "model",
            f"{free / _GIB:.1f} GiB free holds the largest part and its work "
            f"({one_part / _GIB:.1f} GiB) but not the whole model ({whole / _GIB:.1f} GiB): "
            "model CPU offload",
        )
    reason = f"only {free / _GIB:.1f} GiB free: sequential CPU offload (slow, but fits small GPUs)"
    if free < run:
        reason += (
            f"; this run may still need ~{run / _GIB:.1f} GiB, so lower the resolution or the "
            "layer count if it runs out of memory"
        )
    return MemoryPlan("sequential", reason)


def free_memory() -> None:
    """Return cached accelerator memory after a run, a cancel or a failure."""
    gc.collect()
    try:
        torch = torch_module()
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.ipc_collect()
    backend = getattr(torch.backends, "mps", None)
    if backend is not None and backend.is_available():
        torch.mps.empty_cache()
