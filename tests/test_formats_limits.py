"""The program-wide pixel limit (the editor's preference) reaches every reader."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.core.document import Document
from app.core.errors import ImportFailed
from app.core.formats import load_document, save_document
from app.core.formats.limits import DEFAULT_MAX_PIXELS, max_pixels, set_max_pixels

pytestmark = pytest.mark.usefixtures("default_pixel_limit")


def test_set_max_pixels_applies_to_every_reader(tmp_path):
    rgba = np.full((100, 200, 4), 128, np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "p.png")
    doc = Document.from_image(rgba)
    for ext in (".psd", ".ora", ".strata"):
        save_document(doc, tmp_path / f"p{ext}")
    assert max_pixels() == DEFAULT_MAX_PIXELS
    set_max_pixels(19_999)
    assert max_pixels() == 19_999
    for name in ("p.png", "p.psd", "p.ora", "p.strata"):
        with pytest.raises(ImportFailed) as failed:
            load_document(tmp_path / name)
        assert "200x100" in str(failed.value) and "19,999" in str(failed.value)
    set_max_pixels(20_000)
    for name in ("p.png", "p.psd", "p.ora", "p.strata"):
        assert load_document(tmp_path / name).size == (200, 100)


def test_an_explicit_limit_wins_and_none_restores_the_default(tmp_path, monkeypatch):
    rgba = np.full((10, 10, 4), 9, np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "s.png")
    set_max_pixels(50)
    assert load_document(tmp_path / "s.png", max_pixels=100).size == (10, 10)
    with pytest.raises(ImportFailed):
        load_document(tmp_path / "s.png")
    monkeypatch.setenv("STRATA_MAX_PIXELS", "64")
    assert max_pixels() == 50  # the program's own setting comes before the environment
    set_max_pixels(None)
    assert max_pixels() == 64
    with pytest.raises(ValueError):
        set_max_pixels(0)
