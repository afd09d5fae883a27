"""Refinement (model/refine): speed and memory, and what it brings back on simulated model output.

    python benchmarks/bench_refine.py speed [--sizes 1024 4096] [--layers 6] [--repeats 3]
    python benchmarks/bench_refine.py quality DATASET... [--upscale b 1.5 2 4 6] [--limit N]

Prints one JSON object per line.

speed: a seeded synthetic poster with `--layers` layers, enlarged to size x size as the full
resolution truth, degraded as the model degrades it (model/evaluation/simulate.py, the 640
bucket) and refined back. Each run is a fresh process (inputs loaded from .npy files), so
"peak_rss_mb" is that process's peak resident memory with the picture and the inputs loaded
("base_rss_mb" before refining). Kind "poster": a background and elements; kind "full": every
layer covers the whole canvas with partial alpha (the worst case: all layers visible
everywhere).

quality: each dataset (`python main.py dataset ...`) at each enlargement ("b" = the real 640
bucket, else picture side / F), scored with the LayerD protocol at Merge 0 (as `eval`), for
the plain resize `qwen` used before ("naive") and for refinement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _poster_stack(size: int, layers: int) -> list[np.ndarray]:
    """A synthetic sample with exactly `layers` layers, enlarged to size x size."""
    from model.evaluation.synthetic import generate_sample
    from model.qwen.resample import resize_layer

    index = 0
    while True:
        _, stack, _ = generate_sample(seed=11, index=index)
        if len(stack) == layers:
            break
        index += 1
    return [resize_layer(layer.astype(np.float32) / 255, size, size) for layer in stack]


def _full_stack(size: int, layers: int) -> list[np.ndarray]:
    """Layers that all cover the canvas with partial, varying alpha (the worst case)."""
    rng = np.random.default_rng(5)
    small = 64
    out = []
    for k in range(layers):
        rgba = rng.random((small, small, 4)).astype(np.float32)
        rgba[:, :, 3] = 1.0 if k == 0 else 0.2 + 0.6 * rgba[:, :, 3]
        import cv2

        out.append(
            np.rint(cv2.resize(rgba, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 1) * 255)
            .astype(np.uint8)
        )
    return out


def _prepare(folder: Path, size: int, layers: int, kind: str) -> None:
    from model.evaluation.compose import flatten
    from model.evaluation.simulate import Degradation, degrade

    truth = _poster_stack(size, layers) if kind == "poster" else _full_stack(size, layers)
    picture = flatten(truth)
    frames = degrade(truth, Degradation(), np.random.default_rng(3))
    np.save(folder / "picture.npy", picture)
    for i, frame in enumerate(frames):
        np.save(folder / f"frame{i}.npy", frame)


def _memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process in MB. getrusage's maxrss would carry the
    parent's peak across fork and exec."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _child(folder: str, repeats: int) -> None:
    """Runs in a fresh process: refine the saved inputs `repeats` times, print JSON."""
    from model.refine import refine_layers

    path = Path(folder)
    picture = np.load(path / "picture.npy")
    frames = [np.load(p) for p in sorted(path.glob("frame*.npy"))]
    refine_layers(picture[:64, :64], [f[:8, :8] for f in frames])  # imports, first calls
    base = _memory_mb("VmRSS")
    seconds, reports = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        refined = refine_layers(picture, frames)
        seconds.append(time.perf_counter() - start)
        reports.append(refined.report)
        del refined
    peak = _memory_mb("VmHWM")
    report = reports[-1]
    print(json.dumps({
        "median_s": round(statistics.median(seconds), 3),
        "runs_s": [round(s, 3) for s in seconds],
        "base_rss_mb": round(base),
        "peak_rss_mb": round(peak),
        "reconstruction_db": round(report.psnr_db, 2),
        "exact_share": round(report.exact_share, 5),
        "stages_s": {k: round(v, 3) for k, v in report.timings.items()},
        "model_size": [frames[0].shape[1], frames[0].shape[0]],
    }))


def speed(args: argparse.Namespace) -> None:
    for size in args.sizes:
        for kind in args.kinds:
            with tempfile.TemporaryDirectory() as folder:
                _prepare(Path(folder), size, args.layers, kind)
                out = subprocess.run(
                    [sys.executable, __file__, "_child", folder, str(args.repeats)],
                    capture_output=True, text=True, check=True,
                )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps({
                "bench": "refine speed", "size": size, "layers": args.layers, "kind": kind,
                **result, "cpus": os.cpu_count(), "load": round(os.getloadavg()[0], 2),
                "machine": platform.machine(),
            }), flush=True)


def quality(args: argparse.Namespace) -> None:
    from model.base import DecomposeOptions
    from model.evaluation.runner import evaluate, simulated_predictor

    for dataset in args.datasets:
        for factor in args.upscale:
            upscale = None if factor == "b" else float(factor)
            row: dict = {"bench": "refine quality", "dataset": dataset, "upscale": factor}
            for mode in ("off", "auto"):
                options = DecomposeOptions(refine=mode, seed=args.seed)
                predictor = simulated_predictor(options, upscale)
                report = evaluate(Path(dataset), predictor, limit=args.limit, max_merges=0)
                table = report.table()[0]
                scored = report.scored
                name = "naive" if mode == "off" else "refine"
                row[name] = {
                    "rgb_l1": round(table["rgb_l1"], 5),
                    "alpha_iou": round(table["alpha_iou"], 5),
                    "psnr_mean_db": round(report.summary()["psnr_db"], 2),
                    "psnr_min_db": round(min(r.psnr_db for r in scored), 2),
                    "seconds_per_image": round(report.summary()["seconds_per_image"], 3),
                    "samples": len(scored),
                }
            row["l1_ratio"] = round(row["refine"]["rgb_l1"] / row["naive"]["rgb_l1"], 3)
            row["iou_gain"] = round(row["refine"]["alpha_iou"] - row["naive"]["alpha_iou"], 5)
            print(json.dumps(row), flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        _child(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sp = sub.add_parser("speed")
    sp.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    sp.add_argument("--layers", type=int, default=6)
    sp.add_argument("--kinds", nargs="+", default=["poster", "full"])
    sp.add_argument("--repeats", type=int, default=3)
    sp.set_defaults(run=speed)
    qp = sub.add_parser("quality")
    qp.add_argument("datasets", nargs="+")
    qp.add_argument("--upscale", nargs="+", default=["b", "1.5", "2", "4", "6"])
    qp.add_argument("--limit", type=int, default=None)
    qp.add_argument("--seed", type=int, default=0)
    qp.set_defaults(run=quality)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
