"""The eval runner and the `dataset` / `eval` commands, on a small synthetic dataset."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from model.base import DecomposedLayer, DecomposeOptions, DecomposeResult
from model.evaluation.baselines import ColourClusters, SingleLayer
from model.evaluation.compose import flatten
from model.evaluation.dataset import read_sample, sample_dirs
from model.evaluation.runner import (
    baseline_predictor,
    decomposer_predictor,
    evaluate,
    folder_predictor,
)
from model.evaluation.synthetic import generate


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    generate(root, 3, seed=5)
    return root


def test_ground_truth_scores_perfectly(dataset):
    report = evaluate(dataset, baseline_predictor("gt", DecomposeOptions()))
    assert [row["rgb_l1"] for row in report.table()] == [0.0] * 6
    assert [row["alpha_iou"] for row in report.table()] == [1.0] * 6
    summary = report.summary()
    assert summary["scored"] == 3 and summary["failed"] == 0
    assert summary["psnr_exact"] == 3
    assert summary["layers_pred"] == summary["layers_gt"]


def test_single_layer_and_kmeans_rebuild_the_input_but_score_below_the_truth(dataset):
    for name in ("single", "kmeans"):
        report = evaluate(dataset, baseline_predictor(name, DecomposeOptions()))
        table = report.table()
        costs = [(r["rgb_l1"] + 1 - r["alpha_iou"]) / 2 for r in table]
        assert costs[0] > 0.05
        assert all(b <= a + 1e-12 for a, b in zip(costs, costs[1:]))
        assert report.summary()["psnr_exact"] == 3  # both stacks rebuild opaque inputs exactly


def test_kmeans_layers_follow_the_decomposer_contract(dataset):
    sample = read_sample(sample_dirs(dataset)[0])
    result = ColourClusters().decompose(sample.composite, DecomposeOptions(layers=3))
    assert 1 <= len(result.layers) <= 3
    assert all(x.rgba.shape == sample.composite.shape for x in result.layers)
    assert (result.layers[0].rgba[:, :, 3] == 255).all()
    assert np.array_equal(flatten([x.rgba for x in result.layers]), sample.composite)


def test_saved_predictions_score_the_same_from_a_folder(dataset, tmp_path):
    options = DecomposeOptions(layers=3)
    direct = evaluate(dataset, baseline_predictor("kmeans", options), save_pred=tmp_path / "p")
    again = evaluate(dataset, folder_predictor(tmp_path / "p"))
    assert again.table() == direct.table()
    assert again.summary()["seconds_per_image"] is None  # reading files is not a decomposition
    # a missing prediction fails that sample only
    shutil.rmtree(tmp_path / "p" / sample_dirs(dataset)[1].name)
    partial = evaluate(dataset, folder_predictor(tmp_path / "p"))
    assert partial.summary()["scored"] == 2
    assert "no prediction" in partial.failed[0].error


class _HalfSize:
    """A backend that answers at half the input size (predictions get resized)."""

    name = "half"
    description = "test backend"

    def availability(self, options=None):
        return SingleLayer().availability(options)

    def decompose(self, rgba, options, progress=None, cancel=None):
        small = rgba[::2, ::2].copy()
        return DecomposeResult([DecomposedLayer(small, "image")], backend=self.name)


def test_any_decomposer_can_be_scored_and_wrong_sizes_are_fitted(dataset):
    report = evaluate(dataset, decomposer_predictor(_HalfSize(), DecomposeOptions()), limit=2)
    assert report.summary()["scored"] == 2 and report.summary()["resized"] == 2
    assert report.summary()["seconds_per_image"] is not None
    assert report.predictor == "backend half"


def test_cli_builds_and_scores_a_synthetic_dataset(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["dataset", "--synthetic", "2", "--seed", "3", "-o", str(out), "-q"]) == 0
    assert len(sample_dirs(out)) == 2
    capsys.readouterr()
    assert main(["eval", str(out), "--baseline", "single", "--json", "--limit", "1", "-q"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [row["merge"] for row in data["table"]] == [0, 1, 2, 3, 4, 5]
    assert data["scored"] == 1 and len(data["per_sample"]) == 1
    assert data["layers_pred"] == 1.0
    assert main(["eval", str(out), "--baseline", "gt", "-q"]) == 0
    text = capsys.readouterr().out
    assert "Merge" in text and "RGB L1" in text and "Alpha soft IoU" in text
    assert "    5                     0.0000" in text


def test_cli_failures_are_one_line(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nothing"), "--baseline", "gt", "-q"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert main(["dataset", "-o", str(tmp_path / "x")]) == 1
    assert "PSD" in capsys.readouterr().err


def test_decompose_style_folders_are_read_as_predictions(dataset, tmp_path):
    # `decompose -o DIR` writes 00.png, 01.png, ... next to composite.png and layers.json
    for folder in sample_dirs(dataset):
        sample = read_sample(folder)
        out = tmp_path / folder.name
        out.mkdir()
        for index, layer in enumerate(sample.layers):
            Image.fromarray(layer, "RGBA").save(out / f"{index:02d}.png")
        Image.fromarray(sample.composite, "RGBA").save(out / "composite.png")
    report = evaluate(dataset, folder_predictor(tmp_path))
    assert report.summary()["scored"] == 3
    assert [row["rgb_l1"] for row in report.table()] == [0.0] * 6


def test_cli_reveal_scores_the_truth_clean_and_a_single_layer_as_taking_nothing(dataset, capsys):
    assert main(["eval", str(dataset), "--baseline", "gt", "--reveal", "--json", "-q"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["reveal"]["all"]["outline_mean"] == 0.0
    assert out["reveal"]["all"]["reveal_l1"] == 0.0 and out["reveal"]["all"]["edge_l1"] == 0.0
    assert all("reveal" in sample for sample in out["per_sample"])
    assert main(["eval", str(dataset), "--baseline", "single", "--reveal", "-q"]) == 0
    text = capsys.readouterr().out
    assert "Reveal" in text and "outline" in text  # nothing taken out: figures shown as "-"
