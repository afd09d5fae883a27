"""Loading QwenImageLayeredPipeline (safetensors, bf16, no remote code) and keeping it loaded.

One pipeline stays in memory between runs, keyed by everything its loading and placement
depend on (folder, device, offload mode, weight formats, the text encoder's place, ...); asking
for another key, or `unload()`, drops it and returns its GPU memory.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.base import DecomposeError
from model.qwen.device import free_memory
from model.qwen.plan import MemoryPlan

MIN_DIFFUSERS = (0, 37)
# A PyInstaller build ships only the classic backend; it cannot pip-install into itself.
INSTALL_HINT = (
    "install Strata with `installer/install.sh --with-qwen` (this build has only classic)"
    if getattr(sys, "frozen", False)
    else "pip install -e '.[qwen]' in the checkout, or installer/install.sh --with-qwen"
)
REQUIRED_PACKAGES = ("torch", "diffusers", "transformers", "safetensors", "huggingface_hub")


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def package_problem(offload: str = "none") -> str | None:
    """Why the qwen packages cannot run here, or None; cheap (nothing heavy is imported)."""
    needed = list(REQUIRED_PACKAGES)
    if offload in ("model", "sequential", "group", "auto"):
        needed.append("accelerate")
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        names = ", ".join(missing)
        return f"the qwen backend needs {names}, which is not installed: {INSTALL_HINT}"
    version = importlib.metadata.version("diffusers")
    if _version_tuple(version) < MIN_DIFFUSERS:
        need = ".".join(map(str, MIN_DIFFUSERS))
        return (
            f"diffusers {version} is too old for QwenImageLayeredPipeline; "
            f"install diffusers>={need} (pip install -U 'diffusers>={need}')"
        )
    return None


def pipeline_class() -> Any:
    problem = package_problem("none")
    if problem:
        raise DecomposeError(problem)
    try:
        from diffusers import QwenImageLayeredPipeline
    except ImportError as exc:
        need = ".".join(map(str, MIN_DIFFUSERS))
        raise DecomposeError(
            f"this diffusers has no QwenImageLayeredPipeline ({exc}); "
            f"install diffusers>={need} (pip install -U 'diffusers>={need}')"
        ) from exc
    return QwenImageLayeredPipeline


def oom_message(device: str, offload: str) -> str:
    if offload == "none":
        hint = "try `--offload group` (or `--weights-dtype fp8`)"
    elif offload in ("model", "group"):
        hint = "try `--offload sequential`, `--weights-dtype fp8`, or `--resolution 640` and " \
            "fewer layers"
    else:
        hint = "try `--resolution 640` and fewer layers, or close other programs using the GPU"
    return f"the {device.upper()} GPU ran out of memory (offload: {offload}); {hint}"


def is_oom(exc: BaseException) -> bool:
    try:
        import torch
    except ImportError:
        return False
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


@dataclass(frozen=True)
class PipelineKey:
    folder: str
    device: str
    offload: str
    dtype: str
    transformer_format: str = "bf16"
    text_encoder_format: str = "bf16"
    text_encoder: str = "gpu"
    low_cpu_mem_usage: bool = False
    transformer_file: str | None = None
    compile: bool = False

    @classmethod
    def for_plan(cls, folder: str, device: str, plan: MemoryPlan, transformer_file: str | None,
                 compile_blocks: bool) -> PipelineKey:
        return cls(folder, device, plan.offload, "bfloat16", plan.transformer_format,
                   plan.text_encoder_format, plan.text_encoder, plan.low_cpu_mem_usage,
                   transformer_file, compile_blocks)

    def plan(self) -> MemoryPlan:
        return MemoryPlan(self.offload, "as loaded", self.transformer_format,
                          self.text_encoder_format, self.text_encoder,
                          low_cpu_mem_usage=self.low_cpu_mem_usage)


def load_pipeline(
    folder: Path, device: str, offload: str, dtype: str = "bfloat16",
    plan: MemoryPlan | None = None, transformer_file: str | None = None,
    compile_blocks: bool = False,
) -> Any:
    """Load from a local folder only; weights must be safetensors (or a GGUF transformer file);
    no remote code runs. The pipeline is placed as `plan` says; `pipe.strata` holds what
    `placement.place` set up."""
    import torch

    from model.qwen import formats
    from model.qwen.placement import place, quiet

    plan = plan or MemoryPlan(offload, "as asked")
    cls = pipeline_class()
    if not sys.stderr.isatty():  # their loading bars only clutter logs and the GUI's stderr
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as transformers_logging

        diffusers_logging.disable_progress_bar()
        transformers_logging.disable_progress_bar()
    try:
        # diffusers 0.42 renamed torch_dtype to dtype (the old name still works, with a warning).
        dtype_arg = "dtype" if _version_tuple(importlib.metadata.version("diffusers")) >= (0, 42) \
            else "torch_dtype"
        kwargs: dict[str, Any] = {dtype_arg: getattr(torch, dtype)}
        quantization = formats.quantization_config(plan.transformer_format,
                                                   plan.text_encoder_format)
        if quantization is not None:
            kwargs["quantization_config"] = quantization
        with quiet():
            if transformer_file:
                from model.qwen.single_file import load_transformer

                kwargs["transformer"] = load_transformer(Path(transformer_file), folder)
            pipe = cls.from_pretrained(
                str(folder), use_safetensors=True, local_files_only=True, **kwargs
            )
        pipe.strata = place(pipe, plan, device, compile_blocks)
    except Exception as exc:
        free_memory()
        if is_oom(exc):
            raise DecomposeError(oom_message(device, offload)) from exc
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        source = f"{transformer_file} with {folder}" if transformer_file else str(folder)
        raise DecomposeError(
            f"could not load the Qwen-Image-Layered weights from {source} ({first}); "
            "check them with `python main.py models`"
        ) from exc
    pipe.set_progress_bar_config(disable=True)
    return pipe


class PipelineCache:
    """Holds at most one loaded pipeline; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._key: PipelineKey | None = None
        self._pipe: Any = None

    @property
    def key(self) -> PipelineKey | None:
        return self._key

    def get(self, key: PipelineKey) -> tuple[Any, bool]:
        """The pipeline for `key` and whether it had to be loaded now."""
        with self.lock:
            if self._key == key and self._pipe is not None:
                return self._pipe, False
            self.unload()
            self._pipe = load_pipeline(
                Path(key.folder), key.device, key.offload, key.dtype, key.plan(),
                key.transformer_file, key.compile,
            )
            self._key = key
            return self._pipe, True

    def unload(self) -> bool:
        """Drop the loaded pipeline and free its memory; True if one was loaded."""
        with self.lock:
            had = self._pipe is not None
            if had:
                try:
                    self._pipe.remove_all_hooks()
                except Exception:  # noqa: BLE001 - best effort before dropping it
                    pass
            self._pipe = None
            self._key = None
            free_memory()
            return had
