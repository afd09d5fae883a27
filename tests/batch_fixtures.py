"""Small varied pictures for the batch tests, and reading a batch's results back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]


def make_pictures(folder: Path, count: int, size: tuple[int, int] = (72, 60),
                  seed: int = 0) -> list[Path]:
    """`count` seeded designs (a background, a disc, a bar), some in a subfolder."""
    rng = np.random.default_rng(seed)
    paths = []
    w, h = size
    for i in range(count):
        bg = tuple(int(v) for v in rng.integers(0, 256, 3))
        image = Image.new("RGB", size, bg)
        draw = ImageDraw.Draw(image)
        x, y = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
        draw.ellipse((x, y, x + w // 3, y + h // 3),
                     fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        draw.rectangle((w // 2, h // 2, w - 4, h - int(rng.integers(4, h // 3))),
                       fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        path = folder / (f"set{i % 2}" if i % 3 == 0 else "") / f"pic{i:02d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
        paths.append(path)
    return paths


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600
            ) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", **(env or {})},
    )


def manifest_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "batch.jsonl").read_text().splitlines()]


def layers_of(path: Path) -> list[tuple[str, tuple[int, int], np.ndarray]]:
    """A written document's layers: name, origin, pixels (what must match between runs)."""
    from app.core.formats import load_document

    doc = load_document(path)
    return [(layer.name, tuple(layer.origin), layer.pixels) for layer in doc.layers]


def same_layers(a: Path, b: Path) -> bool:
    la, lb = layers_of(a), layers_of(b)
    return len(la) == len(lb) and all(
        na == nb and oa == ob and pa.shape == pb.shape and np.array_equal(pa, pb)
        for (na, oa, pa), (nb, ob, pb) in zip(la, lb)
    )
