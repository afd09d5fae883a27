"""Text layers in app/core: rendering, undoable edits, sessions, decompositions, ORA."""

from __future__ import annotations

import zipfile
from dataclasses import replace

import numpy as np
import pytest

from app.core import fonts
from app.core.commands import History, set_offset
from app.core.decomposition import decompose_document_command, layers_from_arrays
from app.core.document import Document
from app.core.errors import ImportFailed
from app.core.formats import load_document, save_document
from app.core.formats.session import np_equal_docs
from app.core.text_layer import (
    convert_to_text,
    edit_text,
    rasterize,
    scale_base,
    scale_text,
    text_layer,
)
from app.core.text_render import render_text
from model.text_spec import TextSpec

SANS = "DejaVu Sans"
pytestmark = pytest.mark.skipif(not fonts.is_installed(SANS), reason="DejaVu Sans not installed")


def spec(**changes) -> TextSpec:
    base = TextSpec(("Hello World", "second line"), SANS, size_px=40.0, color=(200, 30, 60),
                    x=20.0, y=60.0)
    return replace(base, **changes)


def ink_box(rgba: np.ndarray, origin) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(rgba[:, :, 3] > 127)
    return (origin[0] + xs.min(), origin[1] + ys.min(), origin[0] + xs.max() + 1,
            origin[1] + ys.max() + 1)


def test_render_scales_with_the_size_and_keeps_the_baseline_and_colour():
    boxes = {}
    for scale in (0.5, 1.0, 2.0, 3.0):
        out = render_text(spec(lines=("Hxxx",)), scale)
        assert out.rgba.dtype == np.uint8 and out.rgba.shape[2] == 4
        solid = out.rgba[:, :, 3] == 255
        assert solid.any()
        assert (out.rgba[solid][:, :3] == (200, 30, 60)).all()
        boxes[scale] = ink_box(out.rgba, out.origin)
    x0, y0, x1, y1 = boxes[1.0]
    assert abs(y1 - 60) <= 1  # "Hxxx" has no descender: its ink ends on the baseline
    assert abs(x0 - 20) <= 4  # the H's left side bearing
    assert abs((y1 - y0) - 40 * 0.73) <= 2  # DejaVu's cap height is 0.73 em
    for scale in (0.5, 2.0, 3.0):
        sx0, sy0, sx1, sy1 = boxes[scale]
        assert abs((sx1 - sx0) - scale * (x1 - x0)) <= 2 * scale + 1
        assert abs(sy1 - scale * 60) <= 1 + scale


def test_alignment_tracking_and_line_spacing():
    left = ink_box(*_render(spec(lines=("abc",), align="left", x=200)))
    center = ink_box(*_render(spec(lines=("abc",), align="center", x=200)))
    right = ink_box(*_render(spec(lines=("abc",), align="right", x=200)))
    assert left[0] >= 199 and right[2] <= 201
    assert abs((center[0] + center[2]) / 2 - 200) <= 2
    plain = ink_box(*_render(spec(lines=("abcdef",))))
    tracked = ink_box(*_render(spec(lines=("abcdef",), tracking=200)))
    # 200/1000 em after each of 5 characters: 5 * 0.2 * 40 = 40 px wider
    assert abs((tracked[2] - tracked[0]) - (plain[2] - plain[0]) - 40) <= 2
    one = ink_box(*_render(spec(lines=("H", "H"), line_spacing=1.0)))
    two = ink_box(*_render(spec(lines=("H", "H"), line_spacing=2.0)))
    assert abs((two[3] - two[1]) - (one[3] - one[1]) - 40) <= 1


def _render(s: TextSpec):
    out = render_text(s)
    return out.rgba, out.origin


def test_complex_scripts_and_styles_pick_installed_fonts():
    bold = render_text(spec(style="Bold", weight=700))
    regular = render_text(spec())
    assert "Bold" in bold.font_file and bold.rgba[:, :, 3].sum() > regular.rgba[:, :, 3].sum()
    arabic = [f for f in ("Noto Sans Arabic", "DejaVu Sans") if fonts.is_installed(f)][0]
    out = render_text(spec(lines=("مرحبا بالعالم",), family=arabic))
    assert (out.rgba[:, :, 3] > 0).sum() > 200


def _doc_with_text() -> tuple[Document, str]:
    doc = Document.from_image(np.full((200, 400, 4), 255, np.uint8))
    layer = text_layer(spec())
    doc.layers.append(layer)
    return doc, layer.id


@pytest.mark.parametrize(
    "changes",
    [
        {"lines": "New words\nhere"}, {"family": "DejaVu Serif"}, {"size_px": 64.0},
        {"style": "Bold"}, {"color": (10, 200, 30)}, {"align": "center"}, {"tracking": 120.0},
        {"line_spacing": 1.6},
    ],
    ids=lambda c: next(iter(c)),
)
def test_each_edit_renders_and_undoes_exactly(changes):
    doc, lid = _doc_with_text()
    history = History(doc)
    layer = doc.layer(lid)
    before = (layer.text, layer.pixels, layer.origin, layer.params)
    history.push(edit_text(doc, lid, **changes))
    after = (layer.text, layer.pixels, layer.origin, layer.params)
    assert after[0] != before[0]
    assert not np.array_equal(after[1], before[1]) or after[2] != before[2]
    expected = render_text(layer.text)
    np.testing.assert_array_equal(layer.pixels, expected.rgba)
    assert layer.origin == expected.origin
    history.undo()
    assert (layer.text, layer.origin, layer.params) == (before[0], before[2], before[3])
    assert layer.pixels is before[1]
    history.redo()
    assert layer.text == after[0] and layer.pixels is after[1]


