"""Segment Anything on this machine's CPU: the one-time embedding and the per-click decode, for
each candidate default model, built at its real size from its transformers config with random
weights (speed does not depend on the weights' values), saved with save_pretrained and loaded
by Strata's own loader (model/segment/segmenter.py).

    python benchmarks/bench_sam.py [--models sam-vit-base edgetam sam2.1-hiera-tiny]
                                   [--threads 2] [--clicks 5] [--side 1024]

Prints one JSON object per model: parameters, fp32 weight bytes, load time, embedding time,
per-click times (one point: three candidates decoded, best kept; then a click added to it,
then a box), and the mask brought back to the picture's size; wall and CPU seconds. The
picture is the astronaut photo from scikit-image (a 4:3 crop), longer side --side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build(name: str, folder: Path) -> Path:
    import transformers as tf

    if name == "sam-vit-base":
        model = tf.SamModel(tf.SamConfig())  # SamConfig's defaults are ViT-B at 1024
        processor = tf.SamProcessor(tf.SamImageProcessor())
    elif name == "sam-hq-vit-base":
        model = tf.SamHQModel(tf.SamHQConfig())
        processor = tf.SamHQProcessor(tf.SamImageProcessor())
    elif name == "sam2.1-hiera-tiny":
        model = tf.Sam2Model(tf.Sam2Config())  # Hiera-T, as facebook/sam2.1-hiera-tiny
        processor = tf.Sam2Processor(tf.Sam2ImageProcessor())
    elif name == "edgetam":
        config = tf.EdgeTamConfig()
        config.vision_config.backbone_config.architecture = "repvit_m1"  # EdgeTAM's backbone
        model = tf.EdgeTamModel(config)
        processor = tf.Sam2Processor(tf.Sam2ImageProcessor())
    else:
        raise SystemExit(f"unknown model {name}")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def picture(side: int):
    import cv2
    from skimage import data

    rgb = data.astronaut()
    h, w = rgb.shape[:2]
    k = side / max(h, w)
    # a non-square crop, as photos are: 4:3
    rgb = rgb[: int(h * 0.75)]
    return cv2.resize(rgb, (round(w * k), round(h * 0.75 * k)), interpolation=cv2.INTER_AREA)


def measure(name: str, side: int, clicks: int) -> dict:
    import torch

    from model.segment.segmenter import Segmenter

    rgb = picture(side)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build(name, Path(tmp) / name)
        weight_bytes = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
        t = time.perf_counter()
        seg = Segmenter.load(folder, name)
        load_s = time.perf_counter() - t
    params = sum(p.numel() for p in seg.model.parameters())
    encoder = sum(p.numel() for p in seg.model.vision_encoder.parameters())
    t, c = time.perf_counter(), time.process_time()
    emb = seg.embed(rgb)
    embed_s, embed_cpu = time.perf_counter() - t, time.process_time() - c
    h, w = rgb.shape[:2]
    one, two, boxed, back, one_cpu = [], [], [], [], []
    for i in range(clicks):
        x, y = w * (0.3 + 0.1 * i / clicks), h * (0.4 + 0.1 * i / clicks)
        t, c = time.perf_counter(), time.process_time()
        pred = seg.predict(emb, [(x, y)], [1])
        one.append(time.perf_counter() - t)
        one_cpu.append(time.process_time() - c)
        t = time.perf_counter()
        pred.mask()
        back.append(time.perf_counter() - t)
        t = time.perf_counter()
        seg.predict(emb, [(x, y), (w * 0.8, h * 0.2)], [1, 0])
        two.append(time.perf_counter() - t)
        t = time.perf_counter()
        seg.predict(emb, box=(w * 0.2, h * 0.2, w * 0.7, h * 0.9))
        boxed.append(time.perf_counter() - t)
    return {
        "model": name, "picture": [w, h], "torch_threads": torch.get_num_threads(),
        "params_m": round(params / 1e6, 1), "encoder_params_m": round(encoder / 1e6, 1),
        "weights_mb_fp32": round(weight_bytes / 1e6, 1), "load_s": round(load_s, 2),
        "embed_s": round(embed_s, 2),
        # CPU seconds of this process (all its threads): on a machine shared with other
        # work, wall time grows with the load while this stays near what the work costs;
        # divided by the threads it estimates the wall time on free cores
        "embed_cpu_s": round(embed_cpu, 2),
        "click_cpu_s_median": round(statistics.median(one_cpu), 3),
        "click_s_median": round(statistics.median(one), 3),
        "click_added_s_median": round(statistics.median(two), 3),
        "box_s_median": round(statistics.median(boxed), 3),
        "mask_to_picture_s_median": round(statistics.median(back), 3),
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 1),  # other work sharing the cores
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+",
                   default=["sam-vit-base", "edgetam", "sam2.1-hiera-tiny"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--clicks", type=int, default=5)
    p.add_argument("--side", type=int, default=1024)
    args = p.parse_args()
    import torch
    from transformers.utils import logging

    logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    for name in args.models:
        print(json.dumps(measure(name, args.side, args.clicks)), flush=True)


if __name__ == "__main__":
    main()
