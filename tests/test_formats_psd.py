"""PSD export read back by psd-tools, GIMP and ImageMagick; PSD import of real files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from psd_tools import PSDImage
from test_formats_support import make_doc, premultiplied

from app.core.document import Document
from app.core.errors import ImportFailed
from app.core.formats import load_document, load_image_rgba, save_document
from app.core.formats.bake import bake_layer, composite_rgba
from app.core.formats.images import to_rgba8
from app.core.layer import Layer, LayerParams, Recolor
from tests.shared_data import shared_psd

GIMP = shutil.which("gimp-console-2.10")
IDENTIFY = "/usr/bin/identify" if Path("/usr/bin/identify").exists() else None


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    doc = make_doc(seed=3, layers=5, size=(80, 60))
    path = tmp_path_factory.mktemp("psd") / "doc.psd"
    save_document(doc, path)
    return doc, path


def test_psd_tools_reads_back_layers_and_pixels(written):
    doc, path = written
    psd = PSDImage.open(path)
    layers = list(psd)
    assert (psd.width, psd.height) == doc.size and len(layers) == len(doc.layers)
    for ours, theirs in zip(doc.layers, layers):
        baked = bake_layer(doc, ours)
        assert theirs.name == ours.name
        assert theirs.visible == ours.params.visible
        assert theirs.opacity == round(ours.params.opacity * 255)
        assert theirs.bbox == (baked.x, baked.y, baked.x + baked.pixels.shape[1],
                               baked.y + baked.pixels.shape[0])
        # unedited layers at integer positions are exported bit-exactly
        np.testing.assert_array_equal(np.array(theirs.topil().convert("RGBA")), ours.pixels)


def test_merged_image_is_the_composite(written):
    doc, path = written
    merged = to_rgba8(PSDImage.open(path).composite())  # the stored merged image
    ours = composite_rgba(doc)
    assert np.abs(premultiplied(merged) - premultiplied(ours)).max() <= 1.0


def test_edits_are_baked_into_exported_pixels(tmp_path):
    square = np.zeros((10, 10, 4), np.uint8)
    square[:, :] = (200, 100, 50, 255)
    doc = Document(64, 64, [
        Layer(square, (5, 5), LayerParams(name="moved", offset=(7.0, 3.0))),
        Layer(square, (30, 30), LayerParams(name="dark", recolor=Recolor(brightness=-1.0))),
        Layer(square, (40, 10), LayerParams(name="big", scale=(2.0, 2.0))),
    ])
    save_document(doc, tmp_path / "e.psd")
    moved, dark, big = list(PSDImage.open(tmp_path / "e.psd"))
    assert moved.bbox == (12, 8, 22, 18)
    np.testing.assert_array_equal(np.array(moved.topil()), square)
    assert np.array(dark.topil())[:, :, :3].max() == 0
    # scaled 2x about its centre (45, 15): covers 35..55 x 5..25
    assert big.bbox == (35, 5, 55, 25)
    assert np.array(big.topil())[5:15, 5:15].tolist() == [[[200, 100, 50, 255]] * 10] * 10


def test_round_trip_through_our_importer(written):
    doc, path = written
    back = load_document(path)
    assert back.size == doc.size and len(back.layers) == len(doc.layers)
    for ours, theirs in zip(doc.layers, back.layers):
        assert theirs.name == ours.name and theirs.params.visible == ours.params.visible
        assert theirs.origin == ours.origin
        np.testing.assert_array_equal(theirs.pixels, ours.pixels)
        assert abs(theirs.params.opacity - ours.params.opacity) <= 0.5 / 255


def _gimp_layers(path: Path) -> list[tuple[str, int, int, int, int]]:
    script = (
        "(begin (gimp-message-set-handler 1)"
        f' (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE "{path}" "{path}")))'
        "        (layers (vector->list (cadr (gimp-image-get-layers image)))))"
        "   (for-each (lambda (l) (let ((off (gimp-drawable-offsets l)))"
        '     (gimp-message (string-append "LAYER|" (car (gimp-item-get-name l))'
        '       "|" (number->string (car off)) "|" (number->string (cadr off))'
        '       "|" (number->string (car (gimp-drawable-width l)))'
        '       "|" (number->string (car (gimp-drawable-height l))))))) layers)))'
    )
    run = subprocess.run(
        [GIMP, "-i", "-d", "-f", "-b", script, "-b", "(gimp-quit 0)"],
        capture_output=True, timeout=120, cwd=path.parent,
    )
    text = (run.stdout + run.stderr).decode("utf-8", "replace")
    rows = []
    for line in text.splitlines():
        if "LAYER|" in line:
            name, x, y, w, h = line.split("LAYER|", 1)[1].rsplit("|", 4)
            rows.append((name, int(x), int(y), int(w), int(h)))
    return rows[::-1]  # GIMP lists the top layer first


def _expected_boxes(doc):
    out = []
    for layer in doc.layers:
        b = bake_layer(doc, layer)
        out.append((layer.name, b.x, b.y, b.pixels.shape[1], b.pixels.shape[0]))
    return out


@pytest.mark.skipif(GIMP is None, reason="GIMP (gimp-console-2.10) is not installed")
def test_gimp_lists_the_same_layers(written):
    doc, path = written
    assert _gimp_layers(path) == _expected_boxes(doc)


@pytest.mark.skipif(IDENTIFY is None, reason="ImageMagick (/usr/bin/identify) is not installed")
def test_imagemagick_lists_the_same_layers(written):
    doc, path = written
    run = subprocess.run(
        [IDENTIFY, "-format", "%s|%l|%wx%h%X%Y\n", str(path)],
        capture_output=True, timeout=60, check=True,
    )
    rows = run.stdout.decode("utf-8", "replace").strip().splitlines()
    assert rows[0].endswith(f"|{doc.width}x{doc.height}+0+0")  # scene 0: the merged image
    rows = rows[1:]
    expected = _expected_boxes(doc)
    assert len(rows) == len(expected)
    for row, (name, x, y, w, h) in zip(rows, expected):
        _, label, geometry = row.split("|")
        assert geometry == f"{w}x{h}+{x}+{y}"
        # ImageMagick 6 reads the legacy Pascal name (MacRoman, as Photoshop writes it),
        # so only ASCII names can be compared letter for letter.
        if name.isascii():
            assert label == name


def test_empty_layers_and_non_ascii_names(tmp_path):
    doc = make_doc(seed=4, layers=3)
    doc.layers.append(Layer(np.zeros((3, 3, 4), np.uint8), (0, 0), LayerParams(name="空")))
    save_document(doc, tmp_path / "x.psd")
    names = [layer.name for layer in PSDImage.open(tmp_path / "x.psd")]
    assert names == [layer.name for layer in doc.layers]
    back = load_document(tmp_path / "x.psd")  # the empty layer keeps its place
    assert [layer.name for layer in back.layers] == names
    assert back.layers[-1].pixels.shape == (1, 1, 4) and back.layers[-1].pixels[0, 0, 3] == 0


# --- import


def _real(name: str) -> Path:
    return shared_psd(name)  # skips locally when absent, fails in CI


REAL_FILES = [
    "2layers.psd", "semi-transparent-layers.psd", "hidden-groups.psd", "group-clipping.psd",
    "transparentbg-gimp.psd", "cactus_top.psd", "16bit5x5.psd",
]


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_psd_composites_close_to_its_merged_image(name):
    """Tolerance: 2/255 per premultiplied channel. Photoshop stores an 8-bit merged image
    computed with its own integer rounding at each blend step; ours rounds once, so
    one or two levels of difference are rounding, while any wrong layer, offset, opacity,
    visibility or clip shows up as tens to hundreds of levels."""
    path = _real(name)
    psd = PSDImage.open(path)
    merged_image = psd.composite()  # the merged image stored in the file
    merged = to_rgba8(merged_image)
    ours = load_image_rgba(path)
    assert ours.shape == merged.shape
    if "A" not in merged_image.mode:
        # The file stores no merged alpha: its preview is the colour premultiplied (over
        # black, as Procreate writes it; opaque files are the same either way).
        assert np.abs(premultiplied(ours)[:, :, :3] - merged[:, :, :3]).max() <= 2.0
    else:
        assert np.abs(premultiplied(ours) - premultiplied(merged)).max() <= 2.0


def test_real_psd_layers_keep_names_visibility_and_groups():
    doc = load_document(_real("2layers.psd"))
    assert [layer.name for layer in doc.layers] == ["Фон", "Слой"]
    doc = load_document(_real("hidden-groups.psd"))
    by_name = {layer.name: layer for layer in doc.layers}
    assert not by_name["Shape 1"].params.visible  # inside a hidden group
    assert by_name["Shape 2"].params.visible
    doc = load_document(_real("cactus_top.psd"))
    assert [layer.params.visible for layer in doc.layers] == [False, True]
    doc = load_document(_real("group-clipping.psd"))
    assert [layer.name for layer in doc.layers] == ["bg", "base", "red", "blue"]


def test_layerless_psd_opens_as_one_layer(tmp_path):
    from PIL import Image

    rgb = np.random.default_rng(1).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    PSDImage.frompil(Image.fromarray(rgb)).save(tmp_path / "flat.psd")
    doc = load_document(tmp_path / "flat.psd")
    assert len(doc.layers) == 1 and doc.size == (7, 9)
    np.testing.assert_array_equal(doc.layers[0].pixels[:, :, :3], rgb)


def test_psd_export_refuses_canvases_psd_cannot_hold(tmp_path):
    from app.core.errors import ExportFailed

    doc = Document(40_000, 10, [Layer(np.zeros((1, 1, 4), np.uint8))])
    with pytest.raises(ExportFailed, match="30000"):
        save_document(doc, tmp_path / "wide.psd")
    assert not (tmp_path / "wide.psd").exists()


def test_psd_over_the_pixel_limit_and_huge_declared_size(tmp_path):
    from PIL import Image

    PSDImage.frompil(Image.new("RGB", (200, 100))).save(tmp_path / "a.psd")
    with pytest.raises(ImportFailed, match="limit"):
        load_document(tmp_path / "a.psd", max_pixels=10_000)
    data = bytearray((tmp_path / "a.psd").read_bytes())
    data[14:22] = (200_000).to_bytes(4, "big") + (250_000).to_bytes(4, "big")  # height, width
    (tmp_path / "huge.psd").write_bytes(bytes(data))
    with pytest.raises(ImportFailed, match="huge.psd"):
        load_document(tmp_path / "huge.psd")


def test_the_position_lock_is_the_psd_layer_lock_flag(tmp_path):
    from psd_tools.constants import ProtectedFlags

    doc = make_doc(seed=5, layers=3, size=(40, 30))
    doc.layers[0].params = doc.layers[0].params.with_(locked=True)
    path = tmp_path / "locked.psd"
    save_document(doc, path)
    psd = PSDImage.open(path)
    flags = [layer.locks.value if layer.locks is not None else 0 for layer in psd]
    assert flags[0] == ProtectedFlags.POSITION
    assert all(flag == 0 for flag in flags[1:])
    back = load_document(path)
    assert [layer.locked for layer in back.layers] == [True, False, False]
    if IDENTIFY is not None:  # the extra block does not trouble another reader
        out = subprocess.run([IDENTIFY, "-format", "%wx%h\n", str(path)], capture_output=True,
                             text=True, check=True).stdout.split()
        assert len(out) == 1 + len(doc.layers)  # the merged image, then each layer
    # Photoshop's "lock all" also keeps a layer in place
    psd[1].lock(ProtectedFlags.COMPLETE)
    psd[1].lock(ProtectedFlags.COMPLETE)  # psd-tools 1.26 drops the first lock() of a layer
    psd.save(tmp_path / "all.psd")
    assert [layer.locked for layer in load_document(tmp_path / "all.psd").layers] == [
        True, True, False
    ]
