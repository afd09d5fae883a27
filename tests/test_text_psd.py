"""Text layers as Photoshop type layers: written by Strata and read by real psd-tools, GIMP
and ImageMagick; Photoshop's own type layers (../shared/data/psd-text) opened as text."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from psd_tools import PSDImage

from app.core import fonts
from app.core.commands import History, set_offset
from app.core.document import Document
from app.core.formats import load_document, save_document
from app.core.formats.bake import bake_layer
from app.core.text_layer import edit_text, text_layer
from model.text_spec import TextSpec
from tests.shared_data import SHARED_DATA, missing

GIMP = shutil.which("gimp-console-2.10")
CONVERT = "/usr/bin/convert" if Path("/usr/bin/convert").exists() else shutil.which("magick")
FAMILY = next((f for f in ("Nimbus Sans", "DejaVu Sans") if fonts.is_installed(f)), None)
pytestmark = pytest.mark.skipif(FAMILY is None, reason="neither Nimbus Sans nor DejaVu Sans")
PSD_TEXT = SHARED_DATA / "psd-text"


def _spec() -> TextSpec:
    return TextSpec(("Big SALE", "ünïcode (50%)"), FAMILY, style="Bold", weight=700,
                    size_px=36.0, color=(200, 30, 60), tracking=40.0, x=20.0, y=50.0)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    doc = Document.from_image(np.full((160, 320, 4), (250, 240, 220, 255), np.uint8))
    doc.layers.append(text_layer(_spec()))
    centred = text_layer(replace(_spec(), lines=("centred",), align="center", x=160.0,
                                 y=140.0, color=(0, 90, 255), style="Regular", weight=400))
    doc.layers.append(centred)
    History(doc).push(set_offset(doc, centred.id, (4.0, -6.0)))
    path = tmp_path_factory.mktemp("psd") / "text.psd"
    save_document(doc, path)
    return doc, path


def test_psd_tools_reads_the_text_font_size_and_colour(written):
    doc, path = written
    psd = PSDImage.open(path)
    layers = list(psd)
    assert [la.kind for la in layers] == ["pixel", "type", "type"]
    first = layers[1]
    assert first.text == "Big SALE\rünïcode (50%)"
    runs = [run for paragraph in first.typesetting for run in paragraph]
    style = runs[0].style
    assert style.font_name == fonts.match(FAMILY, "Bold").postscript
    assert style.font_size == pytest.approx(36.0)
    assert style.fill_color == pytest.approx((1.0, 200 / 255, 30 / 255, 60 / 255), abs=1e-4)
    assert style.tracking == 40
    second = layers[2]
    para = next(iter(second.typesetting))
    assert para.style.justification.name == "CENTER"
    transform = second._record.tagged_blocks.get_data(b"TySh").transform
    assert transform[4:] == pytest.approx((164.0, 134.0))  # its anchor, moved with the layer
    for ours, theirs in zip(doc.layers[1:], layers[1:]):
        baked = bake_layer(doc, ours)
        assert (theirs.left, theirs.top) == (baked.x, baked.y)
        np.testing.assert_array_equal(np.asarray(theirs.topil().convert("RGBA")), baked.pixels)


def test_written_psd_opens_again_as_the_same_text_layers(written):
    doc, path = written
    back = load_document(path)
    assert [la.text is not None for la in back.layers] == [False, True, True]
    text = back.layers[1].text
    assert text.lines == _spec().lines and text.family == FAMILY and text.style == "Bold"
    assert (text.size_px, text.color, text.tracking) == (36.0, (200, 30, 60), 40.0)
    assert (text.x, text.y, text.align) == (20.0, 50.0, "left")
    np.testing.assert_array_equal(back.layers[1].pixels, doc.layers[1].pixels)
    assert back.layers[2].text.align == "center" and back.layers[2].text.x == 164.0
    # editable in Strata: an edit re-renders it with the same font
    History(back).push(edit_text(back, back.layers[1].id, lines=("NEW",)))
    assert back.layers[1].name == "NEW"


def _shared(name: str) -> Path:
    path = PSD_TEXT / name
    if not path.exists():
        missing(path, f"the shared type-layer PSD {name}")
    return path


@pytest.mark.parametrize(
    ("name", "lines", "family", "size", "align"),
    [
        ("text-simple.psd", ("Hello",), "Myriad Pro", 60.0, "left"),
        ("text-layer.psd", ("Test text",), "Myriad Pro", 12.0, "left"),
        ("text-box.psd", ("TEST",), "Myriad Pro", 30.0, "center"),
        ("text-complex.psd", ("Test text aaaa", "xxxxx", "", "OMG !"), "Myriad Pro", 25.0,
         "center"),
    ],
)
def test_photoshop_type_layers_open_as_text_layers(name, lines, family, size, align):
    path = _shared(name)
    doc = load_document(path)
    texts = [la for la in doc.layers if la.text is not None]
    assert len(texts) == 1
    layer = texts[0]
    assert layer.text.lines == lines and layer.text.family == family
    assert layer.text.size_px == size and layer.text.align == align
    # the pixels Photoshop stored are kept (its fonts are not free, so not installed here)
    theirs = next(la for la in PSDImage.open(path).descendants() if la.kind == "type")
    assert layer.origin[0] >= theirs.left and layer.origin[1] >= theirs.top
    assert layer.pixels[:, :, 3].any()
    if not fonts.is_installed(family):
        note = fonts.missing_font_note(family)
        assert family in note and fonts.closest_family(family) in note


def test_paragraph_text_with_two_fonts():
    doc = load_document(_shared("text-paragraph-align.psd"))
    layer = next(la for la in doc.layers if la.text is not None)
    assert layer.text.lines[0].startswith("Do you think there is an argument")
    assert layer.text.family == "Arial" and layer.text.size_px == 18.0
    assert layer.text.color == (203, 173, 155)


def _gimp_layer_pngs(path: Path, out: Path) -> list[Path]:
    script = (
        "(begin (gimp-message-set-handler 1)"
        f' (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE "{path}" "{path}")))'
        "        (layers (vector->list (cadr (gimp-image-get-layers image)))) (i 0))"
        "   (for-each (lambda (l) (set! i (+ i 1))"
        f'     (let ((f (string-append "{out}/gimp" (number->string i) ".png")))'
        "       (file-png-save-defaults RUN-NONINTERACTIVE image l f f))) layers)))"
    )
    subprocess.run([GIMP, "-i", "-d", "-f", "-b", script, "-b", "(gimp-quit 0)"],
                   capture_output=True, timeout=180, cwd=out)
    return sorted(out.glob("gimp*.png"), key=lambda p: int(p.stem[4:]))[::-1]  # bottom first


def _png(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGBA"))


def _visible_equal(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    np.testing.assert_array_equal(a[:, :, 3], b[:, :, 3])
    seen = a[:, :, 3] > 0  # colour under alpha 0 is not defined by any reader
    np.testing.assert_array_equal(a[seen], b[seen])


@pytest.mark.skipif(GIMP is None, reason="GIMP (gimp-console-2.10) is not installed")
def test_gimp_shows_the_same_pixels(written, tmp_path):
    doc, path = written
    pngs = _gimp_layer_pngs(path, tmp_path)
    assert len(pngs) == len(doc.layers)
    for layer, png in zip(doc.layers[1:], pngs[1:]):
        _visible_equal(_png(png), bake_layer(doc, layer).pixels)


@pytest.mark.skipif(CONVERT is None, reason="ImageMagick (convert) is not installed")
def test_imagemagick_shows_the_same_pixels(written, tmp_path):
    doc, path = written
    for index, layer in enumerate(doc.layers[1:], start=2):  # scene 0 is the merged image
        out = tmp_path / f"im{index}.png"
        subprocess.run([CONVERT, f"{path}[{index}]", "-define", "png:color-type=6", str(out)],
                       capture_output=True, timeout=60, check=True)
        _visible_equal(_png(out), bake_layer(doc, layer).pixels)
