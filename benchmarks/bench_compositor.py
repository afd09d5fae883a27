"""Compositor speed: full recomposite versus one frame of an interactive translate.

A seeded 4096x4096 document with 20 layers: a full-canvas photo-like background and 19
soft-edged layers of random sizes (256..2048 px a side). Measured in one run, at full
resolution and at a screen-sized view (the whole canvas fitted into 1920x1080):

- full recomposite: `Compositor.render` with every cache dropped (`invalidate()` before each
  run), and at full resolution also `composite(doc)`, the exporters' straight-alpha path;
- interactive frame: one step of a drag of the middle layer (index 10) pushed through the
  History as a merging gesture, then `Compositor.render(active_id=...)`;
- at screen view, also one frame of an opacity, a scale and a hue slider on that layer;
- at 100% zoom, also one frame of panning the view 16 px with that layer active;
- slider frames (`slider_frames`): a hue slider and a scale slider on the 4096x4096
  background and on the middle layer, at screen view and at 100% zoom (a 1920x1080 clip),
  each frame = History push of a merging gesture + `Compositor.render(active_id=...)`.
  `--baseline REV` also runs those slider frames on the code of git revision REV (in a
  subprocess, from `git archive`) and reports the ratio old / new.

Prints JSON; times in milliseconds: medians (the figures to quote), with minimum and 90th
percentile because the machine may be shared. Usage:
python benchmarks/bench_compositor.py [--baseline REV] [--sliders-only]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
# --baseline runs this script again with the code of another revision put first on the path.
CODE_ROOT = os.environ.get("STRATA_BENCH_CODE_ROOT", str(REPO))
sys.path.insert(0, CODE_ROOT)

from app.core import commands  # noqa: E402
from app.core.compositor import Compositor, composite  # noqa: E402
from app.core.document import Document  # noqa: E402
from app.core.layer import Layer, LayerParams, Recolor  # noqa: E402

SIZE = 4096
SCREEN = (1920, 1080)


def _photo(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Smooth colour fields plus fine grain: compresses and blends like a photograph."""
    coarse = rng.integers(0, 256, (max(2, h // 256), max(2, w // 256), 3), dtype=np.uint8)
    rgb = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    grain = rng.integers(-12, 13, (h, w, 1), dtype=np.int16)
    rgb = np.clip(rgb.astype(np.int16) + grain, 0, 255).astype(np.uint8)
    return np.dstack([rgb, np.full((h, w), 255, np.uint8)])


def _soft_layer(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A photo-textured ellipse whose alpha falls off softly towards its edge."""
    rgba = _photo(rng, w, h)
    small = np.zeros((64, 64), np.float32)
    cv2.ellipse(small, (32, 32), (26, 26), 0, 0, 360, 1.0, -1)
    small = cv2.GaussianBlur(small, (0, 0), 5)
    alpha = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    rgba[:, :, 3] = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
    return rgba


def make_document(seed: int = 0) -> Document:
    rng = np.random.default_rng(seed)
    layers = [Layer(_photo(rng, SIZE, SIZE), (0, 0), LayerParams(name="Background"))]
    for i in range(19):
        w, h = (int(v) for v in rng.integers(256, 2049, 2))
        x, y = int(rng.integers(0, SIZE - w)), int(rng.integers(0, SIZE - h))
        opacity = float(rng.choice([1.0, 0.8, 0.6]))
        pixels = _soft_layer(rng, w, h)
        layers.append(Layer(pixels, (x, y), LayerParams(name=f"Layer {i + 1}", opacity=opacity)))
    return Document(SIZE, SIZE, layers)


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def _time(fn, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return samples


def measure_view(
    doc: Document, view_scale: float, full_repeats: int, frames: int, clip=None
) -> dict:
    history = commands.History(doc)
    comp = Compositor(doc)

    def full() -> None:
        comp.invalidate()
        comp.render(view_scale, clip)

    full_samples = _time(full, full_repeats)

    middle = doc.layers[10]
    step = max(1.0, round(1.0 / view_scale))  # about one screen pixel a frame, in canvas pixels
    comp.render(view_scale, clip, middle.id)  # the drag starts: planes are built once

    def frame() -> None:
        history.push(commands.translate(doc, middle.id, step, step, gesture="drag"))
        comp.render(view_scale, clip, middle.id)

    frame_samples = _time(frame, frames)
    assert len(history) == 1, "the drag must be one undo step"
    pan = {}
    if clip is not None:  # the view pans 16 px a frame, the layer stays active
        shifts = iter(range(1, frames + 1))

        def pan_frame() -> None:
            shifted = (clip[0] - 16 * next(shifts), *clip[1:])
            comp.render(view_scale, shifted, middle.id)

        pan_samples = _time(pan_frame, frames)
        pan = {
            "pan_frame_ms": _median_ms(pan_samples),
            "pan_frame_mean_ms": round(statistics.mean(pan_samples) * 1000, 2),
        }
    history.undo()
    full_ms, frame_ms = _median_ms(full_samples), _median_ms(frame_samples)
    width, height = comp.render(view_scale, clip).shape[1::-1]
    return {
        "view_scale": round(view_scale, 6),
        "clip": None if clip is None else list(clip),
        "view_size": [int(width), int(height)],
        "full_recomposite_ms": full_ms,
        "full_recomposite_min_ms": round(min(full_samples) * 1000, 2),
        "full_recomposite_runs": len(full_samples),
        "interactive_frame_ms": frame_ms,
        "interactive_frame_min_ms": round(min(frame_samples) * 1000, 2),
        "interactive_frame_p90_ms": round(float(np.percentile(frame_samples, 90)) * 1000, 2),
        "interactive_frames": len(frame_samples),
        "speedup": round(full_ms / frame_ms, 1),
        "translate_step_canvas_px": [step, step],
        **pan,
    }


def measure_gestures(doc: Document, view_scale: float, frames: int) -> dict:
    """Median frame of other slider gestures on the middle layer (opacity, scale, hue)."""
    history = commands.History(doc)
    middle = doc.layers[10]
    gestures = {
        "opacity": lambda i: commands.set_opacity(doc, middle.id, 1 - 0.01 * i, gesture="o"),
        "scale": lambda i: commands.set_scale(doc, middle.id, (1 + 0.01 * i,) * 2, gesture="s"),
        "recolor_hue": lambda i: commands.set_recolor(
            doc, middle.id, Recolor(hue=2.0 * i), gesture="r"
        ),
    }
    out = {}
    for name, command in gestures.items():
        comp = Compositor(doc)
        comp.render(view_scale, None, middle.id)
        step = iter(range(1, frames + 1))

        def frame(command=command, comp=comp, step=step) -> None:
            history.push(command(next(step)))
            comp.render(view_scale, None, middle.id)

        out[f"{name}_frame_ms"] = _median_ms(_time(frame, frames))
        while history.undo():
            pass
    return out


def _slider_samples(
    doc: Document, layer_id: str, gesture: str, view_scale: float, clip, frames: int
) -> list[float]:
    history = commands.History(doc)
    comp = Compositor(doc)
    comp.render(view_scale, clip, layer_id)  # the gesture starts: planes built
    steps = iter(range(1, frames + 1))

    def frame() -> None:
        i = next(steps)
        if gesture == "hue":
            command = commands.set_recolor(doc, layer_id, Recolor(hue=3.0 * i), gesture="s")
        else:
            command = commands.set_scale(doc, layer_id, (1 - 0.005 * i,) * 2, gesture="s")
        history.push(command)
        comp.render(view_scale, clip, layer_id)

    samples = _time(frame, frames)
    assert len(history) == 1, "a slider gesture must be one undo step"
    history.undo()
    return samples


def measure_sliders(doc: Document, views: dict, frames: int) -> dict:
    """Median (and slowest) frame of a hue slider and a scale slider on the background and
    on the middle layer, per view. The scale slider shrinks the layer by 0.5% a frame, so
    at screen view the background crosses a power-of-two shrink level on the way."""
    out = {}
    for view_name, (view_scale, clip) in views.items():
        out[view_name] = {}
        for layer_name, index in (("background", 0), ("middle_layer", 10)):
            figures = {}
            for gesture in ("hue", "scale"):
                layer_id = doc.layers[index].id
                samples = _slider_samples(doc, layer_id, gesture, view_scale, clip, frames)
                figures[f"{gesture}_frame_ms"] = _median_ms(samples)
                figures[f"{gesture}_frame_max_ms"] = round(max(samples) * 1000, 2)
            out[view_name][layer_name] = figures
    return out


def slider_views(doc: Document) -> dict:
    screen_scale = min(SCREEN[0] / SIZE, SCREEN[1] / SIZE)
    return {
        "screen_view": (screen_scale, None),
        "full_resolution_screen_clip": (1.0, _screen_clip_around(doc.layers[10])),
    }


def run_baseline(rev: str, frames: int, seed: int) -> dict:
    """The slider figures measured on the code of git revision `rev` (its `app` package)."""
    with tempfile.TemporaryDirectory() as root:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", rev, "app"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", root], input=archive, check=True)
        env = {**os.environ, "STRATA_BENCH_CODE_ROOT": root}
        args = [sys.executable, __file__, "--sliders-only", "--slider-frames", str(frames),
                "--seed", str(seed)]
        result = subprocess.run(args, env=env, check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def _ratios(old: dict, new: dict) -> dict:
    if isinstance(new, dict):
        return {k: _ratios(old[k], v) for k, v in new.items() if k in old}
    return round(old / new, 1) if new else None


def _screen_clip_around(layer: Layer) -> tuple[int, int, int, int]:
    """A 1920x1080 window of the canvas at 100% zoom, centred on the layer."""
    cx, cy = layer.center
    x = int(np.clip(cx - SCREEN[0] / 2, 0, SIZE - SCREEN[0]))
    y = int(np.clip(cy - SCREEN[1] / 2, 0, SIZE - SCREEN[1]))
    return x, y, SCREEN[0], SCREEN[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--full-repeats", type=int, default=3)
    parser.add_argument("--slider-frames", type=int, default=12)
    parser.add_argument("--baseline", metavar="REV", help="also time the sliders on git REV")
    parser.add_argument("--sliders-only", action="store_true")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    doc = make_document(args.seed)
    build_s = time.perf_counter() - t0
    middle = doc.layers[10]
    if args.sliders_only:
        sliders = measure_sliders(doc, slider_views(doc), args.slider_frames)
        print(json.dumps({"code_root": CODE_ROOT, "slider_frames": sliders}, indent=2))
        return

    export_samples = _time(lambda: composite(doc), args.full_repeats)
    screen_scale = min(SCREEN[0] / SIZE, SCREEN[1] / SIZE)
    result = {
        "document": {
            "canvas": [SIZE, SIZE],
            "layers": len(doc.layers),
            "middle_layer": {"index": 10, "size": list(middle.size)},
            "build_s": round(build_s, 2),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "cv2_threads": cv2.getNumThreads(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "opencv": cv2.__version__,
        },
        "export_composite_full_res_ms": _median_ms(export_samples),
        "full_resolution_whole_canvas": measure_view(doc, 1.0, args.full_repeats, args.frames),
        "full_resolution_screen_clip": measure_view(
            doc, 1.0, args.full_repeats, args.frames, _screen_clip_around(doc.layers[10])
        ),
        "screen_view": measure_view(doc, screen_scale, args.full_repeats, args.frames),
        "screen_view_other_gestures": measure_gestures(doc, screen_scale, 10),
        "slider_frames": measure_sliders(doc, slider_views(doc), args.slider_frames),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        # The machine is shared: a load average above the core count slows every figure.
        "load_average_1min": {"start": load_before, "end": os.getloadavg()[0]},
        "targets": {"interactive_frame_ms_max": 16, "speedup_min": 20},
    }
    if args.baseline:
        old = run_baseline(args.baseline, args.slider_frames, args.seed)["slider_frames"]
        result["slider_frames_baseline"] = {"revision": args.baseline, **old}
        result["slider_frames_speedup"] = _ratios(old, result["slider_frames"])
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
