"""Export speed and memory: PSD, ORA and session of a 20-layer 4096x4096 document.

Each export runs in a fresh process. Memory: `added_peak_mb` is the resident-memory high-water
mark during the export minus the resident memory just before it (the document itself is
`document_mb`): Linux lets a process reset its high-water mark (/proc/self/clear_refs), so
the temporary arrays used to build the test document do not count. `tracemalloc_peak_mb`
is Python/numpy allocations only (C buffers of zlib and Pillow are invisible to it), from a
second, traced run. `strata_again` saves the session a second time after moving one layer:
what an autosave costs, since unchanged layers' PNGs are reused. Prints JSON.

    python benchmarks/bench_export.py [--size 4096] [--layers 20] [--formats psd,ora,strata]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_document(size: int, count: int, seed: int = 0):
    """Photo-textured layers: a full-canvas background and `count - 1` soft-edged shapes of
    200 to 2000 px, like a decomposed poster (random noise would be unrealistically slow to
    compress)."""
    import cv2
    from skimage import data

    from app.core.document import Document
    from app.core.layer import Layer, LayerParams

    rng = np.random.default_rng(seed)
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    background = cv2.resize(photos[0], (size, size), interpolation=cv2.INTER_CUBIC)
    rgba = np.dstack([background, np.full((size, size), 255, np.uint8)])
    layers = [Layer(rgba, (0, 0), LayerParams(name="Background"))]
    for i in range(1, count):
        w, h = (int(v) for v in rng.integers(200, min(2000, size // 2) + 1, 2))
        photo = photos[i % len(photos)]
        tex = cv2.resize(photo, (w, h), interpolation=cv2.INTER_LINEAR)
        yy, xx = np.mgrid[0:h, 0:w]
        r = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
        alpha = np.clip((1.0 - r) * 40, 0, 1) * 255
        pixels = np.dstack([tex, alpha.astype(np.uint8)])
        x, y = (int(v) for v in rng.integers(0, size - max(w, h), 2))
        layers.append(Layer(pixels, (x, y), LayerParams(name=f"Layer {i}")))
    return Document(size, size, layers)


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:  # hand freed heap pages back first, or the export reuses them unseen
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _export(doc, fmt: str) -> tuple[float, float]:
    from app.core.formats import save_document

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"bench.{fmt}"
        t0 = time.perf_counter()
        save_document(doc, path)
        seconds = time.perf_counter() - t0
        return seconds, path.stat().st_size / 1e6


def run_one(fmt: str, size: int, count: int) -> dict:
    from app.core.formats.pngio import LAYER_PNGS

    again = fmt == "strata_again"
    ext = "strata" if again else fmt
    doc = build_document(size, count)
    document_mb = sum(layer.pixels.nbytes for layer in doc.layers) / 2**20
    exact = _reset_peak()
    before = _status_mb("VmRSS")
    if again:
        from app.core.formats import save_document

        with tempfile.TemporaryDirectory() as tmp:
            save_document(doc, Path(tmp) / "warm.strata")  # the first save fills the cache
        layer = doc.layers[len(doc.layers) // 2]
        layer.params = layer.params.with_(offset=(12.0, 7.0))  # an edit, then autosave
        exact = _reset_peak()
        before = _status_mb("VmRSS")
    seconds, file_mb = _export(doc, ext)
    peak = _status_mb("VmHWM") if exact else resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if not again:
        LAYER_PNGS.clear()
    tracemalloc.start()
    _export(doc, ext)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "format": fmt,
        "seconds": round(seconds, 2),
        "file_mb": round(file_mb, 1),
        "document_mb": round(document_mb, 1),
        "added_peak_mb": round(peak - before, 1) if peak and before else None,
        "tracemalloc_peak_mb": round(traced, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--layers", type=int, default=20)
    parser.add_argument("--formats", default="psd,ora,strata,strata_again")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.size, args.layers)))
        return
    results = []
    for fmt in args.formats.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--one", fmt, "--size", str(args.size),
             "--layers", str(args.layers)],
            capture_output=True, text=True, check=True, env={**os.environ},
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(json.dumps({
        "document": {"width": args.size, "height": args.size, "layers": args.layers},
        "cpu_count": os.cpu_count(),
        "exports": results,
    }, indent=2))


if __name__ == "__main__":
    main()
