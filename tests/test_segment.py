"""model/segment: Segment Anything through transformers' own classes, with tiny random models
built from the real config classes and loaded by Strata's loader (they cannot show quality:
their masks are arbitrary; coordinates, shapes, loading, cancel and the weight checks are real).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from segment_fixtures import SAM_SIZE, tiny_edgetam, tiny_sam, tiny_sam_hq, tiny_vitmatte

from model.base import Cancelled, CancelToken
from model.segment import matte as matting
from model.segment.proposals import grid_points, main_objects, main_objects_if_weights, stability
from model.segment.segmenter import Embedding, Prediction, Segmenter
from model.segment.weights import WeightsMissing, find, inspect


@pytest.fixture(autouse=True)
def empty_hub_cache(monkeypatch, tmp_path):
    from huggingface_hub import constants as hub

    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))


@pytest.fixture(scope="module")
def sam_folder(tmp_path_factory) -> Path:
    return tiny_sam(tmp_path_factory.mktemp("weights") / "tiny-sam")


@pytest.fixture(scope="module")
def sam(sam_folder) -> Segmenter:
    return Segmenter.load(sam_folder)


@pytest.fixture(scope="module")
def edgetam(tmp_path_factory) -> Segmenter:
    return Segmenter.load(tiny_edgetam(tmp_path_factory.mktemp("weights") / "tiny-edgetam"))


def picture(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), np.uint8)


# -- prompts -> model coordinates -> masks back, against the models' own processors


@pytest.mark.parametrize("h, w", [(90, 200), (301, 37)])
def test_points_and_boxes_map_as_the_processor_maps_them(sam, edgetam, h, w):
    rgb = picture(h, w)
    pts = [[w * 0.3, h * 0.6], [w - 1.0, 0.0]]
    box = [w * 0.1, h * 0.2, w * 0.9, h * 0.7]
    for seg in (sam, edgetam):
        emb = seg.embed(rgb)
        ours = emb.to_model(np.array(pts))
        ours_box = emb.to_model(np.array(box).reshape(2, 2)).reshape(4)
        theirs = seg.processor(images=rgb, input_points=[[pts]], input_labels=[[[1, 1]]],
                               input_boxes=[[box]], return_tensors="pt")
        assert np.allclose(ours, theirs["input_points"][0, 0].numpy(), atol=1e-4)
        assert np.allclose(ours_box, theirs["input_boxes"][0, 0].numpy(), atol=1e-4)


@pytest.mark.parametrize("h, w", [(90, 200), (200, 90)])
def test_masks_come_back_as_the_processor_brings_them_back(sam, edgetam, h, w):
    rgb = picture(h, w, 1)
    for seg in (sam, edgetam):
        emb = seg.embed(rgb)
        pred = seg.predict(emb, [(w / 3, h / 2)], [1])
        logits = pred.logits[None, None]
        proc = seg.processor.image_processor
        import torch

        if seg.model_type == "sam":
            theirs = proc.post_process_masks([torch.from_numpy(logits)], [(h, w)],
                                             [emb.resized], binarize=False)[0][0, 0].numpy()
        else:
            theirs = seg.processor.post_process_masks([torch.from_numpy(logits)], [(h, w)],
                                                      binarize=False)[0][0, 0].numpy()
        assert pred.mask().shape == (h, w)
        assert np.array_equal(pred.mask(), theirs > 0)


@pytest.mark.parametrize("h, w", [(90, 200), (240, 64), (50, 50)])
@pytest.mark.parametrize("padded", [True, False])
def test_a_blob_at_a_prompt_comes_back_at_that_pixel(h, w, padded):
    """The round trip alone: a mask the decoder puts where a point lands in model
    coordinates covers that point's pixel in the picture (SAM pads, SAM 2 stretches)."""
    side, grid = 1024, 256
    if padded:
        k = side / max(h, w)
        resized = (int(h * k + 0.5), int(w * k + 0.5))
    else:
        resized = (side, side)
    emb = Embedding(None, {}, (h, w), resized, (side, side))
    rng = np.random.default_rng(0)
    for _ in range(10):
        x, y = rng.uniform(0, w - 1), rng.uniform(0, h - 1)
        mx, my = emb.to_model(np.array([x, y]))
        gy, gx = np.mgrid[0:grid, 0:grid]
        logits = 4.0 - np.hypot(gx + 0.5 - mx * grid / side, gy + 0.5 - my * grid / side)
        mask = Prediction(logits.astype(np.float32), 1.0, emb).mask()
        assert mask[int(y), int(x)]
        ys, xs = np.nonzero(mask)
        # centred on the point, within the blob's size in picture pixels
        assert abs(xs.mean() - x) < 4 * max(w / resized[1], 1) * side / grid
        assert abs(ys.mean() - y) < 4 * max(h / resized[0], 1) * side / grid


