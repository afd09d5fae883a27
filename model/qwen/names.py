"""Layer names a designer reads ("Headline text", "Cat", "Sofa"), from the pipeline's own
Qwen2.5-VL text encoder, in one batched call after decoding.

Each layer is cut to its visible part, letterboxed onto grey at one fixed size (so every image
gives the same number of vision tokens and the batch needs no padding) and shown with the same
question. The answers are sanitized; a layer whose answer is not a plausible 1-3 word name
keeps today's name ("Background", "Layer N"), and any failure keeps them all.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import numpy as np
from PIL import Image

from model.base import Cancelled

SIDE = 224  # letterbox size: 8x8 merged vision tokens per layer for Qwen2.5-VL (28 px patches)
MAX_NEW_TOKENS = 8
MAX_WORDS, MAX_CHARS, MAX_WORD = 3, 32, 20
PROMPT = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    "<|vision_start|><|image_pad|><|vision_end|>This is one layer cut out of a picture. Name "
    "what it shows in one to three words, like \"Headline text\", \"Cat\" or \"Sofa\". Answer "
    "with the name only.<|im_end|>\n<|im_start|>assistant\n"
)
_ALLOWED_PUNCT = set(" -'&")


def fallback_name(index: int) -> str:
    return "Background" if index == 0 else f"Layer {index}"


def sanitize(text: str) -> str | None:
    """A short readable name from a model answer, or None when it is not one: first line,
    quotes and end punctuation stripped, 1-3 words of letters/digits (any script) with - ' &,
    at most 32 characters, at least one letter, no word over 20 characters."""
    if not isinstance(text, str):
        return None
    line = text.strip().splitlines()[0] if text.strip() else ""
    line = line.strip().strip("\"'`“”‘’«»").rstrip(".!,;:").strip()
    line = re.sub(r"\s+", " ", line)
    if not line or len(line) > MAX_CHARS:
        return None
    for ch in line:
        category = unicodedata.category(ch)
        if not (category[0] in ("L", "N") or ch in _ALLOWED_PUNCT):
            return None
    words = line.split(" ")
    if len(words) > MAX_WORDS or any(len(w) > MAX_WORD for w in words):
        return None
    if not any(unicodedata.category(ch)[0] == "L" for ch in line):
        return None
    return line[0].upper() + line[1:]


def unique(names: list[str]) -> list[str]:
    """Repeated names get a number: "Text", "Text 2"."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        key = name.casefold()
        seen[key] = seen.get(key, 0) + 1
        out.append(name if seen[key] == 1 else f"{name} {seen[key]}")
    return out


def layer_image(frame: np.ndarray) -> Image.Image:
    """The visible part of one RGBA float layer over grey, letterboxed to SIDE x SIDE."""
    rgba = np.clip(frame, 0.0, 1.0)
    alpha = rgba[..., 3:4]
    rgb = rgba[..., :3] * alpha + 0.5 * (1 - alpha)
    ys, xs = np.nonzero(alpha[..., 0] > 0.05)
    if len(ys):
        pad = 4
        top, bottom = max(0, ys.min() - pad), min(rgb.shape[0], ys.max() + pad + 1)
        left, right = max(0, xs.min() - pad), min(rgb.shape[1], xs.max() + pad + 1)
        rgb = rgb[top:bottom, left:right]
    image = Image.fromarray((rgb * 255 + 0.5).astype(np.uint8), "RGB")
    image.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (SIDE, SIDE), (128, 128, 128))
    canvas.paste(image, ((SIDE - image.width) // 2, (SIDE - image.height) // 2))
    return canvas


def ask(pipe: Any, frames: list[np.ndarray], device: Any) -> list[str]:
    """The model's raw answers, one per layer, from one batched generate()."""
    import torch

    images = [layer_image(frame) for frame in frames]
    inputs = pipe.vl_processor(
        text=[PROMPT] * len(images), images=images, padding=True, return_tensors="pt"
    ).to(device)
    with torch.inference_mode():
        ids = pipe.text_encoder.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
    answers = ids[:, inputs["input_ids"].shape[1] :]
    return pipe.vl_processor.batch_decode(answers, skip_special_tokens=True)


def layer_names(pipe: Any, frames: list[np.ndarray], device: Any) -> tuple[list[str], str | None]:
    """Names for the layers (bottom first) and why any fell back, or None when all are the
    model's. A cancel is passed on; any other failure keeps today's names."""
    fallback = [fallback_name(i) for i in range(len(frames))]
    try:
        answers = ask(pipe, frames, device)
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - names are a nicety: never fail the run for them
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return fallback, f"layer names kept (naming failed: {first})"
    names = [sanitize(a) for a in answers]
    bad = sum(1 for n in names if n is None)
    chosen = unique([n or fallback[i] for i, n in enumerate(names)])
    if bad:
        why = "the model's answer was not a name"
        return chosen, f"{bad} of {len(frames)} layer names kept ({why})"
    return chosen, None
