"""The dataset folder format: one folder per sample holding `composite.png` and the layers
`0000.png`, `0001.png`, ... (full-canvas straight-alpha RGBA, bottom first).

Predictions (`eval --pred DIR`) use the same layout without the need for `composite.png`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

COMPOSITE = "composite.png"
_LAYER_NAME = re.compile(r"^(\d+)\.png$")  # 0000.png (datasets), 00.png (decompose -o DIR)


class DatasetError(Exception):
    """A dataset or prediction folder that cannot be read; the message says which and why."""


@dataclass
class Sample:
    name: str
    composite: np.ndarray  # HxWx4 uint8
    layers: list[np.ndarray]  # bottom first, each HxWx4 uint8


def layer_name(index: int) -> str:
    return f"{index:04d}.png"


def _save_png(path: Path, rgba: np.ndarray) -> None:
    # Fixed encoder settings and no metadata, so that equal pixels give equal bytes.
    Image.fromarray(rgba, "RGBA").save(path, format="PNG", compress_level=6)


def read_rgba(path: Path) -> np.ndarray:
    from app.core.formats.limits import check_size, max_pixels

    try:
        with Image.open(path) as image:
            reason = check_size(image.width, image.height, max_pixels())
            if reason:
                raise DatasetError(f"cannot read {path}: {reason}")
            return np.asarray(image.convert("RGBA")).copy()
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc


def layer_files(folder: Path) -> list[Path]:
    """The layer files of a sample or prediction folder, bottom first (numbered order)."""
    found = []
    for path in folder.iterdir():
        match = _LAYER_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


def read_layers(folder: Path) -> list[np.ndarray]:
    files = layer_files(folder)
    if not files:
        raise DatasetError(f"{folder} holds no layers (0000.png, 0001.png, ...)")
    layers = [read_rgba(path) for path in files]
    shapes = {layer.shape for layer in layers}
    if len(shapes) != 1:
        raise DatasetError(f"the layers in {folder} have different sizes")
    return layers


def write_sample(folder: Path, composite: np.ndarray, layers: Sequence[np.ndarray]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in layer_files(folder):
        stale.unlink()
    _save_png(folder / COMPOSITE, composite)
    for index, layer in enumerate(layers):
        _save_png(folder / layer_name(index), layer)


def write_layers(folder: Path, layers: Sequence[np.ndarray]) -> None:
    """A prediction folder: the layers only, in the dataset's numbering."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in layer_files(folder):
        stale.unlink()
    for index, layer in enumerate(layers):
        _save_png(folder / layer_name(index), layer)


def sample_dirs(root: Path) -> list[Path]:
    """The sample folders of a dataset, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and (p / COMPOSITE).is_file())
    if not dirs:
        raise DatasetError(f"{root} holds no samples (folders with {COMPOSITE} and 0000.png, ...)")
    return dirs


def read_sample(folder: Path) -> Sample:
    folder = Path(folder)
    composite = read_rgba(folder / COMPOSITE)
    layers = read_layers(folder)
    if layers[0].shape != composite.shape:
        raise DatasetError(f"the layers in {folder} do not match the size of {COMPOSITE}")
    return Sample(folder.name, composite, layers)
