"""Opening a folder of layer PNGs: what `save_folder` / `decompose -o DIR` write, its
layers.json, and the evaluation datasets' numbered sample folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from test_formats_support import blob, make_doc

from app.core.compositor import composite
from app.core.document import Document
from app.core.errors import ImportFailed
from app.core.formats import detect_format, load_document, load_image_rgba, save_document
from app.core.formats.bake import bake_layer, full_canvas
from app.core.formats.limits import MAX_LAYERS
from app.core.layer import Layer, LayerParams
from model.evaluation.dataset import write_sample

NAMES = ["Фон", "Ébauche ✓", "图层 2", "hidden 🙈", "Layer"]


def unedited_doc(seed: int = 7) -> Document:
    """Offsets (in the origins and as integer moves), a hidden layer, unicode names,
    opacity 1: a folder holds this document exactly."""
    rng = np.random.default_rng(seed)
    doc = make_doc(seed=seed, layers=5, size=(80, 60))
    for index, layer in enumerate(doc.layers):
        move = (float(rng.integers(-5, 6)), float(rng.integers(-5, 6))) if index else (0.0, 0.0)
        layer.params = LayerParams(name=NAMES[index], visible=index != 3, offset=move)
    doc.layers.append(Layer(blob(rng, 30, 20), (70, 50), LayerParams(name="past the edge")))
    return doc


def canvases(doc: Document) -> list[np.ndarray]:
    return [full_canvas(doc, bake_layer(doc, layer, with_opacity=True)) for layer in doc.layers]


def write_png(path: Path, rgba: np.ndarray) -> Path:
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def failure(path: Path, **kwargs) -> str:
    with pytest.raises(ImportFailed) as info:
        load_document(path, **kwargs)
    message = str(info.value)
    assert message.startswith(f"Cannot open {path}: ") and "\n" not in message
    return message


# --- round trips


def test_round_trip_keeps_names_visibility_pixels_and_composite(tmp_path):
    doc = unedited_doc()
    save_document(doc, tmp_path / "out")
    back = load_document(tmp_path / "out")
    assert (back.width, back.height) == (doc.width, doc.height)
    assert [la.name for la in back.layers] == NAMES + ["past the edge"]
    assert [la.params.visible for la in back.layers] == [True, True, True, False, True, True]
    assert np.array_equal(composite(back), composite(doc))
    for got, want in zip(canvases(back), canvases(doc)):
        assert np.array_equal(got, want)
    for layer in back.layers:  # cropped to the content, at its canvas position
        baked = bake_layer(back, layer)
        assert layer.origin == (baked.x, baked.y) and layer.pixels.shape == baked.pixels.shape
        assert layer.params.opacity == 1.0 and layer.params.offset == (0.0, 0.0)
    assert back.metadata == doc.metadata and back.source is None


def test_layers_json_path_opens_its_folder(tmp_path):
    doc = unedited_doc()
    save_document(doc, tmp_path / "out")
    via_json = load_document(tmp_path / "out" / "layers.json")
    assert [la.name for la in via_json.layers] == [la.name for la in doc.layers]
    assert np.array_equal(composite(via_json), composite(doc))
    assert detect_format(tmp_path / "out") == "folder"
    assert detect_format(tmp_path / "out" / "layers.json") == "folder"
    for path in (tmp_path / "out", tmp_path / "out" / "layers.json"):
        assert np.array_equal(load_image_rgba(path), composite(doc))


def test_opacity_and_edits_stay_baked_in(tmp_path):
    """Opacity < 1 and scaled/recoloured layers come back at opacity 1 with those edits in
    their pixels: the composite differs by at most the one rounding of the baked alpha."""
    doc = make_doc(seed=5, layers=5, edits=True)
    save_document(doc, tmp_path / "out")
    back = load_document(tmp_path / "out")
    assert all(la.params == LayerParams(name=la.name, visible=la.params.visible)
               for la in back.layers)
    for got, want in zip(canvases(back), canvases(doc)):
        assert np.array_equal(got, want)
    diff = np.abs(composite(back).astype(int) - composite(doc).astype(int))
    assert diff.max() <= 1
    # opening and saving again writes the same layer PNGs
    save_document(back, tmp_path / "again")
    for index in range(len(doc.layers)):
        first = np.array(Image.open(tmp_path / "out" / f"{index:02d}.png"))
        second = np.array(Image.open(tmp_path / "again" / f"{index:02d}.png"))
        assert np.array_equal(first, second)


def test_empty_and_fully_transparent_layers(tmp_path):
    doc = Document(20, 10, [Layer.from_canvas(np.zeros((10, 20, 4), np.uint8), "clear")])
    save_document(doc, tmp_path / "one")
    back = load_document(tmp_path / "one")
    assert [la.name for la in back.layers] == ["clear"] and back.layers[0].size == (1, 1)
    save_document(Document(20, 10), tmp_path / "none")
    empty = load_document(tmp_path / "none")
    assert (empty.width, empty.height, empty.layers) == (20, 10, [])


@st.composite
def stacks(draw):
    width, height = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    layers = []
    for index in range(draw(st.integers(1, 4))):
        rgba = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
        alpha = rng.integers(0, 3, (height, width))
        rgba[:, :, 3] = np.where(alpha == 0, 0, np.where(alpha == 1, 255, rgba[:, :, 3]))
        name = draw(st.text(st.characters(blacklist_categories=("Cs",)), max_size=12))
        visible = draw(st.booleans())
        layers.append(Layer.from_canvas(rgba, name or f"L{index}", visible=visible))
    return Document(width, height, layers)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=stacks())
def test_any_stack_of_rgba_layers_round_trips(tmp_path_factory, doc):
    folder = tmp_path_factory.mktemp("f") / "out"
    save_document(doc, folder)
    back = load_document(folder)
    assert [la.name for la in back.layers] == [la.name for la in doc.layers]
    assert [la.params.visible for la in back.layers] == [la.params.visible for la in doc.layers]
    assert np.array_equal(composite(back), composite(doc))
    for got, want in zip(canvases(back), canvases(doc)):
        assert np.array_equal(got, want)


# --- folders without layers.json


def test_dataset_sample_folder_opens_in_numeric_order(tmp_path):
    rng = np.random.default_rng(3)
    layers = [blob(rng, 24, 16) for _ in range(3)]
    write_sample(tmp_path / "sample", composite=layers[0], layers=layers)
    back = load_document(tmp_path / "sample")
    assert [la.name for la in back.layers] == ["Layer 1", "Layer 2", "Layer 3"]
    assert all(la.params.visible for la in back.layers)
    for got, want in zip(canvases(back), layers):
        assert np.array_equal(got, want)
    # 2.png comes before 10.png; other PNGs and composite.png are not layers
    folder = tmp_path / "loose"
    folder.mkdir()
    write_png(folder / "10.png", layers[1])
    write_png(folder / "2.png", layers[0])
    write_png(folder / "composite.png", layers[2])
    write_png(folder / "notes.png", layers[2])
    back = load_document(folder)
    assert len(back.layers) == 2
    assert np.array_equal(canvases(back)[0], layers[0])


# --- bad input: one sentence, never a traceback


def _saved(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    save_document(make_doc(seed=2, layers=3), folder)
    return folder


def _edit_json(folder: Path, change) -> None:
    info = json.loads((folder / "layers.json").read_text("utf-8"))
    change(info)
    (folder / "layers.json").write_text(json.dumps(info), "utf-8")


def test_missing_empty_or_layerless_folder(tmp_path):
    assert "does not exist" in failure(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    assert "the folder is empty" in failure(tmp_path / "empty")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "readme.txt").write_text("hello")
    write_png(tmp_path / "other" / "composite.png", np.zeros((4, 4, 4), np.uint8))
    assert "neither layers.json nor numbered layer PNGs" in failure(tmp_path / "other")


def test_pngs_of_different_sizes(tmp_path):
    folder = tmp_path / "sizes"
    folder.mkdir()
    write_png(folder / "00.png", np.zeros((10, 10, 4), np.uint8))
    write_png(folder / "01.png", np.zeros((12, 10, 4), np.uint8))
    assert "different sizes (00.png is 10x10, 01.png is 10x12)" in failure(folder)
    saved = _saved(tmp_path)
    write_png(saved / "01.png", np.zeros((5, 5, 4), np.uint8))
    assert "different sizes" in failure(saved)


def test_two_files_with_the_same_number(tmp_path):
    folder = tmp_path / "twice"
    folder.mkdir()
    write_png(folder / "0.png", np.zeros((4, 4, 4), np.uint8))
    write_png(folder / "00.png", np.zeros((4, 4, 4), np.uint8))
    assert "the same number (0.png, 00.png)" in failure(folder)


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda p: p.write_bytes(p.read_bytes()[:200]), "01.png: the image data is damaged"),
        (lambda p: p.write_text("not a picture"), "01.png: the file is not an image"),
        (lambda p: p.write_bytes(b""), "01.png: the file is not an image"),
    ],
)
def test_damaged_layer_png(tmp_path, damage, words):
    folder = _saved(tmp_path)
    damage(folder / "01.png")
    assert words in failure(folder)


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"{not json", "layers.json is damaged"),
        (b"\xff\xfe", "layers.json is damaged"),
        (b"[" * 100_000, "layers.json is damaged"),
        (b"[1, 2]", "layers.json is invalid: it is not a JSON object"),
        (b'{"layers": 3}', "layers.json is invalid: it has no layer list"),
        (b'{"layers": [7]}', "layers.json is invalid: layer 0 is not an object"),
        (b'{"layers": [{"name": "a"}]}', "layers.json is invalid: layer 0 names no file"),
        (b'{"layers": [{"file": "00.png", "name": 5}]}', "name that is not text"),
        (b'{"layers": [{"file": "00.png", "visible": "no"}]}', "not true or false"),
        (b'{"canvas": {"width": -1, "height": 2}, "layers": []}', "the canvas size"),
        (b'{"layers": []}', "lists no layers and no canvas size"),
    ],
)
def test_damaged_layers_json(tmp_path, raw, words):
    folder = _saved(tmp_path)
    (folder / "layers.json").write_bytes(raw)
    assert words in failure(folder)
    assert words in failure(folder / "layers.json")


def test_layers_json_naming_a_missing_file_or_the_composite(tmp_path):
    folder = _saved(tmp_path)
    (folder / "02.png").unlink()
    assert "layers.json names 02.png, which is not in the folder" in failure(folder)
    _edit_json(folder, lambda info: info["layers"][2].update(file="composite.png"))
    assert "names composite.png as a layer" in failure(folder)


@pytest.mark.parametrize(
    "file", ["../secret.png", "sub/../../secret.png", "/etc/passwd", "C:\\x.png", "..\\x.png"]
)
def test_layers_json_naming_a_path_outside_the_folder(tmp_path, file):
    folder = _saved(tmp_path)
    write_png(tmp_path / "secret.png", np.zeros((48, 64, 4), np.uint8))
    _edit_json(folder, lambda info: info["layers"][0].update(file=file))
    assert f"names a file outside the folder ({file})" in failure(folder)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    folder = _saved(tmp_path)
    write_png(tmp_path / "secret.png", np.zeros((48, 64, 4), np.uint8))
    os.symlink(tmp_path / "secret.png", folder / "link.png")
    _edit_json(folder, lambda info: info["layers"][0].update(file="link.png"))
    assert "outside the folder" in failure(folder)


def test_canvas_in_layers_json_must_match_the_pngs(tmp_path):
    folder = _saved(tmp_path)
    _edit_json(folder, lambda info: info.update(canvas={"width": 10, "height": 10}))
    assert "the layer PNGs are 64x48, not the 10x10 canvas" in failure(folder)
    _edit_json(folder, lambda info: info.update(layers=[], canvas={"width": 10**6,
                                                                   "height": 10**6}))
    assert "the image is 1000000x1000000 pixels, wider or taller than" in failure(folder)


def test_pixel_limits(tmp_path):
    folder = _saved(tmp_path)  # 64x48 = 3072 pixels a layer
    assert "00.png: the image is 64x48 = 3,072 pixels, larger than the pixel limit of " \
        "3,000" in failure(folder, max_pixels=3000)
    opaque = np.full((48, 64, 4), 255, np.uint8)
    many = tmp_path / "many"
    many.mkdir()
    for index in range(9):
        write_png(many / f"{index:02d}.png", opaque)
    assert "the layers together hold more than 8x the pixel limit" in failure(many, max_pixels=3072)
    assert len(load_document(many, max_pixels=3072 + 400).layers) == 9


def test_too_many_layers_listed(tmp_path):
    folder = _saved(tmp_path)
    _edit_json(folder, lambda info: info.update(layers=[{"file": "00.png"}] * (MAX_LAYERS + 1)))
    assert f"more than {MAX_LAYERS} layers" in failure(folder)
