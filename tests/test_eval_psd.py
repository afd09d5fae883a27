"""PSD files -> evaluation samples: real Photoshop files and ones written here with psd-tools."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from psd_tools import PSDImage

from model.evaluation.compose import flatten
from model.evaluation.dataset import read_sample, sample_dirs
from model.evaluation.psd_dataset import (
    build_dataset,
    convert_psd,
    limit_layers,
    phash,
)
from tests.shared_data import SHARED_PSD

FIXTURES = SHARED_PSD
needs_fixtures = pytest.mark.usefixtures("shared_psd_dir")  # skips locally, fails in CI


def _render(path: Path) -> np.ndarray:
    return np.asarray(PSDImage.open(path).composite(ignore_preview=True).convert("RGBA"))


@needs_fixtures
def test_group_clipping_is_rendered_faithfully():
    path = FIXTURES / "group-clipping.psd"
    # keep the original size (short side 510) so that the render can be compared pixel by pixel
    converted = convert_psd(path, short_side=510)
    # bg, base, and the group 'clipping' opened: 'red' with its clipped 'blue' as one unit
    assert len(converted.layers) == 3
    assert converted.layers[0].shape == (510, 627, 4)
    assert np.abs(flatten(converted.layers).astype(int) - _render(path)).max() <= 1
    # the clipped layer only paints inside red's pixels: the top unit's alpha is red's alpha
    psd = PSDImage.open(path)
    red = psd[2][0]
    red_alone = np.asarray(
        red.composite(viewport=(0, 0, 627, 510), layer_filter=lambda x: x is red).convert("RGBA")
    )
    assert np.array_equal(converted.layers[2][:, :, 3] > 0, red_alone[:, :, 3] > 0)
    assert not np.array_equal(converted.layers[2][:, :, :3], red_alone[:, :, :3])  # blue is in


@needs_fixtures
def test_hidden_layers_and_groups_are_dropped():
    path = FIXTURES / "hidden-groups.psd"
    converted = convert_psd(path, short_side=100)
    assert len(converted.layers) == 2  # Background and Shape 2; hidden Group 1 is gone
    assert np.abs(flatten(converted.layers).astype(int) - _render(path)).max() <= 1


@needs_fixtures
def test_fixture_folder_becomes_a_dataset_with_reasons(tmp_path):
    report = build_dataset(FIXTURES, tmp_path)
    written = {entry["name"]: entry for entry in report["written"]}
    assert set(written) == {"2layers", "group-clipping", "hidden-groups", "semi-transparent-layers"}
    reasons = {Path(s["source"]).name: s["reason"] for s in report["skipped"]}
    assert "too small" in reasons["16bit5x5.psd"] and "too small" in reasons["cactus_top.psd"]
    assert "needs 2 or more" in reasons["transparentbg-gimp.psd"]
    assert json.loads((tmp_path / "report.json").read_text()) == report
    for folder in sample_dirs(tmp_path):
        sample = read_sample(folder)
        assert min(sample.composite.shape[:2]) == 512
        assert np.array_equal(flatten(sample.layers), sample.composite)
        assert written[folder.name]["max_abs_diff_to_psd_render"] <= 1


def _write_psd(path: Path, rects: list[tuple[int, int, int, int, tuple[int, int, int]]]) -> None:
    psd = PSDImage.new("RGBA", (64, 48), color=(255, 255, 255, 0))
    for index, (x, y, w, h, colour) in enumerate(rects):
        tile = Image.new("RGBA", (w, h), colour + (255,))
        psd.create_pixel_layer(tile, name=f"L{index}", top=y, left=x)
    psd.save(path)


def test_bad_files_duplicates_and_the_layer_cap(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "broken.psd").write_bytes(b"8BPS this is not a photoshop file")
    (src / "notes.txt").write_text("ignored")
    many = [(0, 0, 64, 48, (10, 20, 30))] + [
        (2 * i, i, 6, 5, (200 - 5 * i, 8 * i, 100)) for i in range(1, 25)
    ]
    _write_psd(src / "a_many.psd", many)
    _write_psd(src / "b_copy.psd", many)  # the same design again
    _write_psd(src / "c_other.psd", [(0, 0, 64, 48, (250, 250, 0)), (10, 10, 30, 20, (0, 0, 255))])
    report = build_dataset(src, tmp_path / "out", max_layers=20)
    assert [e["name"] for e in report["written"]] == ["a_many", "c_other"]
    assert report["written"][0]["layers"] == 20
    assert report["duplicates"] == [{"source": str(src / "b_copy.psd"), "duplicate_of": "a_many"}]
    assert len(report["skipped"]) == 1 and "broken.psd" in report["skipped"][0]["source"]
    sample = read_sample(tmp_path / "out" / "a_many")
    assert len(sample.layers) == 20 and sample.composite.shape == (512, 683, 4)


def test_limit_layers_keeps_the_picture():
    rng = np.random.default_rng(0)
    layers = [np.zeros((16, 16, 4), np.uint8) for _ in range(9)]
    for layer in layers:
        y, x = rng.integers(0, 12, 2)
        layer[y : y + 4, x : x + 4] = (*rng.integers(0, 256, 3), 255)
    limited = limit_layers(layers, 4)
    assert len(limited) == 4
    assert np.abs(flatten(limited).astype(int) - flatten(layers)).max() <= 1


def test_phash_tells_near_duplicates_from_different_pictures():
    rng = np.random.default_rng(1)
    base = np.zeros((96, 128, 4), np.uint8)
    base[..., 3] = 255
    base[20:70, 10:60, :3] = (220, 40, 40)
    base[40:90, 70:120, :3] = (40, 40, 220)
    noisy = base.copy()
    noisy[..., :3] = np.clip(base[..., :3] + rng.integers(-3, 4, base[..., :3].shape), 0, 255)
    other = base.copy()
    other[:, :, :3] = base[:, ::-1, :3]
    distance = lambda a, b: bin(phash(a) ^ phash(b)).count("1")  # noqa: E731
    assert distance(base, noisy) <= 2
    assert distance(base, other) > 10
