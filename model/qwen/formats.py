"""Weight formats per component (`--weights-dtype`): how each is loaded and stored.

- bf16: as on disk (the paper's weights).
- fp8: float8_e4m3fn storage with bf16 compute, by diffusers' layerwise casting: each layer's
  weights are upcast just before it runs. Norms, embeddings and the patch embedding stay bf16.
  Runs wherever float8 tensors exist (CUDA and the CPU; not MPS). Halves the bytes streamed.
- int8: torchao int8 weight-only quantization, applied while loading (diffusers'
  PipelineQuantizationConfig); CUDA and CPU.
- nf4: bitsandbytes 4-bit NormalFloat, applied while loading; CUDA only.
- gguf: a community GGUF transformer file given with `--model FILE.gguf` (dequantized per layer
  by diffusers' GGUF support); its quantization is the file's.
"""

from __future__ import annotations

from typing import Any

# Layer names kept in bf16 under fp8 storage: diffusers' defaults (pos_embed, patch_embed, norm,
# proj_in/out) plus the text encoder's embeddings, so that `text_encoder.dtype` (which the pipeline
# uses to cast the input image and the prompt embeddings) still reads bf16.
_TEXT_ENCODER_KEEP = ("embed", "norm", "visual.merger.ln_q")


def quantization_config(transformer: str, text_encoder: str) -> Any:
    """diffusers' PipelineQuantizationConfig for the int8/nf4 components, or None."""
    import torch

    mapping: dict[str, Any] = {}
    for component, fmt in (("transformer", transformer), ("text_encoder", text_encoder)):
        if fmt == "int8":
            from torchao.quantization import Int8WeightOnlyConfig

            if component == "transformer":
                from diffusers import TorchAoConfig
            else:
                from transformers import TorchAoConfig
            mapping[component] = TorchAoConfig(quant_type=Int8WeightOnlyConfig())
        elif fmt == "nf4":
            if component == "transformer":
                from diffusers import BitsAndBytesConfig
            else:
                from transformers import BitsAndBytesConfig
            mapping[component] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4",
                bnb_4bit_compute_dtype=torch.bfloat16,
            )
    if not mapping:
        return None
    from diffusers import PipelineQuantizationConfig

    return PipelineQuantizationConfig(quant_mapping=mapping)


def apply_layerwise_casting(pipe: Any, transformer: str, text_encoder: str) -> None:
    """fp8 storage, bf16 compute, for the components asked (after loading, before placing)."""
    import torch

    if transformer == "fp8":
        pipe.transformer.enable_layerwise_casting(
            storage_dtype=torch.float8_e4m3fn, compute_dtype=torch.bfloat16
        )
    if text_encoder == "fp8":
        from diffusers.hooks import apply_layerwise_casting
        from diffusers.hooks.layerwise_casting import DEFAULT_SKIP_MODULES_PATTERN

        apply_layerwise_casting(
            pipe.text_encoder, torch.float8_e4m3fn, torch.bfloat16,
            skip_modules_pattern=tuple(DEFAULT_SKIP_MODULES_PATTERN) + _TEXT_ENCODER_KEEP,
        )


def stored_format(module: Any) -> str:
    """What a loaded component's linear weights are stored as (for reports and tests)."""
    import torch

    for sub in module.modules():
        if isinstance(sub, torch.nn.Linear):
            weight = sub.weight
            name = type(weight).__name__
            if "Int8" in name or "AffineQuantized" in name:
                return "int8"
            if "Params4bit" in name:
                return "nf4"
            if "GGUF" in name:
                return "gguf"
            return {torch.float8_e4m3fn: "fp8", torch.bfloat16: "bf16"}.get(
                weight.dtype, str(weight.dtype).removeprefix("torch.")
            )
    return "none"
