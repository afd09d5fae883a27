"""Cost of the learned layer prior in classic: seconds and peak memory at 1024 px, on and off.

    python benchmarks/bench_prior.py [--size 1024] [--repeats 2]

Each mode runs in its own process (so peak memory is its own): a synthetic poster with a dark
fade over it (the case the prior is for) and the astronaut photo, decomposed with --prior off
and --prior on. Prints one JSON object per line, then one with the differences:
{"mode": "on", "kind": "fade", "median_s": ..., "peak_rss_mb": ..., "prior_fired": true, ...}
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fade_poster(size: int) -> np.ndarray:
    from model.evaluation.synthetic import generate_sample

    composite, _, _ = generate_sample(seed=7, index=3)
    rgb = np.asarray(Image.fromarray(composite).resize((size, size), Image.Resampling.LANCZOS))
    fade = np.linspace(0.0, 0.5, size)[:, None, None]
    out = rgb[:, :, :3] * (1 - fade) + np.array([15, 15, 40]) * fade
    return np.dstack([np.rint(out).astype(np.uint8), np.full((size, size), 255, np.uint8)])


def photo(size: int) -> np.ndarray:
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image.convert("RGBA"))


def child(mode: str, kind: str, size: int, repeats: int) -> None:
    from model.base import DecomposeOptions
    from model.classic import ClassicDecomposer
    from model.prior import runtime

    image = fade_poster(size) if kind == "fade" else photo(size)
    decomposer = ClassicDecomposer()
    decomposer.decompose(photo(64), DecomposeOptions(prior="off"))  # imports, OCR, JIT caches
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = decomposer.decompose(image, DecomposeOptions(prior=mode))
        seconds.append(time.perf_counter() - start)
    infer = None
    if mode == "on":
        prior = runtime.load()
        rgb = image[:, :, :3].astype(np.float32) / 255.0
        start = time.perf_counter()
        prior.predict(rgb)
        infer = round(time.perf_counter() - start, 4)
    print(
        json.dumps(
            {
                "mode": mode,
                "kind": kind,
                "size": size,
                "median_s": round(statistics.median(seconds), 3),
                "runs_s": [round(s, 3) for s in seconds],
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "peak_over_warm_mb": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base_mb, 1
                ),
                "layers": len(result.layers),
                "prior_fired": "prior confidence" in result.timings,
                "prior_inference_s": infer,
                "warnings": result.warnings,
                "load_avg_1min": round(os.getloadavg()[0], 2),
                "cpus": os.cpu_count(),
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.size, args.repeats)
        return
    rows = {}
    for kind in ("fade", "photo"):
        for mode in ("off", "on"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    mode,
                    kind,
                    "--size",
                    str(args.size),
                    "--repeats",
                    str(args.repeats),
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            )
            line = out.stdout.strip().splitlines()[-1]
            print(line, flush=True)
            rows[(mode, kind)] = json.loads(line)
    for kind in ("fade", "photo"):
        on, off = rows[("on", kind)], rows[("off", kind)]
        print(
            json.dumps(
                {
                    "kind": kind,
                    "extra_s": round(on["median_s"] - off["median_s"], 3),
                    "extra_peak_rss_mb": round(on["peak_rss_mb"] - off["peak_rss_mb"], 1),
                    "prior_fired": on["prior_fired"],
                }
            )
        )


if __name__ == "__main__":
    main()
