"""Speed of the classic decomposer: median seconds per image size, for a design and a photo.

    python benchmarks/bench_decompose.py [--sizes 512 1024 2048] [--repeats 3]

Prints one JSON object per line: {"size": 1024, "kind": "design", "median_s": ..., ...}.
The design is a synthetic poster (shapes and text on a gradient); the photo is scikit-image's
astronaut, both resized to size x size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.base import DecomposeOptions  # noqa: E402
from model.classic import ClassicDecomposer  # noqa: E402


def design_image(size: int) -> np.ndarray:
    from model.evaluation.synthetic import generate_sample

    composite, _, _ = generate_sample(seed=7, index=3)
    return np.asarray(Image.fromarray(composite).resize((size, size), Image.Resampling.LANCZOS))


def photo_image(size: int) -> np.ndarray:
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image.convert("RGBA"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    decomposer = ClassicDecomposer()
    decomposer.decompose(photo_image(64), DecomposeOptions())  # imports, OCR engine, JIT caches
    for size in args.sizes:
        for kind, make in (("design", design_image), ("photo", photo_image)):
            image = make(size)
            seconds, stages, layers = [], [], 0
            for _ in range(args.repeats):
                start = time.perf_counter()
                result = decomposer.decompose(image, DecomposeOptions())
                seconds.append(time.perf_counter() - start)
                stages.append(result.timings)
                layers = len(result.layers)
            print(
                json.dumps(
                    {
                        "size": size,
                        "kind": kind,
                        "median_s": round(statistics.median(seconds), 3),
                        "runs_s": [round(s, 3) for s in seconds],
                        "layers": layers,
                        "stages_s": stages[len(stages) // 2],
                        "cpus": os.cpu_count(),
                        "load_avg_1min": round(os.getloadavg()[0], 2),
                        "machine": platform.machine(),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
