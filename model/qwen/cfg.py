"""Both classifier-free-guidance passes of a step in one batched transformer forward.

QwenImageLayeredPipeline calls the transformer twice per step, first with the prompt ("cond"),
then with the negative prompt ("uncond"), on the same latents. When the weights are streamed to
the GPU for every pass (group or sequential offload) that moves the whole transformer twice per
step; batching the two moves it once. The hook sits on the transformer's forward: at the cond
call it runs [cond, uncond] as a batch of two (the shorter text zero-padded), returns the cond
half and keeps the uncond half, which the next call, on the same latents, gets back without
computing. The pipeline itself is not changed. Disarmed, the hook passes calls through.

Attention is the one place where the two samples' texts meet the padding. A padding mask would
switch attention to a masked kernel whose bf16 rounding differs from the official call's (3/255
on the tiny pipeline), so during a batched pass each sample attends over its own tokens only,
without a mask, through the same attention function and kernel as the two separate calls: the
layers come out the same as the official call's (0/255 on the tiny pipeline on the CPU). The
weights, which are what streaming moves, are still used once for both samples.
"""

from __future__ import annotations

import contextvars
from typing import Any

from diffusers.hooks import HookRegistry, ModelHook

HOOK_NAME = "strata_batched_cfg"
# Text lengths of the samples and the padded length, while a batched pass runs.
_TEXT: contextvars.ContextVar[tuple[tuple[int, ...], int] | None] = contextvars.ContextVar(
    "strata_batched_text", default=None
)


class BatchedCFG(ModelHook):
    def __init__(self) -> None:
        super().__init__()
        self.negative: tuple[Any, Any] | None = None  # (embeds, mask or None), batch of 1
        self._kept: tuple[Any, Any] | None = None  # (latents of this step, uncond output)
        self.batched_calls = 0
        self.reused_calls = 0

    def arm(self, embeds: Any, mask: Any) -> None:
        self.negative = (embeds, mask)
        self._kept = None

    def disarm(self) -> None:
        self.negative = None
        self._kept = None

    def new_forward(self, module: Any, *args: Any, **kwargs: Any) -> Any:
        forward = self.fn_ref.original_forward
        hidden = kwargs.get("hidden_states")
        if (self.negative is None or args or hidden is None or hidden.shape[0] != 1
                or kwargs.get("return_dict", True) or kwargs.get("controlnet_block_samples")
                is not None):
            return forward(*args, **kwargs)
        kept = self._kept
        if kept is not None and kept[0] is hidden:
            self._kept = None
            text = kwargs.get("encoder_hidden_states")
            if text is not None and text.shape == self.negative[0].shape:
                self.reused_calls += 1
                return kept[1]
            return forward(**kwargs)  # not the call we batched for: compute it
        batched, lengths = _batched(kwargs, *self.negative)
        token = _TEXT.set(lengths)
        try:
            output = forward(**batched)[0]
        finally:
            _TEXT.reset(token)
        self.batched_calls += 1
        self._kept = (hidden, (output[1:],))
        return (output[:1],)


def _batched(
    kwargs: dict[str, Any], negative: Any, negative_mask: Any
) -> tuple[dict[str, Any], tuple[tuple[int, ...], int] | None]:
    """The pipeline's cond-call arguments for a batch of [cond, uncond], and the samples' text
    lengths when they differ (None: nothing padded, nothing to separate)."""
    import torch

    text = kwargs["encoder_hidden_states"]
    mask = kwargs.get("encoder_hidden_states_mask")
    length = max(text.shape[1], negative.shape[1])
    out = dict(kwargs)
    out["hidden_states"] = torch.cat([kwargs["hidden_states"]] * 2)
    out["encoder_hidden_states"] = torch.cat(
        [_pad(text, length), _pad(negative.to(text.device, text.dtype), length)]
    )
    lengths = None
    if mask is None and negative_mask is None and text.shape[1] == negative.shape[1]:
        out["encoder_hidden_states_mask"] = None
    else:
        masks = [
            _pad(m.to(text.device) if m is not None else _ones(t), length)
            for m, t in ((mask, text), (negative_mask, negative))
        ]
        both = torch.cat([m.to(masks[0].dtype) for m in masks])
        out["encoder_hidden_states_mask"] = both
        valid = both.bool()
        counts = tuple(int(n) for n in valid.sum(dim=1).tolist())
        # Only prefix masks (tokens, then padding) can be separated by length; anything else
        # keeps the mask, a correct if differently rounded result.
        if all(bool(row[:n].all()) for row, n in zip(valid, counts)):
            lengths = (counts, length)
    for name in ("timestep", "guidance", "additional_t_cond"):
        value = kwargs.get(name)
        if value is not None and getattr(value, "ndim", 0) >= 1 and value.shape[0] == 1:
            out[name] = torch.cat([value] * 2)
    shapes = kwargs.get("img_shapes")
    if isinstance(shapes, list) and len(shapes) == 1:
        out["img_shapes"] = shapes * 2
    return out, lengths


def _per_sample(dispatch: Any) -> Any:
    """The transformer's attention function, running each sample of a batched CFG pass over its
    own text tokens (then all image tokens) without a mask; otherwise unchanged."""
    import torch

    def attention(query: Any, key: Any, value: Any, attn_mask: Any = None, *args: Any,
                  **kwargs: Any) -> Any:
        spec = _TEXT.get()
        if (spec is None or args or query.shape[0] != len(spec[0])
                or query.shape[1] != key.shape[1]):
            return dispatch(query, key, value, attn_mask, *args, **kwargs)
        counts, padded = spec
        outputs = []
        for b, count in enumerate(counts):
            q, k, v = query[b : b + 1], key[b : b + 1], value[b : b + 1]
            if count == padded:
                outputs.append(dispatch(q, k, v, None, **kwargs))
                continue
            keep = torch.cat([
                torch.arange(count, device=q.device),
                torch.arange(padded, q.shape[1], device=q.device),
            ])
            part = dispatch(q[:, keep], k[:, keep], v[:, keep], None, **kwargs)
            full = part.new_zeros((1, q.shape[1], *part.shape[2:]))
            full[:, keep] = part
            outputs.append(full)
        return torch.cat(outputs)

    attention.strata_per_sample = True
    return attention


def _patch_attention() -> None:
    from diffusers.models.transformers import transformer_qwenimage as module

    if not getattr(module.dispatch_attention_fn, "strata_per_sample", False):
        module.dispatch_attention_fn = _per_sample(module.dispatch_attention_fn)


def _ones(text: Any) -> Any:
    import torch

    return torch.ones(text.shape[:2], dtype=torch.long, device=text.device)


def _pad(tensor: Any, length: int) -> Any:
    """Zero-pad dimension 1 (the text tokens) to `length`."""
    import torch

    missing = length - tensor.shape[1]
    if missing == 0:
        return tensor
    pad = tensor.new_zeros((tensor.shape[0], missing, *tensor.shape[2:]))
    return torch.cat([tensor, pad], dim=1)


def install(transformer: Any) -> BatchedCFG:
    """Register the (disarmed) hook once; before any offload hook, so that accelerate's
    remove-and-reapply after each call keeps it."""
    _patch_attention()
    registry = HookRegistry.check_if_exists_or_initialize(transformer)
    hook = registry.get_hook(HOOK_NAME)
    if hook is None:
        hook = BatchedCFG()
        registry.register_hook(hook, HOOK_NAME)
    return hook
