"""Device choice (CUDA, then MPS, then CPU), memory modes, and freeing accelerator memory."""

from __future__ import annotations

import gc
import os

from model.base import DecomposeError
from model.qwen.plan import Machine, gpu_speed

CPU_WARNING = (
    "running Qwen-Image-Layered on the CPU: expect hours per image and ~60 GB of RAM; "
    "a CUDA or Apple MPS GPU is strongly recommended"
)


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


def free_gpu_bytes() -> int | None:
    """Accelerator memory a run can use: what is free plus what this process's allocator holds
    (a pipeline kept loaded from the last run is replaced if the plan changes)."""
    torch = torch_module()
    if torch.cuda.is_available():
        free, _total = torch.cuda.mem_get_info()
        return int(free) + int(torch.cuda.memory_reserved())
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return int(torch.mps.recommended_max_memory())
    return None


def host_bytes() -> int | None:
    """Available host RAM (Linux: MemAvailable; elsewhere total physical memory), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def machine(device: str) -> Machine:
    """What the planner needs to know about this machine (cheap; loads no model)."""
    host = host_bytes()
    if device == "cuda":
        torch = torch_module()
        props = torch.cuda.get_device_properties(0)
        speed = gpu_speed(props.name, props.multi_processor_count, (props.major, props.minor))
        return Machine("cuda", free_gpu_bytes() or 0, host, speed)
    if device == "mps":
        return Machine("mps", free_gpu_bytes() or 0, host, None)
    return Machine("cpu", 0, host, None)


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