def test_words_rename_a_layer_named_by_its_words_and_gestures_merge():
    doc, lid = _doc_with_text()
    history = History(doc)
    assert doc.layer(lid).name == "Hello World second line"
    history.push(edit_text(doc, lid, lines=("SALE",)))
    assert doc.layer(lid).name == "SALE"
    for size in (41.0, 45.0, 50.0):
        history.push(edit_text(doc, lid, gesture=7, size_px=size))
    assert doc.layer(lid).text.size_px == 50.0
    history.undo()
    assert doc.layer(lid).text.size_px == 40.0
    assert history.undo_text == "Edit Words 'Hello World second line'"


def test_scaling_a_text_layer_changes_its_size_not_its_pixels():
    doc, lid = _doc_with_text()
    history = History(doc)
    layer = doc.layer(lid)
    centre = layer.center
    base = scale_base(layer)
    for factor in (1.2, 1.6, 2.0):  # one drag: each step from where the gesture began
        history.push(scale_text(doc, lid, factor, gesture=3, base=base))
    assert layer.text.size_px == pytest.approx(80.0)
    assert layer.params.scale == (1.0, 1.0)
    np.testing.assert_array_equal(layer.pixels, render_text(layer.text).rgba)
    assert abs(layer.center[0] - centre[0]) <= 1.5 and abs(layer.center[1] - centre[1]) <= 1.5
    history.undo()
    assert layer.text.size_px == 40.0 and len(history) == 1


def test_rasterize_and_convert_to_text():
    doc, lid = _doc_with_text()
    history = History(doc)
    pixels = doc.layer(lid).pixels
    history.push(rasterize(doc, lid))
    assert doc.layer(lid).text is None and doc.layer(lid).pixels is pixels
    with pytest.raises(ValueError, match="not a text layer"):
        edit_text(doc, lid, size_px=10.0)
    history.push(convert_to_text(doc, lid, spec(lines=("Found",))))
    assert doc.layer(lid).text.lines == ("Found",) and doc.layer(lid).pixels is pixels
    history.undo()
    history.undo()
    assert doc.layer(lid).text == spec()


def test_session_round_trip_is_exact(tmp_path):
    doc, lid = _doc_with_text()
    history = History(doc)
    history.push(edit_text(doc, lid, lines="Ünïcode ✓\nzwei", tracking=-25.0, style="Bold"))
    history.push(set_offset(doc, lid, (12.0, -3.0)))
    doc.layers.append(text_layer(spec(family="No Such Font Family", lines=("x",)),
                                 rgba=np.full((5, 6, 4), 9, np.uint8), origin=(3, 4)))
    path = tmp_path / "t.strata"
    save_document(doc, path)
    back = load_document(path)
    assert np_equal_docs(doc, back)
    assert back.layer(lid).text == doc.layer(lid).text
    assert back.layers[-1].text.family == "No Such Font Family"  # kept, with its pixels
    assert (back.layers[-1].pixels == 9).all()


def test_session_with_a_bad_text_field_is_one_sentence(tmp_path):
    import json

    doc, _ = _doc_with_text()
    path = tmp_path / "t.strata"
    save_document(doc, path)
    with zipfile.ZipFile(path) as zf:
        items = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(items["manifest.json"])
    manifest["layers"][1]["text"]["size_px"] = "big"
    items["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in items.items():
            zf.writestr(name, data)
    with pytest.raises(ImportFailed, match="text size_px is not a number"):
        load_document(path)


def test_decomposition_results_with_text_become_text_layers():
    rgba = np.zeros((100, 200, 4), np.uint8)
    rgba[40:60, 30:90] = (10, 20, 30, 255)
    found = spec(lines=("Found",), x=30.0, y=60.0)
    layers = layers_from_arrays([(rgba, "Found", found)], origin=(5, 7))
    assert layers[0].text == replace(found, x=35.0, y=67.0)
    assert layers[0].origin == (35, 47)  # the pixels it was found with are kept
    doc = Document.from_image(np.full((100, 200, 4), 255, np.uint8))
    cmd = decompose_document_command(doc, [(np.full((100, 200, 4), 255, np.uint8), "bg"),
                                           (rgba, "Found", found)])
    History(doc).push(cmd)
    assert doc.layers[0].text is None and doc.layers[1].text == found


def test_ora_keeps_text_attributes_and_pixels(tmp_path):
    doc, lid = _doc_with_text()
    History(doc).push(set_offset(doc, lid, (10.0, 5.0)))
    path = tmp_path / "t.ora"
    save_document(doc, path)
    xml = zipfile.ZipFile(path).read("stack.xml").decode()
    assert 'strata:family="DejaVu Sans"' in xml and "xmlns:strata=" in xml
    back = load_document(path)
    text = back.layers[1].text
    assert text.lines == spec().lines and text.color == (200, 30, 60)
    assert (text.x, text.y) == (30.0, 65.0)  # the move is folded into the exported words
    bx, by = back.layers[1].origin
    ox, oy = doc.layer(lid).origin
    assert (bx, by) == (ox + 10, oy + 5)
    np.testing.assert_array_equal(back.layers[1].pixels, doc.layer(lid).pixels)


def test_missing_font_note_names_the_closest_installed_font():
    assert fonts.missing_font_note(SANS) is None
    note = fonts.missing_font_note("Myriad Pro Nonexistent")
    closest = fonts.closest_family("Myriad Pro Nonexistent")
    assert closest and fonts.is_installed(closest)
    assert "Myriad Pro Nonexistent is not installed" in note and closest in note
