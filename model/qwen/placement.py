"""Putting a loaded pipeline where its plan says: weight formats, offload mode, the text
encoder's place, the batched-CFG hook, the attention kernel and (optionally) torch.compile.

Order matters: layerwise casting first (the weights then move in fp8), the batched-CFG hook
before any accelerate hook (accelerate removes and re-adds its hooks after every call and would
drop a hook added after its own), then the offload hooks.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.qwen import cfg, formats
from model.qwen.plan import MemoryPlan
from model.qwen.swap import PinnedSwap

COMPILE_ENV = "STRATA_QWEN_COMPILE"  # 1 = compile the repeated transformer blocks (CUDA, none)


@dataclass
class Placed:
    """What `place` set up on a pipeline, for the runs that use it."""

    plan: MemoryPlan
    device: str
    cfg_hook: cfg.BatchedCFG
    swap: PinnedSwap | None = None
    attention: str = "native"
    compiled: bool = False


@contextlib.contextmanager
def quiet(*names: str) -> Iterator[None]:
    """Silence library warnings that say nothing to a user (experimental-API notices)."""
    loggers = [logging.getLogger(n) for n in names or ("diffusers", "transformers")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def compile_wanted(plan: MemoryPlan, device: str) -> bool:
    """torch.compile of the repeated blocks: opt-in (STRATA_QWEN_COMPILE=1) until a GPU
    measurement shows it pays for its compile time, and only with the transformer resident on
    CUDA (hooks that move weights would break the graphs)."""
    return os.environ.get(COMPILE_ENV, "") == "1" and device == "cuda" and plan.offload == "none"


def attention_backend(device: str) -> str:
    """The fastest exact attention kernel diffusers can use here without downloading one:
    FlashAttention 3 (Hopper), then FlashAttention 2, else PyTorch's SDPA ("native", which
    itself picks its flash or memory-efficient kernel)."""
    if device != "cuda":
        return "native"
    import torch
    from diffusers.models.attention_dispatch import (
        AttentionBackendName,
        _check_attention_backend_requirements,
    )

    major, _minor = torch.cuda.get_device_capability(0)
    for name, min_major, max_major in (("_flash_3", 9, 9), ("flash", 8, 99)):
        if not min_major <= major <= max_major:
            continue
        try:
            _check_attention_backend_requirements(AttentionBackendName(name))
        except (RuntimeError, ValueError, ImportError):
            continue
        return name
    return "native"


def inductor_cache() -> Path:
    """Where compiled kernels are kept between runs and sessions."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "strata" / "inductor"


def place(pipe: Any, plan: MemoryPlan, device: str, compile_blocks: bool = False) -> Placed:
    import torch

    formats.apply_layerwise_casting(pipe, plan.transformer_format, plan.text_encoder_format)
    hook = cfg.install(pipe.transformer)
    placed = Placed(plan, device, hook)
    backend = attention_backend(device)
    if backend != "native":
        with quiet("diffusers"):
            pipe.transformer.set_attention_backend(backend)
        placed.attention = backend
    cuda = device == "cuda"
    if plan.offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif plan.offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    elif plan.offload == "group":
        onload, host = torch.device(device), torch.device("cpu")
        streams = dict(use_stream=cuda, non_blocking=cuda, record_stream=cuda,
                       low_cpu_mem_usage=plan.low_cpu_mem_usage)
        pipe.transformer.enable_group_offload(
            onload_device=onload, offload_device=host, offload_type="block_level",
            num_blocks_per_group=1, **streams,
        )
        pipe.vae.to(device)
        if plan.text_encoder == "swap":
            placed.swap = PinnedSwap(pipe.text_encoder, device,
                                     pin=cuda and not plan.low_cpu_mem_usage)
        elif plan.text_encoder == "stream":
            from diffusers.hooks import apply_group_offloading

            # Leaf level: generate() calls parts of the model outside its forward().
            apply_group_offloading(pipe.text_encoder, onload_device=onload, offload_device=host,
                                   offload_type="leaf_level", **streams)
        else:
            pipe.text_encoder.to(device)
    else:
        pipe.to(device)
    if compile_blocks:
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(inductor_cache()))
        os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
        os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")
        pipe.transformer.compile_repeated_blocks(fullgraph=False)
        placed.compiled = True
    return placed
