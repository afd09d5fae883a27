"""The `qwen` decomposer: Qwen-Image-Layered through diffusers' QwenImageLayeredPipeline."""

from __future__ import annotations

import contextlib
import importlib.util
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from model.base import (
    REFINE_MODES,
    Availability,
    Cancelled,
    CancelToken,
    DecomposedLayer,
    DecomposeError,
    DecomposeOptions,
    DecomposeResult,
    Progress,
    ProgressCallback,
    as_rgba,
)
from model.qwen import device as devices
from model.qwen import names as naming
from model.qwen import single_file
from model.qwen.pipeline import PipelineCache, PipelineKey, is_oom, oom_message, package_problem
from model.qwen.plan import (
    REAL_SIZES,
    MemoryPlan,
    ModelSizes,
    RunShape,
    parse_weights_dtype,
    plan_memory,
)
from model.qwen.presets import QUALITIES, Preset, preset
from model.qwen.resample import resize_layer
from model.qwen.weights import DEFAULT_MODEL, WeightsReport, inspect_weights
from model.refine.results import measure, refined_layers

MIN_LAYERS, MAX_LAYERS, DEFAULT_LAYERS = 2, 20, 4
MIN_STEPS = 2
RESOLUTIONS = (640, 1024)
DTYPE = "bfloat16"  # also on the CPU: float32 would need ~110 GB of RAM for the real model
CAPTION_FALLBACK = "an image"


def weights_problem(report: WeightsReport) -> str | None:
    if not report.found:
        return report.problems[0]
    if report.problems:
        return (
            f"the weights in {report.path} are incomplete ({len(report.problems)} problems, "
            f"first: {report.problems[0]}); run `python main.py models` for the list and "
            "`python main.py models download` to finish the download"
        )
    return None


def bucket_size(width: int, height: int, resolution: int) -> tuple[int, int]:
    """The (width, height) the pipeline resizes the input to, from its own helper."""
    from diffusers.pipelines.qwenimage.pipeline_qwenimage_layered import calculate_dimensions

    w, h = calculate_dimensions(resolution * resolution, width / height)
    return int(w), int(h)


def checked_bucket(width: int, height: int, resolution: int) -> tuple[int, int]:
    """The pipeline's working size for this input (`bucket_size`). It rounds each side to 32
    px, and a side of 0 would crash: too elongated an input is refused here."""
    w, h = bucket_size(width, height, resolution)
    if min(w, h) < 32:
        ratio = max(width, height) / min(width, height)
        raise DecomposeError(
            f"the image is too elongated for the model ({ratio:.0f}:1); crop it, or pad it "
            "towards a square, and try again"
        )
    return w, h


def validate(options: DecomposeOptions) -> int:
    layers = DEFAULT_LAYERS if options.layers is None else int(options.layers)
    if not MIN_LAYERS <= layers <= MAX_LAYERS:
        raise DecomposeError(
            f"qwen decomposes into {MIN_LAYERS} to {MAX_LAYERS} layers, not {layers}"
        )
    if options.resolution not in RESOLUTIONS:
        raise DecomposeError(f"--resolution must be 640 or 1024, not {options.resolution}")
    if options.steps < MIN_STEPS:
        # one step divides by zero in the model's shift-to-terminal schedule (NaN output)
        raise DecomposeError(f"--steps must be at least {MIN_STEPS}, not {options.steps}")
    if (options.quality or "exact").lower() not in QUALITIES:
        raise DecomposeError(f"unknown quality '{options.quality}'; choose exact, fast or draft")
    parse_weights_dtype(options.weights_dtype)
    if options.refine not in REFINE_MODES:
        raise DecomposeError(f"--refine must be auto or off, not {options.refine}")
    return layers


