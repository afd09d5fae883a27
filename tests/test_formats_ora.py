"""OpenRaster export and import, folder and flattened exports."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from PIL import Image
from test_formats_support import make_doc, premultiplied

from app.core.errors import ImportFailed
from app.core.formats import load_document, load_image_rgba, save_document
from app.core.formats.bake import bake_layer, composite_rgba, full_canvas
from app.core.layer import Layer
from app.core.render import composite_reference


def test_ora_structure(tmp_path):
    doc = make_doc(seed=1, layers=4, size=(300, 120))
    save_document(doc, tmp_path / "d.ora")
    with zipfile.ZipFile(tmp_path / "d.ora") as zf:
        infos = zf.infolist()
        assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
        # OpenRaster readers sniff the type at offset 38 of the file
        raw = (tmp_path / "d.ora").read_bytes()
        assert raw[30:38] == b"mimetype" and raw[38:54] == b"image/openraster"
        stack = ET.fromstring(zf.read("stack.xml"))
        assert (stack.get("w"), stack.get("h")) == ("300", "120")
        layers = stack.find("stack").findall("layer")
        assert [e.get("name") for e in layers] == [layer.name for layer in doc.layers][::-1]
        for element, layer in zip(layers, reversed(doc.layers)):
            baked = bake_layer(doc, layer)
            png = np.array(Image.open(io.BytesIO(zf.read(element.get("src")))))
            np.testing.assert_array_equal(png, baked.pixels)
            assert (int(element.get("x")), int(element.get("y"))) == (baked.x, baked.y)
            assert element.get("visibility") == ("visible" if layer.params.visible else "hidden")
            assert float(element.get("opacity")) == pytest.approx(layer.params.opacity)
        merged = np.array(Image.open(io.BytesIO(zf.read("mergedimage.png"))))
        np.testing.assert_array_equal(merged, composite_rgba(doc))
        thumb = Image.open(io.BytesIO(zf.read("Thumbnails/thumbnail.png")))
        assert max(thumb.size) == 256 and thumb.size[1] == round(256 * 120 / 300)


def test_ora_round_trip(tmp_path):
    doc = make_doc(seed=2, layers=5)
    doc.layers.append(Layer.from_canvas(np.zeros((2, 2, 4), np.uint8), "empty"))
    save_document(doc, tmp_path / "d.ora")
    back = load_document(tmp_path / "d.ora")
    assert [(la.name, la.origin, la.params.visible) for la in back.layers] == [
        (la.name, la.origin, la.params.visible) for la in doc.layers
    ]
    for a, b in zip(doc.layers, back.layers):
        np.testing.assert_array_equal(a.pixels, b.pixels)
        assert b.params.opacity == pytest.approx(a.params.opacity, abs=1e-6)


def _ora(path, stack_xml: str, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", b"image/openraster", compress_type=zipfile.ZIP_STORED)
        zf.writestr("stack.xml", stack_xml)
        for name, data in files.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)


def _png(w=4, h=4) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (w, h), (10, 20, 30, 255)).save(buf, "PNG")
    return buf.getvalue()


def test_nested_stacks_flatten_in_order_with_inherited_visibility(tmp_path):
    xml = """<image w="8" h="8"><stack>
      <stack name="g" visibility="hidden" opacity="0.5"><layer name="top" src="a.png"/></stack>
      <layer name="mid" src="a.png" x="2" y="3" opacity="0.5"/>
      <layer name="bottom" src="a.png"/></stack></image>"""
    _ora(tmp_path / "n.ora", xml, {"a.png": _png()})
    doc = load_document(tmp_path / "n.ora")
    assert [la.name for la in doc.layers] == ["bottom", "mid", "top"]
    assert [la.params.visible for la in doc.layers] == [True, True, False]
    assert doc.layers[1].origin == (2, 3) and doc.layers[1].params.opacity == 0.5
    assert doc.layers[2].params.opacity == 0.5


@pytest.mark.parametrize(
    "xml, files, words",
    [
        ('<image w="8" h="8"><stack><layer src="../../x.png"/></stack></image>', {}, "outside"),
        ('<image w="8" h="8"><stack><layer src="/etc/passwd"/></stack></image>', {}, "outside"),
        ('<image w="8" h="8"><stack><layer src="gone.png"/></stack></image>', {}, "missing"),
        ('<image w="90000" h="90000"><stack/></image>', {}, "limit"),
        ('<image w="8" h="8"><stack><layer src="a.png" x="1e12"/></stack></image>',
         {"a.png": _png()}, "outside the canvas"),
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><image w="8" h="8"/>', {},
         "entities"),
        ('<image w="8" h="8"><stack><layer', {}, "damaged"),
        ('<image w="8" h="8"><stack><layer src="big.png"/></stack></image>',
         {"big.png": _png(3000, 3000)}, "limit"),
    ],
)
def test_hostile_ora(tmp_path, xml, files, words):
    _ora(tmp_path / "h.ora", xml, files)
    with pytest.raises(ImportFailed, match=words):
        load_document(tmp_path / "h.ora", max_pixels=1_000_000)


def test_ora_zip_bomb(tmp_path):
    xml = '<image w="8" h="8"><stack><layer src="a.png"/></stack></image>'
    _ora(tmp_path / "b.ora", xml, {"a.png": b"\0" * (40 << 20)})
    assert (tmp_path / "b.ora").stat().st_size < 1 << 20
    with pytest.raises(ImportFailed, match="too large"):
        load_document(tmp_path / "b.ora", max_pixels=1_000_000)


# --- folder of PNGs and flattened files


def test_folder_export_follows_the_cli_contract(tmp_path):
    doc = make_doc(seed=3, layers=4, edits=True)
    save_document(doc, tmp_path / "out")
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["00.png", "01.png", "02.png", "03.png", "composite.png", "layers.json"]
    info = json.loads((tmp_path / "out" / "layers.json").read_text("utf-8"))
    assert info["backend"] == "test" and info["timings"] == {"total": 1.5}
    assert [e["name"] for e in info["layers"]] == [la.name for la in doc.layers]
    assert [e["visible"] for e in info["layers"]] == [la.params.visible for la in doc.layers]
    pngs = [np.array(Image.open(tmp_path / "out" / f"{i:02d}.png")) for i in range(4)]
    assert all(p.shape == (doc.height, doc.width, 4) for p in pngs)
    for png, layer in zip(pngs, doc.layers):  # edits and opacity baked
        np.testing.assert_array_equal(png, full_canvas(doc, bake_layer(doc, layer, True)))
    # composite.png is the visible layers composited with the reference "over"
    composite = np.array(Image.open(tmp_path / "out" / "composite.png"))
    reference = composite_reference(doc)
    assert np.abs(premultiplied(composite) - premultiplied(reference)).max() <= 1.0
    # a later, smaller export into the same folder leaves no stale layer files
    doc.layers = doc.layers[:2]
    save_document(doc, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir())[:3] == [
        "00.png", "01.png", "composite.png"
    ]


def test_flattened_exports(tmp_path):
    doc = make_doc(seed=4, layers=3)
    reference = composite_reference(doc)
    save_document(doc, tmp_path / "f.png")
    save_document(doc, tmp_path / "f.webp")
    save_document(doc, tmp_path / "f.jpg")
    for name in ("f.png", "f.webp"):
        got = load_image_rgba(tmp_path / name)
        assert np.abs(premultiplied(got) - premultiplied(reference)).max() <= 1.0
    jpg = load_image_rgba(tmp_path / "f.jpg").astype(float)[:, :, :3]
    # Lossy: per 8x8 block (what JPEG keeps best) the mean colour must match.
    blocks = (jpg - reference[:, :, :3]).reshape(6, 8, 8, 8, 3).mean(axis=(1, 3))
    assert np.abs(blocks).max() < 3
