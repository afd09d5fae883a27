"""The `qwen` decomposer: Qwen-Image-Layered through diffusers' QwenImageLayeredPipeline."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator
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
from model.qwen.pipeline import PipelineCache, PipelineKey, is_oom, oom_message, package_problem
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
    if options.refine not in REFINE_MODES:
        raise DecomposeError(f"--refine must be auto or off, not {options.refine}")
    return layers


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
        report = inspect_weights(options.model)
        problem = weights_problem(report)
        if problem:
            return Availability(False, problem)
        where = f"weights at {report.path}"
        if device == "cpu":
            return Availability(True, f"{where}; on the CPU as asked (very slow)")
        return Availability(True, f"{where}; GPU: {describe_gpu(device)}")

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
        started = time.perf_counter()
        rgba = as_rgba(rgba)
        layers = validate(options)  # fail fast, before anything is loaded
        problem = package_problem(options.offload)
        if problem:
            raise DecomposeError(problem)
        width, height = checked_bucket(rgba.shape[1], rgba.shape[0], options.resolution)
        report = inspect_weights(options.model or DEFAULT_MODEL)
        problem = weights_problem(report)
        if problem:
            raise DecomposeError(problem)
        device, warnings = devices.pick_device(options.device)
        largest = max(report.component_bytes.values(), default=0)
        tokens = devices.image_tokens(layers, width, height)
        plan = devices.plan_memory(options.offload, device, report.total_bytes, largest, tokens)
        if cancel is not None:
            cancel.check()
        if plan.offload != "none":
            warnings.append(f"memory: {plan.offload} CPU offload ({plan.reason})")
        with self.cache.lock:
            if progress is not None:
                message = f"{report.path} on {device} (offload: {plan.offload})"
                progress(Progress("loading", 0, 0, message))
            t = time.perf_counter()
            pipe, loaded = self.cache.get(
                PipelineKey(str(report.path), device, plan.offload, DTYPE)
            )
            load = time.perf_counter() - t if loaded else 0.0
            result = self.run_pipeline(
                pipe, rgba, options, progress, cancel, device=device, offload=plan.offload
            )
        result.timings = {"load": load, **result.timings}
        result.timings["total"] = time.perf_counter() - started
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
    ) -> DecomposeResult:
        """Run an already loaded pipeline (the benchmark passes one built from random weights)."""
        started = time.perf_counter()
        rgba = as_rgba(rgba)
        layers = validate(options)
        bucket = checked_bucket(rgba.shape[1], rgba.shape[0], options.resolution)
        run = _Run(progress, cancel, options.steps)
        timings: dict[str, float] = {}
        failure: BaseException | None = None
        try:
            frames, caption = self._call(pipe, rgba, layers, options, run, timings, offload, bucket)
        except Cancelled:
            failure = Cancelled("decomposition cancelled")
        except DecomposeError as exc:
            failure = DecomposeError(str(exc))
        except Exception as exc:
            if not is_oom(exc):
                self._recover(pipe)
                raise
            failure = DecomposeError(oom_message(device, offload))
        if failure is not None:
            # Outside the handler the original exception, and the pipeline frames (latents,
            # activations) its traceback holds, are released, so the memory can really go back.
            self._recover(pipe)
            raise failure
        names = [_layer_name(i) for i in range(len(frames))]
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
            reconstruction_db=quality,
        )
        return measure(result, rgba)

    def _call(
        self,
        pipe: Any,
        rgba: np.ndarray,
        layers: int,
        options: DecomposeOptions,
        run: _Run,
        timings: dict[str, float],
        offload: str,
        bucket: tuple[int, int],
    ) -> tuple[list[np.ndarray], str]:
        import torch

        image = Image.fromarray(rgba, "RGBA")
        seed = options.seed if options.seed is not None else random.randrange(2**31)
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        prompt = (options.prompt or "").strip()
        with _hooks(pipe, run), torch.inference_mode():
            if not prompt:
                # Caption here (the pipeline would do the same) so the caption reaches the user.
                run.report("captioning", 0, 0, "describing the image")
                t = time.perf_counter()
                width, height = bucket
                prompt_image = pipe.image_processor.resize(image, height, width)
                run.captioning = True
                if offload == "model":
                    # transformers 5 encodes the image outside the text encoder's forward(), so
                    # the offload hook would leave the vision tower on the CPU (seen on an H200:
                    # "Input type (CUDABFloat16Type) and weight type (CPUBFloat16Type)"). The
                    # transformer's hook moves it back to the CPU as usual.
                    pipe.text_encoder.to(pipe._execution_device)
                try:
                    prompt = pipe.get_image_caption(
                        prompt_image,
                        use_en_prompt=options.use_en_prompt,
                        device=pipe._execution_device,
                    ).strip()
                finally:
                    run.captioning = False
                timings["caption"] = time.perf_counter() - t
                prompt = prompt or CAPTION_FALLBACK
            run.report("denoising", 0, options.steps)
            t = time.perf_counter()
            output = pipe(
                image=image,
                prompt=prompt,
                negative_prompt=options.negative_prompt,
                true_cfg_scale=options.cfg,
                layers=layers,
                num_inference_steps=options.steps,
                generator=generator,
                output_type="np",
                callback_on_step_end=run.on_step_end,
                resolution=options.resolution,
                cfg_normalize=options.cfg_normalize,
                use_en_prompt=options.use_en_prompt,
            )
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
        return list(frames), prompt

    def _recover(self, pipe: Any) -> None:
        # After an exception the pipeline's offload hooks may hold models on the GPU.
        with contextlib.suppress(Exception):
            pipe.maybe_free_model_hooks()
        devices.free_memory()


def _layer_name(index: int) -> str:
    return "Background" if index == 0 else f"Layer {index}"


def describe_gpu(device: str) -> str:
    torch = devices.torch_module()
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        return f"{props.name} ({props.total_memory / 1024**3:.0f} GiB)"
    return "Apple MPS"