def test_points_boxes_and_removals_decode(sam):
    rgb = picture(90, 200)
    emb = sam.embed(rgb)
    one = sam.predict(emb, [(50, 40)], [1])
    two = sam.predict(emb, [(50, 40), (150, 40)], [1, 0], box=(10, 10, 190, 80))
    boxed = sam.predict(emb, box=(10, 10, 190, 80))
    for pred in (one, two, boxed):
        assert pred.mask().shape == (90, 200) and pred.mask().dtype == bool
        assert pred.logits.shape == (SAM_SIZE // 4, SAM_SIZE // 4)
    small = one.mask((45, 100), soft=True)
    assert small.shape == (45, 100) and 0.0 <= small.min() <= small.max() <= 1.0
    with pytest.raises(ValueError):
        sam.predict(emb)


def test_sam_hq_decodes_with_its_intermediate_embeddings(tmp_path):
    seg = Segmenter.load(tiny_sam_hq(tmp_path / "hq"))
    emb = seg.embed(picture(50, 90))
    assert seg.model_type == "sam_hq" and "intermediate_embeddings" in emb.extra
    pred = seg.predict(emb, [(10, 10), (60, 30)], [1, 0])
    assert pred.mask().shape == (50, 90)


def test_embedding_reports_progress_and_cancels(sam):
    rgb = picture(90, 200)
    seen = []
    sam.embed(rgb, progress=seen.append)
    assert [p.step for p in seen] == list(range(1, len(seen) + 1))
    assert seen[-1].step == seen[-1].total
    cancel = CancelToken()

    def stop_after_first(p):
        cancel.cancel()

    with pytest.raises(Cancelled):
        sam.embed(rgb, progress=stop_after_first, cancel=cancel)
    cancelled_first = CancelToken()
    cancelled_first.cancel()
    with pytest.raises(Cancelled):
        sam.embed(rgb, cancel=cancelled_first)


def test_embedding_cancel_from_another_thread_stops_it(edgetam):
    rgb = picture(120, 160)
    cancel = CancelToken()
    steps = []

    def progress(p):
        steps.append(p.step)
        if p.step == 1:
            threading.Thread(target=cancel.cancel).start()
            threading.Event().wait(0.05)

    with pytest.raises(Cancelled):
        edgetam.embed(rgb, progress=progress, cancel=cancel)
    assert steps and steps[-1] < max(1, len(steps)) + 2  # stopped early, not at the end


# -- weights: found, missing, truncated (exact sentences)


def test_missing_weights_are_named_with_the_command_to_get_them():
    report = inspect("sam-vit-base")
    assert not report.usable and report.path is None
    assert report.problem == (
        "The sam-vit-base weights (facebook/sam-vit-base) are not downloaded; get them with "
        "`python main.py models download sam-vit-base`."
    )
    with pytest.raises(WeightsMissing) as caught:
        find("vitmatte")
    assert str(caught.value) == (
        "The vitmatte weights (hustvl/vitmatte-small-composition-1k) are not downloaded; get "
        "them with `python main.py models download vitmatte`."
    )


def test_truncated_weights_are_named_exactly(sam_folder, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(sam_folder, folder)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:-1000])
    report = inspect(str(folder))
    assert report.problem == (
        f"The weights in {folder.resolve()} are incomplete: model.safetensors is truncated "
        "(1000 bytes short); use a complete copy."
    )
    with pytest.raises(WeightsMissing):
        find(str(folder))
    weights.unlink()
    assert inspect(str(folder)).problem == (
        f"The weights in {folder.resolve()} are incomplete: ./ has no safetensors weights; "
        "use a complete copy."
    )


