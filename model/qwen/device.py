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
# Room left for activations, the VAE decode and the CUDA context on top of the weights (bytes).
_HEADROOM = 6 * 1024**3


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


def plan_memory(
    requested: str, device: str, model_bytes: int, largest_component: int, free: int | None = None
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
    gib = 1024**3
    if free >= model_bytes + _HEADROOM:
        return MemoryPlan(
            "none",
            f"the whole model ({model_bytes / gib:.1f} GiB) fits in {free / gib:.1f} GiB free",
        )
    if free >= largest_component + _HEADROOM:
        return MemoryPlan(
            "model",
            f"{free / gib:.1f} GiB free holds the largest part ({largest_component / gib:.1f} GiB) "
            "but not the whole model: model CPU offload",
        )
    return MemoryPlan(
        "sequential",
        f"only {free / gib:.1f} GiB free: sequential CPU offload (slow, but fits small GPUs)",
    )


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
