"""Qwen-Image-Layered speed and memory: seconds per denoising step and end to end, at the 640
and 1024 buckets, for 4 layers, and peak GPU memory per memory mode (none / model / sequential
CPU offload).

On a CUDA GPU, without `--model`, the pipeline is built from the real model's configurations
with random weights, in bf16, directly on the GPU (no download; speed and memory do not depend
on the weights' values). With `--model DIR` the real weights are loaded per mode. Every run goes
through the backend's own `run_pipeline` (progress callback, resize to the input size).
Random weights never emit an end-of-text token, so captioning is skipped (a prompt is given)
unless `--caption` is passed, when it runs the pipeline's own 512-token maximum.

Without CUDA it runs the tiny random pipeline (tests' `model/qwen/tiny.py`) and says so: those
numbers measure the pipeline's overhead on this CPU, not the real model.

Prints JSON. Usage:
    python benchmarks/bench_qwen.py [--model DIR] [--modes none,model,sequential]
        [--resolutions 640,1024] [--layers 4] [--steps 4] [--caption] [--tiny]
`projected_50_steps_s` = end to end with the measured per-step time scaled to 50 steps.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.base import DecomposeOptions, Progress  # noqa: E402
from model.qwen import QwenDecomposer  # noqa: E402
from model.qwen.backend import bucket_size  # noqa: E402


def test_image() -> np.ndarray:
    from skimage import data

    return data.astronaut()  # 512x512 RGB photo shipped inside scikit-image


class StepClock:
    """Timestamps of each denoising step (synchronised with the GPU when there is one)."""

    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda
        self.stamps: list[float] = []

    def __call__(self, progress: Progress) -> None:
        if progress.phase == "denoising":
            if self.cuda:
                import torch

                torch.cuda.synchronize()
            self.stamps.append(time.perf_counter())

    def per_step(self) -> tuple[float, float]:
        """(first step, median of the later steps) in seconds."""
        deltas = np.diff(self.stamps).tolist()
        if not deltas:
            return float("nan"), float("nan")
        later = deltas[1:] or deltas
        return deltas[0], statistics.median(later)


def place(pipe, mode: str, device: str) -> None:  # noqa: ANN001
    pipe.remove_all_hooks()
    if mode == "none":
        pipe.to(device)
    elif mode == "model":
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.enable_sequential_cpu_offload(device=device)
    pipe.set_progress_bar_config(disable=True)


def measure(backend, pipe, image, args, mode: str, resolution: int, device: str) -> dict:  # noqa: ANN001
    import torch

    cuda = device == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    options = DecomposeOptions(
        layers=args.layers, steps=args.steps, resolution=resolution, seed=0,
        prompt=None if args.caption else "an astronaut in a white suit holding a helmet",
    )
    clock = StepClock(cuda)
    result = backend.run_pipeline(pipe, image, options, clock, device=device, offload=mode)
    first, step = clock.per_step()
    t = result.timings
    row = {
        "mode": mode,
        "resolution": resolution,
        "bucket": "x".join(map(str, bucket_size(image.shape[1], image.shape[0], resolution))),
        "layers": args.layers,
        "steps": args.steps,
        "first_step_s": round(first, 3),
        "s_per_step": round(step, 3),
        "end_to_end_s": round(t["total"], 2),
        "caption_s": round(t.get("caption", 0.0), 2),
        "denoise_s": round(t["denoise"], 2),
        "decode_s": round(t["decode"], 2),
        "projected_50_steps_s": round(t["total"] + (50 - args.steps) * step, 1),
    }
    if cuda:
        row["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 1024**3, 2)
    row["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="real weights folder (default: random full-size on GPU)")
    parser.add_argument("--modes", default="none,model,sequential")
    parser.add_argument("--resolutions", default="640,1024")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--caption", action="store_true", help="include auto-captioning")
    parser.add_argument("--tiny", action="store_true", help="tiny random pipeline even on a GPU")
    args = parser.parse_args()

    import torch

    from model.qwen.pipeline import load_pipeline
    from model.qwen.tiny import build_pipeline, save_tiny_pipeline

    cuda = torch.cuda.is_available() and not args.tiny
    device = "cuda" if cuda else "cpu"
    modes = args.modes.split(",") if cuda else ["none"]
    resolutions = [int(r) for r in args.resolutions.split(",")]
    image = test_image()
    backend = QwenDecomposer()
    report: dict = {
        "device": torch.cuda.get_device_name(0) if cuda else platform.processor() or "cpu",
        "torch": torch.__version__,
        "dtype": "bfloat16",
        "input": f"{image.shape[1]}x{image.shape[0]} skimage astronaut",
        "results": [],
    }
    started = time.perf_counter()
    pipe = None
    if not cuda:
        report["components"] = "tiny random pipeline (model/qwen/tiny.py) on the CPU: these "
        report["components"] += "numbers measure pipeline overhead, not Qwen-Image-Layered"
        folder = save_tiny_pipeline(Path(tempfile.mkdtemp()) / "tiny")
        pipe = load_pipeline(folder, "cpu", "none")
    elif args.model:
        report["components"] = f"weights from {args.model}"
    else:
        report["components"] = "real model sizes with random weights (20.4B transformer, "
        report["components"] += "8.3B Qwen2.5-VL), bf16, built on the GPU"
        pipe = build_pipeline(seed=0, full_size=True, device="cuda", dtype=torch.bfloat16)
    report["build_s"] = round(time.perf_counter() - started, 1)

    warmed = False  # once: an offload mode's warm-up would stream every weight again
    for mode in modes:
        try:
            if args.model:
                if pipe is not None:
                    del pipe
                    torch.cuda.empty_cache()
                t = time.perf_counter()
                pipe = load_pipeline(Path(args.model), device, mode)
                report.setdefault("load_s", {})[mode] = round(time.perf_counter() - t, 1)
            elif cuda:
                place(pipe, mode, device)
            if cuda and not warmed:  # warm-up: kernels and allocator, not measured
                warmed = True
                backend.run_pipeline(
                    pipe, image, DecomposeOptions(layers=2, steps=2, prompt="warm-up", seed=0),
                    device=device, offload=mode,
                )
            for resolution in resolutions:
                row = measure(backend, pipe, image, args, mode, resolution, device)
                report["results"].append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
        except Exception as exc:  # noqa: BLE001 - report the mode that failed, go on
            report["results"].append({"mode": mode, "error": str(exc).splitlines()[0]})
            print(f"{mode}: {exc}", file=sys.stderr, flush=True)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
