"""`python main.py refine PICTURE LAYERS -o OUTPUT` end to end on real files, and the
`--refine` and `eval --baseline simulated` options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_cli_decompose import run_cli

from app.core.formats import load_document, save_document
from app.core.refinement import stack_arrays
from model.evaluation.compose import flatten
from model.evaluation.metrics import psnr
from model.evaluation.simulate import Degradation, degrade
from model.evaluation.synthetic import generate_sample


@pytest.fixture(scope="module")
def model_output(tmp_path_factory) -> tuple[Path, Path, list[np.ndarray]]:
    """A synthetic poster and its true layers degraded as a model returns them, written as a
    folder of layer PNGs at a quarter of the size (as another tool would hand them over)."""
    folder = tmp_path_factory.mktemp("model-output")
    composite, truth, _ = generate_sample(seed=2, index=4)
    Image.fromarray(composite).save(folder / "picture.png")
    frames = degrade(truth, Degradation(upscale=4), np.random.default_rng(0))
    layers = folder / "layers"
    layers.mkdir()
    for i, frame in enumerate(frames):
        Image.fromarray(np.rint(frame * 255).astype(np.uint8), "RGBA").save(layers / f"{i:02d}.png")
    return folder / "picture.png", layers, truth


def reconstruction(path: Path, picture: Path) -> float:
    doc = load_document(path)
    arrays = [rgba for rgba, _, visible in stack_arrays(doc) if visible]
    return psnr(arrays, np.asarray(Image.open(picture).convert("RGBA")))


@pytest.mark.parametrize("suffix", ["", ".psd", ".ora", ".strata"])
def test_refine_writes_exact_full_resolution_layers(model_output, tmp_path, suffix) -> None:
    picture, layers, truth = model_output
    out = tmp_path / f"refined{suffix}"
    done = run_cli("refine", str(picture), str(layers), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "reconstruction" in done.stderr
    doc = load_document(out)
    assert (doc.width, doc.height) == Image.open(picture).size
    assert len(doc.layers) == len(truth)
    assert reconstruction(out, picture) >= 50
    if not suffix:
        info = json.loads((out / "layers.json").read_text())
        assert info["refine"]["reconstruction_db"] >= 50
        assert info["refine"]["scale"] >= 3.5


def test_refine_reads_a_dataset_sample_psd_and_session(model_output, tmp_path) -> None:
    """Layer stacks in every form: 0000.png numbering, a PSD and a session, at full size or
    not; the picture given as a layered file works too (its composite)."""
    picture, layers, _ = model_output
    sample = tmp_path / "sample"
    sample.mkdir()
    for i, path in enumerate(sorted(layers.glob("*.png"))):
        (sample / f"{i:04d}.png").write_bytes(path.read_bytes())
    done = run_cli("refine", str(picture), str(sample), "-o", str(tmp_path / "a.psd"))
    assert done.returncode == 0, done.stderr
    for source in ("a.psd", "a.strata"):
        if source == "a.strata":
            save_document(load_document(tmp_path / "a.psd"), tmp_path / "a.strata")
        done = run_cli("refine", str(picture), str(tmp_path / source), "-o", str(tmp_path / "b"))
        assert done.returncode == 0, done.stderr
        assert reconstruction(tmp_path / "b", picture) >= 50


def test_refine_keeps_hidden_layers_hidden(model_output, tmp_path) -> None:
    picture, layers, _ = model_output
    doc = load_document(layers)
    doc.layers[-1].params = doc.layers[-1].params.with_(visible=False)
    save_document(doc, tmp_path / "hidden.ora")
    out = tmp_path / "out.ora"
    done = run_cli("refine", str(picture), str(tmp_path / "hidden.ora"), "-o", str(out))
    assert done.returncode == 0, done.stderr
    refined = load_document(out)
    assert [x.params.visible for x in refined.layers] == [x.params.visible for x in doc.layers]


def test_refine_failures_are_one_line(model_output, tmp_path) -> None:
    picture, layers, _ = model_output
    wide = tmp_path / "wide.png"
    Image.new("RGB", (400, 100), (10, 20, 30)).save(wide)
    cases = [
        (str(wide), str(layers), "picture is 400x100"),
        (str(picture), str(tmp_path / "missing"), "does not exist"),
        (str(tmp_path / "none.png"), str(layers), "does not exist"),
    ]
    for pic, stack, words in cases:
        done = run_cli("refine", pic, stack, "-o", str(tmp_path / "x.psd"))
        assert done.returncode != 0
        assert done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.psd").exists()


def test_decompose_reports_reconstruction_and_takes_refine(tmp_path) -> None:
    composite = flatten(generate_sample(seed=2, index=1)[1])
    Image.fromarray(composite).save(tmp_path / "in.png")
    done = run_cli("decompose", str(tmp_path / "in.png"), "-o", str(tmp_path / "out"),
                   "--backend", "classic", "--refine", "off")
    assert done.returncode == 0, done.stderr
    assert "reconstruction" in done.stderr
    info = json.loads((tmp_path / "out" / "layers.json").read_text())
    assert info["reconstruction_db"] >= 40
    bad = run_cli("decompose", str(tmp_path / "in.png"), "-o", str(tmp_path / "o2"),
                  "--refine", "sometimes")
    assert bad.returncode != 0 and "--refine" in bad.stderr


def test_eval_simulated_refine_beats_the_plain_resize(tmp_path) -> None:
    data = tmp_path / "syn"
    made = run_cli("dataset", "--synthetic", "3", "--seed", "5", "-o", str(data), "-q")
    assert made.returncode == 0, made.stderr
    scores = {}
    for mode in ("auto", "off"):
        done = run_cli("eval", str(data), "--baseline", "simulated", "--upscale", "3",
                       "--refine", mode, "--json", "-q", "--merges", "0")
        assert done.returncode == 0, done.stderr
        scores[mode] = json.loads(done.stdout)
    refined, naive = scores["auto"], scores["off"]
    assert "refined" in refined["predictor"] and "naive resize" in naive["predictor"]
    assert min(s["psnr_db"] for s in refined["per_sample"]) >= 50
    assert max(s["psnr_db"] for s in naive["per_sample"]) < 45
    assert refined["table"][0]["rgb_l1"] < naive["table"][0]["rgb_l1"]
    assert refined["table"][0]["alpha_iou"] > naive["table"][0]["alpha_iou"]
    bad = run_cli("eval", str(data), "--upscale", "3", "--baseline", "gt")
    assert bad.returncode != 0 and "--upscale" in bad.stderr
