"""Flat image import: every input mode ends as the right RGBA8, and bad files fail cleanly."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from app.core.errors import ImportFailed
from app.core.formats import load_document, load_image_rgba

RNG = np.random.default_rng(7)


def _rgb(h=6, w=5):
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_rgb_png_becomes_opaque_rgba_and_a_one_layer_document(tmp_path):
    rgb = _rgb()
    Image.fromarray(rgb).save(tmp_path / "a.png")
    doc = load_document(tmp_path / "a.png")
    assert doc.size == (5, 6) and len(doc.layers) == 1
    np.testing.assert_array_equal(doc.source[:, :, :3], rgb)
    assert (doc.source[:, :, 3] == 255).all()
    np.testing.assert_array_equal(doc.layers[0].pixels, doc.source)
    assert doc.layers[0].name == "a"


def test_rgba_png_keeps_alpha_and_colour_under_it(tmp_path):
    rgba = RNG.integers(0, 256, (4, 7, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(load_image_rgba(tmp_path / "a.png"), rgba)


def test_grey_l_and_la(tmp_path):
    grey = RNG.integers(0, 256, (3, 4), dtype=np.uint8)
    alpha = RNG.integers(0, 256, (3, 4), dtype=np.uint8)
    Image.fromarray(grey, "L").save(tmp_path / "l.png")
    Image.merge("LA", [Image.fromarray(grey), Image.fromarray(alpha)]).save(tmp_path / "la.png")
    l_out = load_image_rgba(tmp_path / "l.png")
    la_out = load_image_rgba(tmp_path / "la.png")
    for c in range(3):
        np.testing.assert_array_equal(l_out[:, :, c], grey)
        np.testing.assert_array_equal(la_out[:, :, c], grey)
    assert (l_out[:, :, 3] == 255).all()
    np.testing.assert_array_equal(la_out[:, :, 3], alpha)


def test_palette_with_transparent_index(tmp_path):
    palette = [255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 9)
    idx = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    im = Image.fromarray(idx, "P")
    im.putpalette(palette)
    im.save(tmp_path / "p.png", transparency=1)  # green is transparent
    im.save(tmp_path / "p.gif", transparency=1)
    for name in ("p.png", "p.gif"):
        out = load_image_rgba(tmp_path / name)
        assert out[0, 0].tolist() == [255, 0, 0, 255]
        assert out[0, 2].tolist() == [0, 0, 255, 255]
        assert out[0, 1, 3] == 0 and out[1, 1, 3] == 0


def test_cmyk_tiff_converts_to_rgb(tmp_path):
    cmyk = np.array([[[255, 0, 0, 0], [0, 255, 0, 0], [0, 0, 0, 255], [0, 0, 0, 0]]], np.uint8)
    Image.fromarray(cmyk, "CMYK").save(tmp_path / "c.tif")
    out = load_image_rgba(tmp_path / "c.tif")
    assert out[0, :, :3].tolist() == [[0, 255, 255], [255, 0, 255], [0, 0, 0], [255, 255, 255]]
    assert (out[:, :, 3] == 255).all()


def _expected_8bit(v16: np.ndarray) -> np.ndarray:
    return np.rint(v16.astype(np.float64) * 255 / 65535)


def test_sixteen_bit_grey_and_rgb(tmp_path):
    grey = RNG.integers(0, 65536, (5, 6), dtype=np.uint16)
    rgb = RNG.integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    assert cv2.imwrite(str(tmp_path / "g16.png"), grey)
    assert cv2.imwrite(str(tmp_path / "c16.png"), rgb[:, :, ::-1])  # OpenCV writes BGR
    assert cv2.imwrite(str(tmp_path / "c16.tif"), rgb[:, :, ::-1])
    g = load_image_rgba(tmp_path / "g16.png").astype(np.float64)
    for c in range(3):
        assert np.abs(g[:, :, c] - _expected_8bit(grey)).max() <= 1
    for name in ("c16.png", "c16.tif"):
        out = load_image_rgba(tmp_path / name).astype(np.float64)
        assert np.abs(out[:, :, :3] - _expected_8bit(rgb)).max() <= 1, name
        assert (out[:, :, 3] == 255).all()


def test_exif_orientation_is_applied(tmp_path):
    rgb = _rgb(2, 3)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(rgb).save(tmp_path / "o.png", exif=exif)
    out = load_image_rgba(tmp_path / "o.png")
    np.testing.assert_array_equal(out[:, :, :3], np.rot90(rgb, k=-1))


def _icc_linear_srgb() -> bytes:
    """A minimal ICC v2 RGB display profile: sRGB primaries (D50) with a linear (gamma 1) TRC."""

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x, y, z):
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    desc_text = b"linear sRGB\0"
    desc = (
        b"desc\0\0\0\0" + struct.pack(">I", len(desc_text)) + desc_text
        + b"\0" * 8 + b"\0\0\0" + b"\0" * 67
    )
    curv = b"curv\0\0\0\0" + struct.pack(">I", 0)  # zero entries = identity
    tags = [
        (b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)), (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curv), (b"gTRC", curv), (b"bTRC", curv),
        (b"cprt", b"text\0\0\0\0public domain\0"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
        + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0)
        + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def _srgb_encode(linear: np.ndarray) -> np.ndarray:
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def test_icc_profile_is_converted_to_srgb(tmp_path):
    values = np.array([0, 32, 64, 128, 192, 255], np.uint8)
    rgb = np.stack([values] * 3, axis=-1)[None]  # 1x6 greys, in a linear-light space
    rgba = np.concatenate([rgb, np.full((1, 6, 1), 200, np.uint8)], axis=2)
    Image.fromarray(rgb).save(tmp_path / "lin.png", icc_profile=_icc_linear_srgb())
    Image.fromarray(rgba, "RGBA").save(tmp_path / "lina.png", icc_profile=_icc_linear_srgb())
    Image.fromarray(rgb).save(tmp_path / "lin.jpg", quality=100, icc_profile=_icc_linear_srgb())
    expected = 255 * _srgb_encode(values / 255.0)  # 128 linear -> 188 sRGB
    for name, tol in (("lin.png", 2), ("lina.png", 2), ("lin.jpg", 4)):
        out = load_image_rgba(tmp_path / name)
        for c in range(3):
            assert np.abs(out[0, :, c] - expected).max() <= tol, (name, out[0, :, c])
    assert (load_image_rgba(tmp_path / "lina.png")[:, :, 3] == 200).all()


def test_gif_first_frame_and_webp_bmp_jpeg(tmp_path):
    red = Image.new("RGB", (4, 3), (255, 0, 0))
    blue = Image.new("RGB", (4, 3), (0, 0, 255))
    red.save(tmp_path / "anim.gif", save_all=True, append_images=[blue])
    assert load_image_rgba(tmp_path / "anim.gif")[1, 1].tolist() == [255, 0, 0, 255]
    rgb = _rgb(8, 8)
    Image.fromarray(rgb).save(tmp_path / "a.bmp")
    Image.fromarray(rgb).save(tmp_path / "a.webp", lossless=True)
    smooth = np.zeros((16, 16, 3), np.uint8)
    smooth[:, :, 0] = np.arange(16)[None, :] * 15
    smooth[:, :, 1] = np.arange(16)[:, None] * 10
    smooth[:, :, 2] = 90
    Image.fromarray(smooth).save(tmp_path / "a.jpg", quality=100, subsampling=0)
    np.testing.assert_array_equal(load_image_rgba(tmp_path / "a.bmp")[:, :, :3], rgb)
    np.testing.assert_array_equal(load_image_rgba(tmp_path / "a.webp")[:, :, :3], rgb)
    jpeg = load_image_rgba(tmp_path / "a.jpg")[:, :, :3].astype(int)
    assert np.abs(jpeg - smooth).max() <= 4


def _png_with_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("text.png", b"hello, this is not a picture", "not an image"),
        ("empty.png", b"", "empty"),
        ("zero.png", _png_with_header(0, 10), ""),
        ("bomb.png", _png_with_header(100_000, 100_000), "limit"),
    ],
)
def test_bad_files_raise_import_failed(tmp_path, name, content, words):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ImportFailed) as info:
        load_document(tmp_path / name)
    assert name in str(info.value) and words in str(info.value)


def test_truncated_png_raises_import_failed(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    (tmp_path / "t.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImportFailed, match="t.png"):
        load_document(tmp_path / "t.png")


def test_pixel_limit_is_checked_before_decoding(tmp_path):
    Image.new("L", (4000, 3000)).save(tmp_path / "big.png")
    with pytest.raises(ImportFailed, match="limit"):
        load_document(tmp_path / "big.png", max_pixels=1_000_000)
    assert load_document(tmp_path / "big.png", max_pixels=12_000_000).size == (4000, 3000)


def test_pixel_limit_from_environment(tmp_path, monkeypatch):
    Image.new("L", (100, 100)).save(tmp_path / "a.png")
    monkeypatch.setenv("STRATA_MAX_PIXELS", "5000")
    with pytest.raises(ImportFailed, match="limit"):
        load_document(tmp_path / "a.png")
    assert load_document(tmp_path / "a.png", max_pixels=10_000).size == (100, 100)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImportFailed, match="does not exist"):
        load_document(tmp_path / "nope.png")
    with pytest.raises(ImportFailed, match="folder"):
        load_document(tmp_path)
