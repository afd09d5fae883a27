"""`--model FILE`: a single-file Layered transformer (.safetensors, or a community .gguf build),
with the other components (text encoder, VAE, tokenizer, processor, scheduler) and the
transformer's config.json from a diffusers folder.

The base folder is the nearest folder above the file that holds a `model_index.json` (put the
file inside the downloaded weights folder), else the default weights in the local Hugging Face
cache. diffusers 0.42.1 reads both through `QwenImageTransformer2DModel.from_single_file` with
the base's transformer config (`use_layer3d_rope` etc. come from there); the checkpoint must use
the diffusers tensor names, optionally behind ComfyUI's `model.diffusion_model.` prefix, which is
removed. GGUF tensors stay quantized in memory and are dequantized layer by layer (diffusers'
GGUFQuantizationConfig, bf16 compute; needs the `gguf` package). Not supported: original-format
checkpoints with other tensor names (diffusers has no converter for the Layered model), a
text encoder or VAE from a single file, and GGUF with group or sequential offload.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from model.qwen.weights import DEFAULT_MODEL, WeightsReport, inspect_weights, safetensors_problem

SUFFIXES = (".safetensors", ".gguf")
PREFIX = "model.diffusion_model."
_BYTES = {"F64": 8, "F32": 4, "BF16": 2, "F16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1}


def transformer_file(model: str | None) -> Path | None:
    """The single transformer file `model` names, or None for a folder or Hub id."""
    if not model:
        return None
    path = Path(model).expanduser()
    return path.resolve() if path.is_file() and path.suffix.lower() in SUFFIXES else None


def base_model(file: Path) -> str:
    for folder in (file.parent, *file.parent.parents):
        if (folder / "model_index.json").is_file():
            return str(folder)
    return DEFAULT_MODEL


def file_format(file: Path) -> str:
    return "gguf" if file.suffix.lower() == ".gguf" else "bf16"


def _problem_and_bytes(file: Path) -> tuple[str | None, int]:
    """What is wrong with the file, and the bytes its weights take in memory (bf16 for
    safetensors, which are loaded as bf16; as stored for GGUF)."""
    size = file.stat().st_size
    if file.suffix.lower() == ".gguf":
        with file.open("rb") as f:
            magic = f.read(4)
        return (None, size) if magic == b"GGUF" else ("is not a GGUF file", 0)
    problem, _ = safetensors_problem(file)
    if problem:
        return problem, 0
    import json

    with file.open("rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    elements = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        count = 1
        for dim in info.get("shape", []):
            count *= int(dim)
        elements += count if info.get("dtype") in _BYTES else 0
    return None, 2 * elements


def inspect(model: str, file: Path) -> WeightsReport:
    """The base folder's report with the transformer taken from `file`: the base's own
    transformer weights may be absent (its config.json is still needed)."""
    base = base_model(file)
    report = inspect_weights(base)
    if not report.found:
        report.problems = [
            f"{file.name} needs the other components from a downloaded Qwen-Image-Layered "
            "folder: put the file inside that folder, or run `python main.py models download`"
        ]
        return report
    report.model = model
    report.problems = [
        p for p in report.problems
        if not p.startswith("transformer/") or p.startswith("transformer/config.json")
    ]
    problem, size = _problem_and_bytes(file)
    if problem:
        report.problems.insert(0, f"{file} {problem}")
    report.component_bytes["transformer"] = size
    report.total_bytes = sum(report.component_bytes.values())
    return report


def load_transformer(file: Path, base: Path) -> Any:
    """The transformer from `file`, configured from `base`/transformer (bf16 compute)."""
    import torch
    from diffusers import QwenImageTransformer2DModel
    from diffusers.loaders.single_file_utils import load_single_file_checkpoint

    checkpoint = load_single_file_checkpoint(str(file), local_files_only=True)
    checkpoint = {k.removeprefix(PREFIX): v for k, v in checkpoint.items()}
    kwargs: dict[str, Any] = {}
    if file.suffix.lower() == ".gguf":
        from diffusers import GGUFQuantizationConfig

        kwargs["quantization_config"] = GGUFQuantizationConfig(compute_dtype=torch.bfloat16)
    return QwenImageTransformer2DModel.from_single_file(
        checkpoint, config=str(base), subfolder="transformer", dtype=torch.bfloat16,
        local_files_only=True, **kwargs,
    )
