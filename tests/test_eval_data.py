"""Dataset folders and the seeded synthetic benchmark."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from model.evaluation.compose import flatten
from model.evaluation.dataset import (
    DatasetError,
    read_layers,
    read_rgba,
    read_sample,
    sample_dirs,
    write_sample,
)
from model.evaluation.synthetic import generate, generate_sample


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_sample_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    layers = [rng.integers(0, 256, (7, 9, 4), dtype=np.uint8) for _ in range(12)]
    composite = flatten(layers)
    write_sample(tmp_path / "s", composite, layers)
    names = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert names == [f"{i:04d}.png" for i in range(12)] + ["composite.png"]
    sample = read_sample(tmp_path / "s")
    assert sample.name == "s"
    assert np.array_equal(sample.composite, composite)
    assert len(sample.layers) == 12
    assert all(np.array_equal(a, b) for a, b in zip(sample.layers, layers))
    # rewriting with fewer layers leaves no stale files behind
    write_sample(tmp_path / "s", composite, layers[:2])
    assert len(read_layers(tmp_path / "s")) == 2


def test_bad_folders_raise_one_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="not a folder"):
        sample_dirs(tmp_path / "missing")
    with pytest.raises(DatasetError, match="no samples"):
        sample_dirs(tmp_path)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "0000.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="cannot read"):
        read_rgba(tmp_path / "x" / "0000.png")


def test_synthetic_same_seed_same_bytes(tmp_path):
    generate(tmp_path / "a", 2, seed=7)
    generate(tmp_path / "b", 2, seed=7)
    generate(tmp_path / "c", 2, seed=8)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
    # sample i does not depend on how many samples are generated
    generate(tmp_path / "d", 1, seed=7)
    first = "synth_00000"
    assert _digest(tmp_path / "d" / first) == _digest(tmp_path / "a" / first)
    info = json.loads((tmp_path / "a" / "dataset.json").read_text())
    assert info["seed"] == 7 and [s["name"] for s in info["samples"]] == sample_dirs_names(
        tmp_path / "a"
    )


def sample_dirs_names(root: Path) -> list[str]:
    return [p.name for p in sample_dirs(root)]


def test_synthetic_layers_rebuild_the_composite_on_disk(tmp_path):
    generate(tmp_path, 4, seed=0)
    for folder in sample_dirs(tmp_path):
        sample = read_sample(folder)
        assert 2 <= len(sample.layers) <= 10
        assert np.array_equal(flatten(sample.layers), sample.composite)
        assert (sample.layers[0][:, :, 3] == 255).all()  # an opaque background at the bottom
        assert all(layer[:, :, 3].any() for layer in sample.layers)
        h, w = sample.composite.shape[:2]
        assert min(h, w) == 512 and 512 <= max(h, w) <= 1024


@pytest.mark.slow
def test_synthetic_covers_the_design_vocabulary():
    kinds: set[str] = set()
    counts = []
    aspects = set()
    soft_alpha = False
    for index in range(40):
        composite, layers, names = generate_sample(11, index)
        kinds |= {name.split(":")[0] + ":" + name.split(":")[1][:7] for name in names}
        counts.append(len(layers))
        aspects.add(round(composite.shape[1] / composite.shape[0], 2))
        for layer in layers[1:]:
            alpha = layer[:, :, 3]
            soft_alpha |= bool(((alpha > 0) & (alpha < 255)).any())
    families = {k.split(":")[0] for k in kinds}
    assert families == {"background", "shape", "text", "photo", "logo", "overlay"}
    backgrounds = {k for k in kinds if k.startswith("background")}
    assert len(backgrounds) == 4  # flat, gradient, texture, photo
    assert any(k.startswith("text:pillow") for k in kinds)
    assert any(k.startswith("text:hershe") for k in kinds)
    assert min(counts) == 2 or max(counts) == 10 or len(set(counts)) >= 5
    assert len(aspects) >= 4
    assert soft_alpha
