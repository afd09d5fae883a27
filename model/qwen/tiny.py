"""A tiny, randomly initialised QwenImageLayeredPipeline built from the real classes.

Tests and the CPU benchmark use it to run the real pipeline code end to end without weights.
`full_size_components` builds the real model's sizes (random weights) for GPU benchmarks.
Two constraints (see DESIGN.md): the VAE's z_dim must not be 4 (the pipeline would take the
RGBA input for latents), and the VAE's spatial factor 2**(len(dim_mult)-1) must equal
2**len(temperal_downsample), or the RoPE shapes mismatch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

Z_DIM = 8


def make_tokenizer() -> Any:
    """A byte-level BPE tokenizer (no merges) with the Qwen special tokens, built in memory."""
    from tokenizers import AddedToken, pre_tokenizers
    from transformers import Qwen2Tokenizer

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {symbol: i for i, symbol in enumerate(alphabet)}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[])
    tokenizer.add_tokens([AddedToken(t, special=True) for t in SPECIAL_TOKENS])
    return tokenizer


def make_processor(tokenizer: Any, max_pixels: int = 56 * 56 * 4) -> Any:
    from transformers import Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

    image_processor = Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=max_pixels)
    video_processor = Qwen2VLVideoProcessor()
    return Qwen2VLProcessor(
        image_processor=image_processor, tokenizer=tokenizer, video_processor=video_processor
    )


def _text_encoder_config(tokenizer: Any, full_size: bool) -> Any:
    from transformers import Qwen2_5_VLConfig

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    if full_size:  # Qwen2.5-VL-7B-Instruct
        text = dict(
            hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
            num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=128000,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0,
                             "mrope_section": [16, 24, 24]},
            vocab_size=152064,
        )
        vision = dict(
            depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16,
            out_hidden_size=3584, tokens_per_second=2, fullatt_block_indexes=[7, 15, 23, 31],
        )
    else:
        text = dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=1, max_position_embeddings=4096,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0,
                             "mrope_section": [2, 3, 3]},
            vocab_size=len(tokenizer),
        )
        vision = dict(
            depth=1, hidden_size=32, intermediate_size=32, num_heads=2, out_hidden_size=32,
            fullatt_block_indexes=[0],
        )
    return Qwen2_5_VLConfig(
        text_config=dict(
            text, bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
            pad_token_id=ids["<|endoftext|>"],
        ),
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )


def build_components(seed: int = 0, full_size: bool = False, device: str = "cpu",
                     dtype: Any = None) -> dict[str, Any]:
    """The six pipeline components with random weights (tiny, or the real model's sizes)."""
    import torch
    from diffusers import (
        AutoencoderKLQwenImage,
        FlowMatchEulerDiscreteScheduler,
        QwenImageTransformer2DModel,
    )
    from transformers import Qwen2_5_VLForConditionalGeneration

    torch.manual_seed(seed)
    dtype = dtype or torch.float32
    tokenizer = make_tokenizer()
    processor = make_processor(tokenizer, max_pixels=28 * 28 * 1280 if full_size else 56 * 56 * 4)
    # Build directly on the target device and dtype: a full-size model never exists on the CPU.
    with torch.device(device):
        default_dtype = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            if full_size:
                transformer = QwenImageTransformer2DModel(
                    use_additional_t_cond=True, use_layer3d_rope=True
                )
                vae = AutoencoderKLQwenImage(input_channels=4)
            else:
                transformer = QwenImageTransformer2DModel(
                    patch_size=2, in_channels=Z_DIM * 4, out_channels=Z_DIM, num_layers=1,
                    attention_head_dim=16, num_attention_heads=2, joint_attention_dim=32,
                    axes_dims_rope=(4, 6, 6), use_additional_t_cond=True, use_layer3d_rope=True,
                )
                vae = AutoencoderKLQwenImage(
                    base_dim=4, z_dim=Z_DIM, dim_mult=[1, 2, 2, 2], num_res_blocks=1,
                    temperal_downsample=[False, True, True], input_channels=4,
                    latents_mean=[0.0] * Z_DIM, latents_std=[1.0] * Z_DIM,
                )
            text_encoder = Qwen2_5_VLForConditionalGeneration(
                _text_encoder_config(tokenizer, full_size)
            )
        finally:
            torch.set_default_dtype(default_dtype)
    scheduler = FlowMatchEulerDiscreteScheduler(
        base_image_seq_len=256, base_shift=0.5, max_image_seq_len=8192, max_shift=0.9,
        shift=1.0, shift_terminal=0.02, use_dynamic_shifting=True, time_shift_type="exponential",
    )
    return {
        "transformer": transformer.eval(),
        "vae": vae.eval(),
        "text_encoder": text_encoder.eval(),
        "tokenizer": tokenizer,
        "processor": processor,
        "scheduler": scheduler,
    }


def build_pipeline(seed: int = 0, full_size: bool = False, device: str = "cpu",
                   dtype: Any = None) -> Any:
    from diffusers import QwenImageLayeredPipeline

    return QwenImageLayeredPipeline(**build_components(seed, full_size, device, dtype))


def save_tiny_pipeline(
    folder: str | Path, seed: int = 0, max_shard_size: str | None = None
) -> Path:
    """Write a tiny random pipeline as a diffusers folder (safetensors only); returns it.

    With `max_shard_size` (e.g. "200KB") the weights are split into shards with an index file,
    the layout of the real model's repository.
    """
    folder = Path(folder)
    kwargs = {"max_shard_size": max_shard_size} if max_shard_size else {}
    build_pipeline(seed).save_pretrained(folder, safe_serialization=True, **kwargs)
    return folder
