"""Fuzzing: mutated files of every supported format only ever raise ImportFailed."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_formats_support import make_doc

from app.core.document import Document
from app.core.errors import ImportFailed
from app.core.formats import load_document, save_document

PER_FORMAT = 125  # x 9 formats = 1125 mutated files
LIMIT = 1_000_000  # a small pixel limit keeps mutated size fields cheap to refuse


def _image_bytes(fmt: str, **kw) -> bytes:
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
    im = Image.fromarray(rgba, "RGBA")
    if fmt in ("JPEG", "BMP"):
        im = im.convert("RGB")
    if fmt == "GIF":
        im = im.convert("P")
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _doc_bytes(tmp: Path, ext: str) -> bytes:
    path = tmp / f"base{ext}"
    save_document(make_doc(seed=1, layers=3, size=(16, 12), edits=True), path)
    return path.read_bytes()


def _mutate(data: bytes, rng: random.Random) -> bytes:
    kind = rng.randrange(5)
    buf = bytearray(data)
    if kind == 0:  # truncated
        return bytes(buf[: rng.randrange(len(buf))])
    if kind == 1:  # bit flips anywhere
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        return bytes(buf)
    if kind == 2:  # wrong header: random bytes over the first 64
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(min(64, len(buf)))
            buf[i] = rng.randrange(256)
        return bytes(buf)
    if kind == 3:  # a size-like field blown up: 4 random bytes set to 0xff or 0x7f
        i = rng.randrange(max(1, len(buf) - 4))
        buf[i : i + 4] = bytes([rng.choice([0xFF, 0x7F, 0x00])]) * 4
        return bytes(buf)
    # a block of the file duplicated or removed
    i, j = sorted(rng.randrange(len(buf)) for _ in range(2))
    return bytes(buf[:i] + buf[j:]) if rng.random() < 0.5 else bytes(buf[:j] + buf[i:])


def _mutate_inside(data: bytes, rng: random.Random) -> bytes:
    """Re-zip an archive with one member mutated, so the damage gets past the zip CRCs."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        infos = zin.infolist()
        victim = rng.choice(infos[1:])
        for info in infos:
            body = zin.read(info)
            if info is victim and body:
                body = _mutate(body, rng)
            zout.writestr(info, body)
    return out.getvalue()


@pytest.mark.slow
def test_mutated_files_raise_only_import_failed(tmp_path):
    bases = {
        ".png": _image_bytes("PNG"),
        ".jpg": _image_bytes("JPEG"),
        ".webp": _image_bytes("WEBP", lossless=True),
        ".tif": _image_bytes("TIFF", compression="tiff_lzw"),
        ".bmp": _image_bytes("BMP"),
        ".gif": _image_bytes("GIF"),
        ".psd": _doc_bytes(tmp_path, ".psd"),
        ".ora": _doc_bytes(tmp_path, ".ora"),
        ".strata": _doc_bytes(tmp_path, ".strata"),
    }
    rng = random.Random(20261127)
    outcomes = {"opened": 0, "refused": 0}
    crashes = []
    total = 0
    for ext, base in bases.items():
        assert isinstance(load_document(_write(tmp_path, "ok" + ext, base)), Document)
        for n in range(PER_FORMAT):
            inside = ext in (".ora", ".strata") and n % 2 == 1
            data = _mutate_inside(base, rng) if inside else _mutate(base, rng)
            path = _write(tmp_path, f"m{ext}", data)
            total += 1
            try:
                doc = load_document(path, max_pixels=LIMIT)
            except ImportFailed as exc:
                assert str(path) in str(exc) and exc.reason
                outcomes["refused"] += 1
            except BaseException as exc:  # noqa: BLE001 - that is what the test looks for
                crashes.append((ext, n, repr(exc)[:200]))
            else:
                assert all(la.pixels.dtype == np.uint8 and la.pixels.ndim == 3
                           for la in doc.layers)
                outcomes["opened"] += 1
    print(f"{total} mutated files: {outcomes}")
    assert total >= 1000
    assert crashes == []
    assert outcomes["refused"] > total // 3  # the mutations really did damage the files


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path
