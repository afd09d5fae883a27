"""The font fit (model/textfit): real fontconfig, real Pillow/FreeType renders, real OCR."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from model.base import DecomposeOptions
from model.classic.decomposer import ClassicDecomposer
from model.classic.text import TextLine
from model.text_spec import TextSpec
from model.textfit import (
    find_face,
    fit_layer,
    fit_layer_outcome,
    fit_lines,
    fit_outcome,
    installed_faces,
    render_spec,
)
from model.textfit.fit import soft_iou
from model.textfit.fonts import text_faces
from model.textfit.render import face_font


def _face(family: str, style: str):
    face = find_face(family, style)
    if face is None or face.family != family or face.style != style:
        pytest.skip(f"the font {family} {style} is not installed (installer/font-packages.txt)")
    return face


def _layer(text: str, face, size: float, colour=(30, 120, 200), lines: int = 1):
    """A text layer: the words drawn with Pillow's ImageDraw (not the fit's renderer), its
    OCR-like line boxes from the ink."""
    f = face_font(face, size)
    width = int(max(f.getlength(t) for t in text.split("\n"))) + 80
    height = int(size * 1.4 * lines) + 60
    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    boxes = []
    for i, words in enumerate(text.split("\n")):
        y = 30 + size + i * 1.3 * size
        draw.text((40.3, y), words, 255, f, anchor="ls")
        x0, y0, x1, y1 = draw.textbbox((40.3, y), words, f, anchor="ls")
        boxes.append(TextLine((int(y0) - 3, int(y1) + 4, int(x0) - 3, int(x1) + 4), words, 0.99))
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = np.asarray(image)
    return rgba, boxes


@pytest.mark.parametrize(
    ("family", "style", "size", "text"),
    [
        ("DejaVu Sans", "Bold", 40.0, "Summer Sale Today"),
        ("DejaVu Serif", "Book", 22.0, "Quarterly report 2024"),
        ("Liberation Serif", "Italic", 64.0, "Fine wines"),
    ],
)
def test_fit_recovers_family_size_and_colour(family, style, size, text):
    face = _face(family, style)
    rgba, lines = _layer(text, face, size)
    spec = fit_lines(rgba, lines)
    assert spec is not None, fit_outcome(rgba, lines).reason
    assert (spec.family, spec.style) == (family, style)
    assert abs(spec.size_px / size - 1) < 0.03
    assert spec.color == (30, 120, 200)
    assert spec.lines == (text,)
    assert spec.fit_iou >= 0.9
    # The spec re-rendered on the layer's canvas is the layer's alpha.
    rendered = render_spec(spec, rgba.shape[:2])
    assert soft_iou(rendered, rgba[..., 3] / 255.0) >= 0.9
    assert abs(spec.y - (30 + size)) < 1.0 and abs(spec.x - 40.3) < 1.0


def test_two_lines_give_line_spacing_and_alignment():
    face = _face("DejaVu Sans", "Book")
    rgba, lines = _layer("Open until\nmidnight", face, 36.0, lines=2)
    spec = fit_lines(rgba, lines)
    assert spec is not None
    assert spec.lines == ("Open until", "midnight")
    assert spec.family == "DejaVu Sans" and spec.align == "left"
    assert abs(spec.line_spacing - 1.3) < 0.03


def test_low_confidence_stays_pixels_with_the_reason():
    face = _face("DejaVu Sans", "Bold")
    rgba, lines = _layer("Summer Sale", face, 40.0)
    doubtful = [TextLine(t.box, t.text, 0.5) for t in lines]
    outcome = fit_outcome(rgba, doubtful)
    assert outcome.spec is None and "low confidence" in outcome.reason
    assert fit_lines(rgba, doubtful) is None


def test_garbage_stays_pixels_with_the_reason():
    rng = np.random.default_rng(3)
    rgba = np.zeros((120, 500, 4), np.uint8)
    for _ in range(40):  # blobs where the OCR claims words
        y, x, r = rng.integers(20, 100), rng.integers(20, 480), rng.integers(3, 12)
        yy, xx = np.ogrid[:120, :500]
        rgba[..., 3][(yy - y) ** 2 + (xx - x) ** 2 <= r * r] = 255
    outcome = fit_outcome(rgba, [TextLine((10, 110, 10, 490), "HELLO WORLD", 0.99)])
    assert outcome.spec is None
    assert "IoU" in outcome.reason and outcome.nearest is not None
    assert outcome.nearest.fit_iou < 0.85
    empty = fit_layer_outcome(np.zeros((50, 50, 4), np.uint8))
    assert empty.spec is None and empty.reason == "the layer is empty"


def test_fit_layer_reads_the_words_itself():
    face = _face("DejaVu Sans", "Bold")
    rgba, _ = _layer("FRESH COFFEE", face, 48.0, colour=(240, 240, 240))
    spec = fit_layer(rgba)
    assert spec is not None, fit_layer_outcome(rgba).reason
    assert spec.lines == ("FRESH COFFEE",) and spec.family == "DejaVu Sans"
    assert abs(spec.size_px / 48 - 1) < 0.03 and spec.color == (240, 240, 240)


@pytest.mark.parametrize(
    ("family", "style", "text"),
    [("DejaVu Sans", "Book", "Καλημέρα κόσμε"), ("Noto Sans CJK SC", "Regular", "你好世界欢迎")],
)
def test_non_latin_text_with_a_covering_font(family, style, text):
    face = _face(family, style)
    assert all(f.covers(text) for f in text_faces(text))
    assert not any(f.family == "Lato" for f in text_faces("你好"))  # no CJK in Lato
    rgba, lines = _layer(text, face, 44.0)
    outcome = fit_outcome(rgba, lines)
    assert outcome.spec is not None, outcome.reason
    # Noto's CJK faces share their ideographs across regions (HK, JP, KR, SC, TC) and with
    # their Mono variants (only Latin differs): any of them sets these characters alike.
    found = outcome.spec.family.replace(" Mono CJK", " CJK").split(" CJK")[0]
    assert found == family.split(" CJK")[0]
    assert abs(outcome.spec.size_px / 44 - 1) < 0.03
    assert outcome.spec.fit_iou >= 0.9


def test_font_inventory_is_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    installed_faces.cache_clear()
    try:
        faces = installed_faces()
        files = list((tmp_path / "strata" / "textfit").glob("faces-*.json"))
        assert len(files) == 1 and faces
        cached = json.loads(files[0].read_text())
        assert {d["family"] for d in cached} == {f.family for f in faces}
        assert all(d["stroke"] > 0 for d in cached if d["family"] == "DejaVu Sans")
        installed_faces.cache_clear()
        assert installed_faces() == faces  # read back from the file
    finally:
        installed_faces.cache_clear()


def _poster() -> tuple[np.ndarray, list[tuple[str, str, str, float]]]:
    width, height = 720, 480
    yy = np.linspace(0, 1, height)[:, None, None]
    rgb = (np.array([30, 60, 120]) * (1 - yy) + np.array([90, 40, 110]) * yy).repeat(width, 1)
    image = Image.fromarray(rgb.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.rectangle([480, 280, 690, 450], fill=(240, 200, 40))
    items = [
        ("DejaVu Sans", "Bold", "SUMMER SALE", 64.0),
        ("DejaVu Serif", "Book", "Fresh deals every day", 30.0),
    ]
    y = 100
    for family, style, text, size in items:
        draw.text(
            (40, y), text, (255, 255, 255), face_font(_face(family, style), size), anchor="ls"
        )
        y += 90
    rgba = np.dstack([np.asarray(image), np.full((height, width), 255, np.uint8)])
    return rgba, items


def test_classic_poster_text_layers_become_live_text():
    rgba, items = _poster()
    result = ClassicDecomposer().decompose(rgba, DecomposeOptions())
    texts = {layer.text.lines[0]: layer for layer in result.layers if layer.text is not None}
    assert "fitting text" in result.timings
    for family, style, words, size in items:
        assert words in texts, (list(texts), result.warnings)
        layer = texts[words]
        spec: TextSpec = layer.text
        assert (spec.family, spec.style) == (family, style)
        assert abs(spec.size_px / size - 1) < 0.05
        assert spec.color == (255, 255, 255)
        # The layer keeps the pixels it was found with; its spec renders them again.
        rendered = render_spec(spec, rgba.shape[:2])
        assert soft_iou(rendered, layer.rgba[..., 3] / 255.0) >= 0.85