def weights_report(model: str | None) -> tuple[WeightsReport, Path | None]:
    """The weights' report, and the single transformer file when `model` names one."""
    file = single_file.transformer_file(model)
    if file is None:
        return inspect_weights(model or DEFAULT_MODEL), None
    if file.suffix.lower() == ".gguf" and importlib.util.find_spec("gguf") is None:
        raise DecomposeError("GGUF files need the gguf package, which is not installed: "
                             "pip install gguf")
    return single_file.inspect(model or "", file), file


def plan_run(
    options: DecomposeOptions, device: str, report: WeightsReport, layers: int,
    bucket: tuple[int, int], chosen: Preset, file: Path | None = None,
    machine: Any = None,
) -> MemoryPlan:
    """The memory plan and expected time of this run on this machine."""
    sizes = ModelSizes.from_components(report.component_bytes) if report.found else REAL_SIZES
    if not sizes.transformer:
        sizes = REAL_SIZES
    width, height = bucket
    run = RunShape(
        layers, (width // 16) * (height // 16), steps=chosen.steps, cfg=chosen.cfg,
        caption=not (options.prompt or "").strip(), names=options.names, quality=chosen.quality,
    )
    return plan_memory(
        options.offload, device, sizes, run, options.weights_dtype,
        machine=machine or devices.machine(device),
        transformer_file_format=single_file.file_format(file) if file else None,
    )


class _Run:
    """Progress, cancel and phase timing for one pipeline call."""

    def __init__(
        self, progress: ProgressCallback | None, cancel: CancelToken | None, steps: int
    ) -> None:
        self.progress = progress
        self.cancel = cancel
        self.steps = steps
        self.tokens = 0
        self.captioning = False
        self.denoise_done: float | None = None

    def report(self, phase: str, step: int = 0, total: int = 0, message: str = "") -> None:
        if self.progress is not None:
            self.progress(Progress(phase, step, total, message))

    def check(self) -> None:
        if self.cancel is not None:
            self.cancel.check()

    def forward_pre_hook(self, _module: Any, _args: Any) -> None:
        # Checked before every text-encoder and transformer forward: cancel within one pass.
        self.check()
        if self.captioning:
            self.tokens += 1
            self.report("captioning", self.tokens, 0, f"{self.tokens} tokens")

    def on_step_end(self, _pipe: Any, index: int, _t: Any, kwargs: dict) -> dict:
        self.report("denoising", index + 1, self.steps)
        self.check()  # raising here is the hard cancel: nothing is decoded
        if index + 1 == self.steps:
            self.denoise_done = time.perf_counter()
            self.report("decoding", 0, 0, "decoding layers with the VAE")
        return kwargs


@contextlib.contextmanager
def _hooks(pipe: Any, run: _Run) -> Iterator[None]:
    handles = [
        module.register_forward_pre_hook(run.forward_pre_hook)
        for module in (pipe.text_encoder, pipe.transformer)
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class QwenDecomposer:
    name = "qwen"
    description = "Qwen-Image-Layered (the paper's model) through diffusers; needs a GPU"

    def __init__(self) -> None:
        self.cache = PipelineCache()

    # -- availability ---------------------------------------------------------------------
    def availability(self, options: DecomposeOptions | None = None) -> Availability:
        options = options or DecomposeOptions()
        problem = package_problem(options.offload)
        if problem:
            return Availability(False, problem)
        requested = (options.device or "auto").lower()
        try:
            device, _ = devices.pick_device(requested)
        except DecomposeError as exc:
            return Availability(False, str(exc))
        if device == "cpu" and requested == "auto":
            return Availability(
                False,
                "no CUDA or Apple MPS GPU was found and Qwen-Image-Layered on the CPU takes "
                "hours per image; choose the CPU device explicitly to run it anyway "
                "(Device: CPU in the Decompose dialog, or --device cpu)",
            )
        try:
            report, _file = weights_report(options.model)
        except DecomposeError as exc:
            return Availability(False, str(exc))
        problem = weights_problem(report)
        if problem:
            return Availability(False, problem)
        where = f"weights at {report.path}"
        if _file is not None:
            where = f"transformer {_file.name} with the rest at {report.path}"
        if device == "cpu":
            return Availability(True, f"{where}; on the CPU as asked (very slow)")
        return Availability(True, f"{where}; GPU: {describe_gpu(device)}")

    def plans(self, options: DecomposeOptions | None = None) -> dict[str, MemoryPlan]:
        """The plan (placement, formats, expected seconds) of each quality preset for a run
        with these options on this machine, for a square picture; loads no model. Empty when
        the qwen packages or a usable device are missing."""
        options = options or DecomposeOptions()
        if package_problem("none"):
            return {}
        try:
            device, _ = devices.pick_device(options.device)
            report, file = weights_report(options.model)
            machine = devices.machine(device)
            layers = DEFAULT_LAYERS if options.layers is None else int(options.layers)
            side = options.resolution
            out = {}
            for quality in QUALITIES:
                chosen = preset(quality, options.steps, options.cfg)
                out[quality] = plan_run(options, device, report, layers, (side, side), chosen,
                                        file, machine)
            return out
        except DecomposeError:
            return {}

    # -- memory ---------------------------------------------------------------------------
    def unload(self) -> bool:
        """Drop the loaded pipeline and free its GPU memory."""
        return self.cache.unload()

    # -- decomposition --------------------------------------------------------------------
    def decompose(
        self,
        rgba: np.ndarray,
        options: DecomposeOptions,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> DecomposeResult:
        from model.qwen.placement import compile_wanted

        started = time.perf_counter()
        rgba = as_rgba(rgba)
        layers = validate(options)  # fail fast, before anything is loaded
        problem = package_problem(options.offload)
        if problem:
            raise DecomposeError(problem)
        bucket = checked_bucket(rgba.shape[1], rgba.shape[0], options.resolution)
        report, file = weights_report(options.model)
        problem = weights_problem(report)
        if problem:
            raise DecomposeError(problem)
        device, warnings = devices.pick_device(options.device)
        chosen = preset(options.quality, options.steps, options.cfg)
        plan = plan_run(options, device, report, layers, bucket, chosen, file)
        if cancel is not None:
            cancel.check()
        if plan.offload != "none" or chosen.quality != "exact" or plan.transformer_format != "bf16":
            warnings.append(f"plan: {plan.summary()} ({plan.reason})")
        with self.cache.lock:
            if progress is not None:
                message = f"{report.path} on {device} ({plan.summary()})"
                progress(Progress("loading", 0, 0, message))
            t = time.perf_counter()
            key = PipelineKey.for_plan(str(report.path), device, plan,
                                       str(file) if file else None, compile_wanted(plan, device))
            pipe, loaded = self.cache.get(key)
            load = time.perf_counter() - t if loaded else 0.0
            result = self.run_pipeline(
                pipe, rgba, options, progress, cancel, device=device, offload=plan.offload,
                plan=plan,
            )
        result.timings = {"load": load, **result.timings}
        result.timings["total"] = time.perf_counter() - started
        if plan.expected_s is not None:
            result.timings["expected"] = round(plan.expected_s, 1)
        result.warnings = warnings + result.warnings
        return result

    def run_pipeline(
        self,
        pipe: Any,
        rgba: np.ndarray,
        options: DecomposeOptions,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        device: str = "cuda",
        offload: str = "none",
        plan: MemoryPlan | None = None,
    ) -> DecomposeResult:
        """Run an already loaded pipeline (the benchmark passes one built from random weights,
        placed with `placement.place`). `plan` carries the per-run choices (batched CFG, VAE
        slicing, names); without one the call is the plain one in `offload` mode."""
        started = time.perf_counter()
        rgba = as_rgba(rgba)
        layers = validate(options)
        bucket = checked_bucket(rgba.shape[1], rgba.shape[0], options.resolution)
        chosen = preset(options.quality, options.steps, options.cfg)
        plan = plan or MemoryPlan(offload, "as asked", names=options.names)
        run = _Run(progress, cancel, chosen.steps)
        timings: dict[str, float] = {}
        notes: list[str] = []
        failure: BaseException | None = None
        try:
            frames, caption, names = self._call(
                pipe, rgba, layers, options, chosen, plan, run, timings, bucket, notes
            )
        except Cancelled:
            failure = Cancelled("decomposition cancelled")
        except DecomposeError as exc:
            failure = DecomposeError(str(exc))
        except Exception as exc:
            if not is_oom(exc):
                self._recover(pipe)
                raise
            failure = DecomposeError(oom_message(device, plan.offload))
        if failure is not None:
            # Outside the handler the original exception, and the pipeline frames (latents,
            # activations) its traceback holds, are released, so the memory can really go back.
            self._recover(pipe)
            raise failure
        if options.refine == "off":
            t = time.perf_counter()
            height, width = rgba.shape[:2]
            out = [
                DecomposedLayer(resize_layer(frame, width, height), name)
                for frame, name in zip(frames, names)
            ]
            timings["resize"] = time.perf_counter() - t
            quality = None
        else:
            # The model's layers come back at its bucket size and do not quite reproduce the
            # input: refined against it, they are full resolution and exact.
            run.report("refining", 0, 0, "bringing the layers to full resolution")
            out, quality = refined_layers(rgba, frames, names, timings, check=run.check)
        timings["total"] = time.perf_counter() - started
        result = DecomposeResult(
            layers=out, backend=self.name, device=device, caption=caption, timings=timings,
            warnings=notes, reconstruction_db=quality,
        )
        return measure(result, rgba)

    def _call(
        self,
        pipe: Any,
        rgba: np.ndarray,
        layers: int,
        options: DecomposeOptions,
        chosen: Preset,
        plan: MemoryPlan,
        run: _Run,
        timings: dict[str, float],
        bucket: tuple[int, int],
        notes: list[str],
    ) -> tuple[list[np.ndarray], str, list[str]]:
        import torch

        placed = getattr(pipe, "strata", None)
        swap = placed.swap if placed is not None else None
        hook = placed.cfg_hook if placed is not None else None
        image = Image.fromarray(rgba, "RGBA")
        seed = options.seed if options.seed is not None else random.randrange(2**31)
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        prompt = (options.prompt or "").strip()
        guided = chosen.cfg > 1
        device = pipe._execution_device
        with _hooks(pipe, run), _per_run(pipe, chosen, plan), torch.inference_mode():
            if swap is not None:
                swap.onload()
            if not prompt:
                # Caption here (the pipeline would do the same) so the caption reaches the user.
                run.report("captioning", 0, 0, "describing the image")
                t = time.perf_counter()
                width, height = bucket
                prompt_image = pipe.image_processor.resize(image, height, width)
                run.captioning = True
                if plan.offload == "model":
                    # transformers 5 encodes the image outside the text encoder's forward(), so
                    # the offload hook would leave the vision tower on the CPU (seen on an H200:
                    # "Input type (CUDABFloat16Type) and weight type (CPUBFloat16Type)"). The
                    # transformer's hook moves it back to the CPU as usual.
                    pipe.text_encoder.to(device)
                try:
                    prompt = pipe.get_image_caption(
                        prompt_image, use_en_prompt=options.use_en_prompt, device=device
                    ).strip()
                finally:
                    run.captioning = False
                timings["caption"] = time.perf_counter() - t
                prompt = prompt or CAPTION_FALLBACK
            # Both prompts are encoded here, as the pipeline would, so that the text encoder
            # can leave the GPU before the transformer runs and the batched-CFG hook knows the
            # negative prompt from the first step.
            t = time.perf_counter()
            embeds = _encoded(pipe, prompt, device)
            negative = _encoded(pipe, options.negative_prompt, device) if guided else None
            if swap is not None:
                swap.offload()
            timings["encode"] = time.perf_counter() - t
            if hook is not None and plan.batch_cfg and negative is not None:
                hook.arm(*negative)
            run.report("denoising", 0, chosen.steps)
            t = time.perf_counter()
            try:
                output = pipe(
                    image=image,
                    prompt=prompt,
                    prompt_embeds=embeds[0],
                    prompt_embeds_mask=embeds[1],
                    negative_prompt_embeds=negative[0] if negative else None,
                    negative_prompt_embeds_mask=negative[1] if negative else None,
                    true_cfg_scale=chosen.cfg,
                    layers=layers,
                    num_inference_steps=chosen.steps,
                    generator=generator,
                    output_type="np",
                    callback_on_step_end=run.on_step_end,
                    resolution=options.resolution,
                    cfg_normalize=options.cfg_normalize,
                    use_en_prompt=options.use_en_prompt,
                )
            finally:
                if hook is not None:
                    hook.disarm()
            end = time.perf_counter()
            denoised = run.denoise_done or end
            timings["denoise"] = denoised - t
            timings["decode"] = end - denoised
            frames = output.images[0]  # (layers, H, W, 4) floats, bottom layer first
            if len(frames) != layers:
                raise DecomposeError(f"the pipeline returned {len(frames)} layers, not {layers}")
            if not np.isfinite(frames).all():
                raise DecomposeError(
                    "the model produced invalid values (NaN); try another --seed or more --steps"
                )
            names = [naming.fallback_name(i) for i in range(layers)]
            if options.names and plan.names:
                run.report("naming", 0, 0, "naming the layers")
                t = time.perf_counter()
                if swap is not None:
                    swap.onload()
                elif plan.offload == "model":
                    pipe.text_encoder.to(device)  # same reason as for the caption
                try:
                    names, why = naming.layer_names(pipe, list(frames), device)
                finally:
                    if swap is not None:
                        swap.offload()
                    elif plan.offload == "model":
                        pipe.maybe_free_model_hooks()
                timings["names"] = time.perf_counter() - t
                if why:
                    notes.append(why)
            elif options.names:
                notes.append("layer names skipped: the text encoder is streamed in this plan")
        return list(frames), prompt, names

    def _recover(self, pipe: Any) -> None:
        # After an exception the pipeline's offload hooks may hold models on the GPU.
        placed = getattr(pipe, "strata", None)
        if placed is not None:
            placed.cfg_hook.disarm()
            if placed.swap is not None:
                placed.swap.offload()
        with contextlib.suppress(Exception):
            pipe.maybe_free_model_hooks()
        devices.free_memory()


def _encoded(pipe: Any, text: str, device: Any) -> tuple[Any, Any]:
    """(embeds, mask) as the pipeline's encode_prompt gives them; the mask is all ones when it
    returns none (passing it keeps the pipeline from warning; it drops an all-ones mask)."""
    import torch

    embeds, mask = pipe.encode_prompt(prompt=text, device=device)
    if mask is None:
        mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)
    return embeds, mask


@contextlib.contextmanager
def _per_run(pipe: Any, chosen: Preset, plan: MemoryPlan) -> Iterator[None]:
    """The run's step cache and VAE slicing, undone afterwards (the pipeline stays loaded)."""
    transformer = pipe.transformer
    if plan.vae_slicing:
        pipe.vae.enable_slicing()
    if chosen.cache:
        transformer.enable_cache(chosen.cache_config())
    try:
        yield
    finally:
        if chosen.cache:
            transformer.disable_cache()
        if plan.vae_slicing:
            pipe.vae.disable_slicing()


def describe_gpu(device: str) -> str:
    torch = devices.torch_module()
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        return f"{props.name} ({props.total_memory / 1024**3:.0f} GiB)"
    return "Apple MPS"