def test_hub_cache_copy_is_found_and_a_truncated_one_says_how_to_resume(sam_folder, tmp_path):
    from huggingface_hub import constants as hub

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = Path(hub.HF_HUB_CACHE) / "models--facebook--sam-vit-base"
    snapshot = repo / "snapshots" / commit
    shutil.copytree(sam_folder, snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    report = find("sam-vit-base")
    assert report.source == "hub cache" and report.total_bytes > 0
    assert Segmenter.load(report.path).model_type == "sam"
    weights = snapshot / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    problem = inspect("sam-vit-base").problem
    assert problem == (
        f"The sam-vit-base weights in {snapshot} are incomplete: model.safetensors is "
        "truncated or not a safetensors file (bad header length); run "
        "`python main.py models download sam-vit-base` again to resume."
    )


def test_a_folder_of_another_model_is_refused(tmp_path):
    folder = tiny_vitmatte(tmp_path / "vm")
    with pytest.raises(ValueError, match="not Segment Anything"):
        Segmenter.load(folder)


# -- mattes


def disc_picture(h=120, w=160, r=30):
    yy, xx = np.mgrid[0:h, 0:w]
    d = np.hypot(xx - w / 2, yy - h / 2)
    alpha = np.clip(r + 0.5 - d, 0, 1)  # anti-aliased disc
    fg, bg = np.array([230, 200, 30.0]), np.array([20, 20, 60.0])
    rgb = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
    return np.rint(rgb).astype(np.uint8), alpha, d


def test_closed_form_matte_follows_a_soft_edge_and_decontaminates():
    rgb, truth, d = disc_picture()
    mask = d < 33  # a mask a little too large, as a decoder's can be
    alpha = matting.matte(rgb, mask)
    assert alpha.shape == mask.shape
    assert np.abs(alpha - truth).mean() < 0.02
    assert (alpha[d > 40] == 0).all() and (alpha[d < 25] > 0.98).all()
    fg = matting.foreground(rgb, alpha)
    edge = (alpha > 0.1) & (alpha < 0.9)
    # the object's own colour at its edge, not the dark background mixed in
    def off(colours):
        return np.abs(colours.astype(int) - (230, 200, 30)).max(axis=-1).mean()

    assert off(fg[edge]) < 0.4 * off(rgb[edge])
    assert fg[edge].mean() > rgb[edge].mean() + 20  # lighter: no dark fringe
    cut = matting.cutout(rgb, mask)
    assert cut.shape == (120, 160, 4) and cut[60, 80, 3] == 255 and cut[0, 0, 3] == 0


def test_vitmatte_runs_from_its_folder(tmp_path):
    rgb, _truth, d = disc_picture()
    matter = matting.VitMatter(tiny_vitmatte(tmp_path / "vm"))
    alpha = matting.matte(rgb, d < 33, matter)
    assert alpha.shape == d.shape and alpha.dtype == np.float32
    tri = matting.trimap(d < 33, 3)
    assert (alpha[tri == 1.0] == 1).all() and (alpha[tri == 0.0] == 0).all()
    assert 0 <= alpha.min() and alpha.max() <= 1


# -- automatic proposals


def test_grid_and_stability():
    pts = grid_points((100, 200), 4)
    assert pts.shape == (16, 2) and pts[0].tolist() == [25.0, 12.5]
    logits = np.full((1, 8, 8), -5.0)
    logits[0, 2:6, 2:6] = 5.0
    assert stability(logits)[0] == 1.0
    logits[0, 2:6, 2:6] = 0.5  # between the thresholds: unstable
    assert stability(logits)[0] == 0.0


def test_main_objects_returns_picture_sized_masks(sam):
    rgb = picture(90, 200)
    found = main_objects(rgb, sam, grid=4, min_score=-1.0, min_stability=0.0)
    assert isinstance(found, list)
    for mask in found:
        assert mask.shape == (90, 200) and mask.dtype == bool
    areas = [m.sum() for m in found]
    assert areas == sorted(areas, reverse=True)
    assert main_objects(rgb, sam, grid=4, min_score=2.0) == []  # no IoU reaches 2


def test_main_objects_if_weights_is_none_without_them_and_uses_them_when_there(
        sam_folder, monkeypatch):
    from model.segment.choice import ENV_MODEL

    rgb = picture(60, 80)
    monkeypatch.delenv(ENV_MODEL, raising=False)
    assert main_objects_if_weights(rgb) is None  # empty hub cache: classic keeps its method
    monkeypatch.setenv(ENV_MODEL, str(sam_folder))
    found = main_objects_if_weights(rgb, grid=4, min_score=-1.0, min_stability=0.0)
    assert isinstance(found, list) and all(m.shape == (60, 80) for m in found)


def test_classic_photos_use_segment_anything_objects_when_weights_are_there(
        sam_folder, monkeypatch):
    """The decomposer's photo path takes its pieces from `object_pieces` (a tiny random model
    with its score limits lowered, so that it proposes something); the layers still composite
    to the picture, and what each object covers is cut from the background with a margin."""
    from skimage import data

    from model.base import DecomposeOptions
    from model.classic.decomposer import ClassicDecomposer
    from model.evaluation.compose import flatten
    from model.segment import proposals
    from model.segment.choice import ENV_MODEL
    from model.segment.classic_objects import object_pieces

    monkeypatch.setenv(ENV_MODEL, str(sam_folder))
    monkeypatch.setattr(proposals, "MIN_SCORE", -1.0)
    monkeypatch.setattr(proposals, "MIN_STABILITY", 0.0)
    monkeypatch.setattr(proposals, "GRID", 4)
    monkeypatch.setattr(proposals, "MAX_BORDERS", 4)  # random masks are noise over it all
    photo = data.astronaut()[::2, ::2]  # 256 x 256: classic takes it as a photo
    rgb = photo.astype(np.float32) / 255.0
    found = object_pieces(rgb, np.ones(photo.shape[:2], np.float32), lambda: None)
    assert found is not None
    pieces, covered = found
    assert pieces[0].name == "Subject" and all(p.kind == "subject" for p in pieces)
    for p in pieces:
        y0, y1, x0, x1 = p.box
        assert covered[y0:y1, x0:x1][p.alpha > 0].all()
    assert covered.sum() > sum((p.alpha > 0).sum() for p in pieces[:1])  # the margin
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    result = ClassicDecomposer().decompose(rgba, DecomposeOptions(layers=None))
    assert any(layer.name == "Subject" for layer in result.layers)
    assert np.abs(flatten([la.rgba for la in result.layers]).astype(int)
                  - rgba).max() <= 2
