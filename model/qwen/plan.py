"""The memory and speed planner: where each part of Qwen-Image-Layered lives during a run, in
which weight format, and how long the run is expected to take.

`plan_memory` enumerates the placements that can run here (everything on the GPU; whole-model
CPU offload; the transformer streamed block by block with group offloading; sequential offload),
estimates each one's GPU peak and seconds, and picks the fastest that fits the free memory. The
figures come from the H200 measurements in notes/qwen.md (bench_qwen.py, full-size random bf16
weights); everything else is an assumption written next to the constant that holds it. The
seconds are a projection for the user, never a measurement.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from model.base import DecomposeError
from model.qwen.presets import full_steps

OFFLOAD_MODES = ("none", "model", "group", "sequential")
# Modes that move the transformer's weights every pass: one batched CFG pass halves the traffic.
STREAMED_MODES = ("group", "sequential")
FORMATS = ("bf16", "fp8", "int8", "nf4")
_MIB, _GIB, _GB = 1024**2, 1024**3, 1e9

# -- measured on an H200 (notes/qwen.md, 4 layers, bf16, 512x512 input) ----------------------
# Seconds per denoising step (two transformer passes) at 9,600 and 24,576 image tokens.
_H200_STEP_S = ((9_600, 0.895), (24_576, 3.19))
# End to end minus the steps (prompt encoding, VAE encode and decode), same two sizes.
_H200_OVERHEAD_S = ((9_600, 0.42), (24_576, 0.74))
# Model offload added ~40.5 s per run for moving the transformer and text encoder (57.5 GB) in
# and out: 2 x 57.5 GB / 40.5 s = 2.84 GB/s through accelerate's pageable copies.
_PAGEABLE_MOVE_BPS = 2.84 * _GB
# Sequential offload: 13.9 s per step at 640 against 0.895 s on the GPU, i.e. 2 x 40.9 GB of
# transformer weights streamed in 13.0 s: 6.3 GB/s (synchronous, pageable, per leaf module).
_SEQUENTIAL_BPS = 6.3 * _GB
# Captioning: 74 ms per generated token (512-token run, random weights); a real caption is
# assumed to be ~150 tokens.
_CAPTION_TOKEN_S, _CAPTION_TOKENS = 0.074, 150
# GPU memory a run needs on top of the weights (measured peak minus weights): 6.6 GiB at 640
# and 16.7 GiB at 1024 with everything on the GPU; the transformer's own share was 1.2 and 2.5 GiB
# (model offload), i.e. 0.13 MiB per token. The rest is the VAE decoding the 4 layers at once:
# 5.4 GiB / (4 x 1,600) and 14.2 GiB / (4 x 4,096) frame tokens, 0.84-0.87 MiB each, rounded up.
# With VAE slicing the layers are decoded one at a time, so only one frame's share is needed.
_TRANSFORMER_BYTES_PER_TOKEN = int(0.13 * _MIB)
_VAE_BYTES_PER_FRAME_TOKEN = int(0.92 * _MIB)
_MARGIN = 2 * _GIB  # CUDA context, allocator fragmentation

# -- assumptions (not measured) --------------------------------------------------------------
# Host link for pinned, prefetched copies (group offloading with CUDA streams): PCIe 4.0 x16
# delivers ~25 GB/s; a PCIe 5.0 card would do better, so this is the workstation case.
HOST_LINK_BPS = 25 * _GB
# Prefetching hides transfers behind compute, but each group boundary costs a little: 10%.
_STREAM_OVERHEAD = 1.10
# Group offloading keeps the computing block group and the prefetched one on the GPU; the
# transformer has 60 blocks, and what is not in a block (embeddings, norms, projections) stays.
_TRANSFORMER_BLOCKS = 60
# Share of each component's bf16 bytes that stays in bf16 whatever the format (norms, embeddings:
# the text encoder's 1.1 GB token embedding is not a Linear layer).
_KEPT = {"transformer": 0.01, "text_encoder": 0.07}
# Bytes per bf16 byte of the quantized part: fp8 and int8 1 byte per weight (+ int8 scales),
# nf4 4 bits + one fp32 absmax per 64 weights.
_FORMAT_FACTOR = {"bf16": 1.0, "fp8": 0.5, "int8": 0.51, "nf4": 0.28}
# A GGUF transformer file (`--model FILE.gguf`) stays as quantized in memory as on disk; its size
# is given as the file's, so the factor is 1.
# Which formats each placement can use: group offloading and the pinned text-encoder swap move
# plain tensors; torchao's int8 and bitsandbytes' nf4 tensors stay where they were loaded.
_MODES_FOR_FORMAT = {
    "bf16": OFFLOAD_MODES,
    "fp8": ("none", "model", "group"),
    "int8": ("none", "model"),
    "nf4": ("none", "model"),
    "gguf": ("none", "model"),
}
_FORMAT_ORDER = (*FORMATS, "gguf")
# Estimates closer than this are a tie, settled for the simpler placement.
_TIE = 0.05
_TE_ORDER = ("gpu", "accelerate", "swap", "stream")
# Host memory the rest of the process needs beside pinned weights.
_HOST_HEADROOM = 8 * _GIB

# bf16 dense tensor throughput relative to an H200 (989 TFLOPS), from the vendors' data sheets
# (fp32 accumulation, no sparsity). Matched on the device name, longest key first.
_GPU_SPEED = {
    "H200": 1.0, "GH200": 1.0, "H100 PCIE": 0.76, "H100": 1.0, "H800": 1.0, "H20": 0.15,
    "B200": 2.27, "B100": 1.77, "A100": 0.315, "A800": 0.315, "L40S": 0.366, "L40": 0.183,
    "L4": 0.122, "A10": 0.126, "A40": 0.151, "RTX 6000 ADA": 0.368, "RTX A6000": 0.157,
    "RTX 5090": 0.212, "RTX 5080": 0.114, "RTX 4090": 0.167, "RTX 4080": 0.099,
    "RTX 4070": 0.059, "RTX 3090": 0.072, "RTX 3080": 0.060,
}
# Otherwise: per streaming multiprocessor, relative to an H200's (132 SMs), by compute capability.
_SPEED_PER_SM = {9: 1 / 132, 10: 2.0 / 132, 8: 0.44 / 132, 12: 0.16 / 132}


def image_tokens(layers: int, width: int, height: int) -> int:
    """Tokens the transformer attends over, one per 16x16 pixels of each frame: the pipeline's
    latents hold the composite and each layer, and the input's latents are joined to them."""
    return (layers + 2) * (width // 16) * (height // 16)


def _fit(points: tuple[tuple[int, float], ...], tokens: int, quadratic: bool) -> float:
    """Through two measured points: a*T + b*T^2 (attention grows with T^2) or a + b*T."""
    (t0, y0), (t1, y1) = points
    if quadratic:
        b = (y1 / t1 - y0 / t0) / (t1 - t0)
        a = y0 / t0 - b * t0
        return a * tokens + b * tokens * tokens
    b = (y1 - y0) / (t1 - t0)
    return y0 + b * (tokens - t0)


def gpu_speed(name: str, sm_count: int = 0, capability: tuple[int, int] = (0, 0)) -> float | None:
    """This GPU's bf16 throughput relative to an H200, from its name or its SM count."""
    upper = name.upper()
    for key in sorted(_GPU_SPEED, key=len, reverse=True):
        if key in upper:
            return _GPU_SPEED[key]
    per_sm = _SPEED_PER_SM.get(capability[0])
    return per_sm * sm_count if per_sm and sm_count else None


@dataclass(frozen=True)
class ModelSizes:
    """bf16 bytes of each component (the weights on disk)."""

    transformer: int
    text_encoder: int
    vae: int = 254_000_000

    @classmethod
    def from_components(cls, component_bytes: dict[str, int]) -> ModelSizes:
        return cls(
            transformer=component_bytes.get("transformer", 0),
            text_encoder=component_bytes.get("text_encoder", 0),
            vae=component_bytes.get("vae", 0),
        )


REAL_SIZES = ModelSizes(transformer=40_900_000_000, text_encoder=16_580_000_000)


def format_bytes(component: str, bf16_bytes: int, fmt: str) -> int:
    if fmt == "gguf":
        return bf16_bytes
    kept = _KEPT.get(component, 0.0)
    return int(bf16_bytes * (kept + (1 - kept) * _FORMAT_FACTOR[fmt]))


@dataclass(frozen=True)
class RunShape:
    """What one call asks of the model."""

    layers: int
    frame_tokens: int  # one per 16x16 pixels of the working size
    steps: int = 50
    cfg: float = 4.0
    caption: bool = False  # no prompt: the text encoder writes one first
    names: bool = True  # the text encoder names the layers after decoding
    quality: str = "exact"

    @property
    def passes(self) -> int:
        return 2 if self.cfg > 1 else 1

    @property
    def tokens(self) -> int:
        """Tokens the transformer attends over: the composite, each layer and the input."""
        return (self.layers + 2) * self.frame_tokens

    @classmethod
    def square(cls, resolution: int, layers: int, **kw: object) -> RunShape:
        return cls(layers, (resolution // 16) ** 2, **kw)


@dataclass(frozen=True)
class Machine:
    device: str  # cuda | mps | cpu
    free: int = 0  # free accelerator bytes (unified memory on MPS)
    host: int | None = None  # available host RAM, None when unknown
    speed: float | None = None  # bf16 throughput relative to an H200
    link_bps: float = HOST_LINK_BPS


@dataclass(frozen=True)
class MemoryPlan:
    offload: str  # none | model | group | sequential
    reason: str
    transformer_format: str = "bf16"
    text_encoder_format: str = "bf16"
    # gpu (resident) | swap (pinned, on the GPU only to encode) | stream | accelerate (offload)
    text_encoder: str = "gpu"
    batch_cfg: bool = False  # both CFG passes in one batched forward
    vae_slicing: bool = False  # decode the layers one at a time (same pixels, less memory)
    low_cpu_mem_usage: bool = False  # group offload pins on the fly (host RAM is short)
    names: bool = True
    expected_s: float | None = None
    gpu_bytes: int | None = None
    device: str = "cuda"

    def summary(self) -> str:
        formats = self.transformer_format
        if self.text_encoder_format != self.transformer_format:
            formats = (
                f"transformer {self.transformer_format}, text encoder {self.text_encoder_format}"
            )
        seconds = self.expected_s
        when = "time unknown here" if seconds is None else f"~{human_seconds(seconds)}"
        where = {"cpu": "the CPU", "mps": "the Apple GPU"}.get(self.device, "the GPU")
        mode = {"none": f"all on {where}", "model": "model CPU offload",
                "group": "streamed (group offload)", "sequential": "sequential CPU offload"}
        return f"{mode.get(self.offload, self.offload)}, {formats} weights, {when}"


def human_seconds(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def parse_weights_dtype(text: str | None) -> tuple[str, str]:
    """`--weights-dtype`: one format for both, or per component
    (`transformer=fp8,text_encoder=nf4`); `auto` lets the planner choose."""
    text = (text or "auto").strip().lower()
    choices = ("auto", *FORMATS)
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) == 1 and "=" not in parts[0]:
        if parts[0] not in choices:
            raise DecomposeError(
                f"unknown weights format '{parts[0]}'; choose {', '.join(choices)}, or per "
                "component like transformer=fp8,text_encoder=nf4"
            )
        return parts[0], parts[0]
    chosen = {"transformer": "auto", "text_encoder": "auto"}
    for part in parts:
        name, _, fmt = part.partition("=")
        name = name.strip().replace("-", "_")
        if name not in chosen or fmt.strip() not in choices:
            raise DecomposeError(
                f"cannot read --weights-dtype '{text}'; write one of {', '.join(choices)}, or "
                "transformer=FORMAT,text_encoder=FORMAT"
            )
        chosen[name] = fmt.strip()
    return chosen["transformer"], chosen["text_encoder"]


def format_problem(fmt: str, device: str, cuda_ok: bool = True) -> str | None:
    """Why this weight format cannot run on `device`, or None."""
    import importlib.util

    if fmt == "nf4":
        if device != "cuda":
            return (
                "nf4 weights (bitsandbytes) need an NVIDIA GPU with CUDA; on "
                f"{device.upper()} use --weights-dtype bf16"
                + (", fp8 or int8" if device == "cpu" else "")
            )
        if importlib.util.find_spec("bitsandbytes") is None:
            return "nf4 weights need bitsandbytes, which is not installed: pip install bitsandbytes"
    if fmt == "int8":
        if device == "mps":
            return "int8 weights (torchao) do not run on Apple MPS; use --weights-dtype bf16"
        if importlib.util.find_spec("torchao") is None:
            return "int8 weights need torchao, which is not installed: pip install torchao"
    if fmt == "fp8" and device == "mps":
        return "fp8 weights do not run on Apple MPS (no float8 support there); use bf16"
    return None


# -- estimates ---------------------------------------------------------------------------------
def step_seconds(tokens: int, speed: float) -> float:
    """Compute time of one two-pass step with everything on the GPU."""
    return _fit(_H200_STEP_S, tokens, quadratic=True) / speed


def _cached_share(run: RunShape) -> float:
    """Share of the steps whose transformer passes run in full (step caching skips the rest;
    a predicted step is assumed to cost nothing)."""
    if run.quality == "exact" or run.steps <= 0:
        return 1.0
    return full_steps(run.steps) / run.steps


def _activations(run: RunShape, batch: bool, slicing: bool) -> tuple[int, int]:
    """(transformer, VAE decode) activation bytes of this run."""
    transformer = run.tokens * _TRANSFORMER_BYTES_PER_TOKEN * (2 if batch else 1)
    vae = run.frame_tokens * _VAE_BYTES_PER_FRAME_TOKEN * (1 if slicing else run.layers)
    return transformer, vae


def _peak(plan: MemoryPlan, sizes: ModelSizes, run: RunShape) -> int:
    """Estimated GPU peak of a placement: the largest of its phases (encode, denoise, decode)."""
    wt = format_bytes("transformer", sizes.transformer, plan.transformer_format)
    we = format_bytes("text_encoder", sizes.text_encoder, plan.text_encoder_format)
    wv = sizes.vae
    act, vae = _activations(run, plan.batch_cfg, plan.vae_slicing)
    if plan.offload == "none":  # measured additive: both stay allocated
        return wt + we + wv + act + vae + _MARGIN
    if plan.offload == "model":
        return max(wt + act, wv + vae, we) + _MARGIN
    if plan.offload == "group":
        resident_te = we if plan.text_encoder == "gpu" else 0
        streamed = int(2 * wt / _TRANSFORMER_BLOCKS + _KEPT["transformer"] * wt)
        encode = we + wv if plan.text_encoder == "swap" else 0
        return max(streamed + act, vae, encode) + wv + resident_te + _MARGIN
    return max(act, vae) + _MARGIN  # sequential: only activations stay on the GPU


def _seconds(plan: MemoryPlan, sizes: ModelSizes, run: RunShape, machine: Machine) -> float | None:
    """Projected seconds of a placement (see the constants above for what is measured)."""
    if machine.speed is None:
        return None
    speed, link = machine.speed, machine.link_bps
    wt = format_bytes("transformer", sizes.transformer, plan.transformer_format)
    we = format_bytes("text_encoder", sizes.text_encoder, plan.text_encoder_format)
    pass_s = step_seconds(run.tokens, speed) / 2
    passes = run.passes
    overhead = _fit(_H200_OVERHEAD_S, run.tokens, quadratic=False) / speed
    te_in = 0.0  # bringing the text encoder in once (swap, stream)
    if plan.offload in ("none", "model"):
        step = passes * pass_s
        if plan.offload == "model":
            overhead += 2 * (wt + we) / _PAGEABLE_MOVE_BPS
    elif plan.offload == "group":
        stream = wt / link * _STREAM_OVERHEAD
        step = max(passes * pass_s, stream) if plan.batch_cfg else passes * max(pass_s, stream)
        if plan.text_encoder != "gpu":
            te_in = we / link * _STREAM_OVERHEAD
    else:
        step = passes * pass_s + (1 if plan.batch_cfg else passes) * wt / _SEQUENTIAL_BPS
    seconds = run.steps * step * _cached_share(run) + overhead + te_in
    if run.caption:
        per_token = _CAPTION_TOKEN_S / speed
        if plan.text_encoder == "stream":
            per_token += we / link * _STREAM_OVERHEAD
        elif plan.offload == "sequential":
            per_token += we / _SEQUENTIAL_BPS
        seconds += _CAPTION_TOKENS * per_token
    if plan.names:
        seconds += 1.0 / speed + te_in
    return seconds


def _formats_for(requested: str, run: RunShape) -> tuple[str, ...]:
    if requested != "auto":
        return (requested,)
    # `exact` keeps the paper's bf16; the presets that already trade exactness may store fp8.
    return ("bf16",) if run.quality == "exact" else ("bf16", "fp8")


def _te_placements(mode: str, ef: str) -> tuple[str, ...]:
    if mode == "none":
        return ("gpu",)
    if mode in ("model", "sequential"):
        return ("accelerate",)
    return ("gpu", "swap", "stream") if ef in ("bf16", "fp8") else ("gpu",)


def _explain(plan: MemoryPlan, free: int, asked: bool) -> str:
    need = f"{plan.gpu_bytes / _GIB:.1f} GiB" if plan.gpu_bytes else "?"
    have = f"{free / _GIB:.1f} GiB free"
    if asked:
        return f"as asked; needs ~{need} of {have}"
    words = {
        "none": "the whole model and this run fit",
        "model": "the largest part and its work fit, the whole model does not: model CPU offload",
        "group": "the transformer is streamed block by block from pinned host memory",
        "sequential": "sequential CPU offload (slow, but fits small GPUs)",
    }[plan.offload]
    return f"{words} (~{need} of {have})"


def plan_memory(
    requested: str,
    device: str,
    sizes: ModelSizes,
    run: RunShape,
    weights: str | None = "auto",
    free: int | None = None,
    machine: Machine | None = None,
    transformer_file_format: str | None = None,
) -> MemoryPlan:
    """Resolve --offload and --weights-dtype for this run on this machine: the fastest placement
    whose estimated GPU peak fits the free memory (or the one asked for). A transformer from a
    single file (`transformer_file_format`, gguf or bf16) fixes the transformer's format."""
    requested = (requested or "auto").lower()
    if requested not in ("auto", *OFFLOAD_MODES):
        raise DecomposeError(
            f"unknown offload mode '{requested}'; choose auto, none, model, group or sequential"
        )
    want_t, want_e = parse_weights_dtype(weights)
    if transformer_file_format == "gguf":
        if want_t not in ("auto", "gguf"):
            raise DecomposeError(
                "a GGUF transformer keeps its file's quantization; drop --weights-dtype for the "
                "transformer (text_encoder=FORMAT still works)"
            )
        want_t = "gguf"
    elif transformer_file_format and want_t in ("int8", "nf4"):
        raise DecomposeError(
            f"{want_t} is applied while loading a folder, not to a single transformer file; use "
            "bf16 or fp8 with --model FILE"
        )
    for fmt in {want_t, want_e} - {"auto", "gguf"}:
        problem = format_problem(fmt, device)
        if problem:
            raise DecomposeError(problem)
    if machine is None:
        machine = Machine(device, free if free is not None else 0)
    elif free is not None:
        machine = replace(machine, free=free)
    if device == "mps":
        if want_t == "gguf":
            raise DecomposeError("GGUF transformers are not supported on Apple MPS here")
        return _plan_unified(requested, sizes, run, machine)
    if device != "cuda":
        return _plan_cpu(requested, device, want_t, want_e, run)

    modes = OFFLOAD_MODES if requested == "auto" else (requested,)
    candidates: list[tuple[MemoryPlan, bool]] = []
    for mode in modes:
        for tf in _formats_for(want_t, run):
            if mode not in _MODES_FOR_FORMAT[tf]:
                continue
            for ef in _formats_for(want_e, run):
                if mode == "sequential" and ef != "bf16":
                    continue  # accelerate's per-layer hooks move plain bf16 tensors only
                # Batching CFG halves the streamed bytes but doubles the activations.
                batches = (True, False) if run.passes == 2 and mode in STREAMED_MODES else (False,)
                for te, batch, slicing in itertools.product(
                    _te_placements(mode, ef), batches, (False, True)
                ):
                    plan = MemoryPlan(
                        offload=mode, reason="", transformer_format=tf,
                        text_encoder_format=ef, text_encoder=te, batch_cfg=batch,
                        vae_slicing=slicing,
                        names=run.names and te != "stream" and mode != "sequential",
                    )
                    peak = _peak(plan, sizes, run)
                    plan = replace(plan, gpu_bytes=peak,
                                   expected_s=_seconds(plan, sizes, run, machine))
                    candidates.append((plan, peak <= machine.free))
    if not candidates:
        fmt = want_t if want_t != "auto" else want_e
        raise DecomposeError(
            f"--offload {requested} cannot hold {fmt} weights (those tensors stay where they "
            "were loaded); use --offload none or model, or --weights-dtype bf16/fp8"
        )
    fitting = [plan for plan, fits in candidates if fits]
    if requested != "auto":
        pool = fitting or [plan for plan, _ in candidates]
        best = _fastest(pool)
        best = replace(best, reason=_explain(best, machine.free, asked=True))
        if not fitting:
            best = replace(best, reason=best.reason + "; it may run out of memory")
    elif fitting:
        best = _fastest(fitting)
        best = replace(best, reason=_explain(best, machine.free, asked=False))
    else:
        # Nothing is estimated to fit: the least memory, and say what to lower.
        best = min((plan for plan, _ in candidates), key=lambda p: (p.gpu_bytes or 0, _rank(p)))
        best = replace(
            best,
            reason=f"only {machine.free / _GIB:.1f} GiB free: {best.offload} offload needs "
            f"~{(best.gpu_bytes or 0) / _GIB:.1f} GiB; lower the resolution or the layer count "
            "if it runs out of memory",
        )
    host_pinned = _pinned_bytes(best, sizes)
    if best.offload == "group" and machine.host is not None:
        if host_pinned + _HOST_HEADROOM > machine.host:
            best = replace(best, low_cpu_mem_usage=True,
                           reason=best.reason + "; weights pinned on the fly (little host RAM)")
    return best


def _rank(plan: MemoryPlan) -> tuple:
    """Simplest first: fewer moving parts, bf16, unsliced, then faster."""
    return (OFFLOAD_MODES.index(plan.offload), _FORMAT_ORDER.index(plan.transformer_format),
            _FORMAT_ORDER.index(plan.text_encoder_format), plan.vae_slicing, not plan.batch_cfg,
            _TE_ORDER.index(plan.text_encoder), plan.expected_s or 0.0)


def _fastest(plans: list[MemoryPlan]) -> MemoryPlan:
    """The simplest plan within 5% (+1 s) of the fastest: a projection is not precise enough
    to trade a resident model for streamed weights over a second."""
    known = [p.expected_s for p in plans if p.expected_s is not None]
    if not known:
        return min(plans, key=_rank)
    limit = min(known) * (1 + _TIE) + 1.0
    return min((p for p in plans if p.expected_s is not None and p.expected_s <= limit),
               key=_rank)


def _pinned_bytes(plan: MemoryPlan, sizes: ModelSizes) -> int:
    pinned = format_bytes("transformer", sizes.transformer, plan.transformer_format)
    if plan.text_encoder in ("swap", "stream"):
        pinned += format_bytes("text_encoder", sizes.text_encoder, plan.text_encoder_format)
    return pinned


def _plan_cpu(requested: str, device: str, want_t: str, want_e: str, run: RunShape) -> MemoryPlan:
    tf = "bf16" if want_t == "auto" else want_t
    ef = "bf16" if want_e == "auto" else want_e
    if requested == "group":
        for fmt in (tf, ef if ef in ("int8", "nf4") else tf):
            if "group" not in _MODES_FOR_FORMAT[fmt]:
                raise DecomposeError(
                    f"--offload group cannot hold {fmt} weights; use --offload none or model"
                )
        # On the CPU, group offloading moves nothing (onload = offload = CPU); honoured so the
        # hook path can be exercised, and harmless.
        return MemoryPlan("group", "as asked (on the CPU it moves nothing)", tf, ef, "gpu",
                          batch_cfg=run.passes == 2, names=run.names, device=device)
    return MemoryPlan("none", f"no offload on {device}", tf, ef, "gpu", names=run.names,
                      device=device)


def _plan_unified(requested: str, sizes: ModelSizes, run: RunShape, machine: Machine) -> MemoryPlan:
    """Apple silicon: one memory for CPU and GPU, so offloading only helps by freeing the part
    not in use; bf16 only (fp8/int8/nf4 do not run on MPS). Untested: no Mac here."""
    whole = sizes.transformer + sizes.text_encoder + sizes.vae
    act, vae = _activations(run, batch=False, slicing=True)
    need = whole + act + vae + _MARGIN
    if requested in ("none", "model"):
        mode = requested
    elif requested in ("group", "sequential"):
        raise DecomposeError(
            f"--offload {requested} needs CUDA; on Apple MPS use --offload auto, none or model"
        )
    else:
        mode = "none" if machine.free >= need else "model"
    reason = (
        f"unified memory: ~{need / _GIB:.0f} GiB needed, {machine.free / _GIB:.0f} GiB usable"
        + ("" if mode == "none" else "; model offload frees the part not in use")
    )
    return MemoryPlan(mode, reason, "bf16", "bf16", "gpu" if mode == "none" else "accelerate",
                      vae_slicing=True, names=run.names, gpu_bytes=need, device="mps")
