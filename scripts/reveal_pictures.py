"""Before/after pictures of a poster with one decomposed layer deleted (notes/classic-reveal.md).

    python scripts/reveal_pictures.py SAMPLE BEFORE AFTER GT_INDEX OUT.png [--crop y0,y1,x0,x1]

SAMPLE is a dataset sample folder (composite.png, 0000.png, ...); BEFORE and AFTER hold two
decompositions of it (e.g. `eval --save-pred` of two versions). In each, the predicted layer that
overlaps the true layer GT_INDEX most is deleted and the rest composited. The picture shows the
input, then the deletion before and after, side by side (an optional crop is enlarged 2x).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.evaluation.compose import flatten  # noqa: E402
from model.evaluation.dataset import read_layers, read_sample  # noqa: E402

MAX_WIDTH = 1200


def deleted(layers: list[np.ndarray], truth: np.ndarray) -> np.ndarray:
    """The composite without the upper layer that overlaps `truth` most (by alpha)."""
    overlap = [
        float(np.minimum(layer[:, :, 3], truth[:, :, 3]).sum(dtype=np.int64)) for layer in layers
    ]
    overlap[0] = -1.0  # never the bottom layer
    drop = int(np.argmax(overlap))
    return flatten([layer for i, layer in enumerate(layers) if i != drop])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sample", type=Path)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("gt_index", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--crop", help="y0,y1,x0,x1")
    args = parser.parse_args()
    sample = read_sample(args.sample)
    truth = sample.layers[args.gt_index]
    panels = [
        sample.composite,
        deleted(read_layers(args.before), truth),
        deleted(read_layers(args.after), truth),
    ]
    if args.crop:
        y0, y1, x0, x1 = (int(v) for v in args.crop.split(","))
        panels = [np.kron(p[y0:y1, x0:x1], np.ones((2, 2, 1), np.uint8)) for p in panels]
    gap = np.full((panels[0].shape[0], 6, 4), 255, np.uint8)
    row = np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)
    picture = Image.fromarray(row, "RGBA").convert("RGB")
    if picture.width > MAX_WIDTH:
        height = round(picture.height * MAX_WIDTH / picture.width)
        picture = picture.resize((MAX_WIDTH, height), Image.Resampling.LANCZOS)
    picture.save(args.out, optimize=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
