"""Krita, an independent reader, opens Strata's PSD and ORA and sees the same picture.

Krita runs headless (`krita --export` under `xvfb-run`); the test skips where either is absent
(`./run-tests` installs them on Debian).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core import commands
from app.core.compositor import composite
from app.core.document import Document
from app.core.formats import save_document
from app.core.layer import Layer, LayerParams, Recolor

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("krita") is None or shutil.which("xvfb-run") is None,
        reason="krita or xvfb-run not installed",
    ),
]


def edited_document() -> Document:
    rng = np.random.default_rng(7)
    h, w = 120, 160
    x = np.linspace(0, 1, w)[None, :, None]
    background = np.concatenate(
        [np.broadcast_to(np.array([20, 80, 160]) * (1 - x) + np.array([240, 200, 90]) * x,
                         (h, w, 3)), np.full((h, w, 1), 255.0)], axis=2).astype(np.uint8)
    yy, xx = np.mgrid[:50, :50]
    disc = np.clip(24.5 - np.hypot(yy - 24.5, xx - 24.5), 0, 1)  # anti-aliased edge
    shape = np.zeros((50, 50, 4), np.uint8)
    shape[..., :3] = (200, 30, 60)
    shape[..., 3] = (disc * 255).astype(np.uint8)
    noise = rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)
    noise[..., 3] = 255
    doc = Document(w, h, [
        Layer(background, (0, 0), LayerParams(name="Background")),
        Layer(shape, (20, 20), LayerParams(name="Kreis — rot")),
        Layer(noise, (90, 60), LayerParams(name="hidden noise")),
    ])
    history = commands.History(doc)
    disc_id, noise_id = doc.layers[1].id, doc.layers[2].id
    history.push(commands.translate(doc, disc_id, 37, 11))
    history.push(commands.set_opacity(doc, disc_id, 0.7))
    history.push(commands.set_recolor(doc, disc_id, Recolor(hue=120, brightness=0.1)))
    history.push(commands.set_visible(doc, noise_id, False))
    return doc


def krita_flatten(path: Path, out: Path) -> np.ndarray:
    subprocess.run(
        ["xvfb-run", "-a", "krita", "--export", "--export-filename", str(out), str(path)],
        capture_output=True, timeout=240, check=False,
    )
    assert out.exists(), f"Krita could not open {path.name}"
    return np.asarray(Image.open(out).convert("RGBA")).astype(int)


@pytest.mark.parametrize("suffix", [".psd", ".ora"])
def test_krita_shows_the_same_picture(tmp_path: Path, suffix: str) -> None:
    doc = edited_document()
    path = tmp_path / f"edited{suffix}"
    save_document(doc, path)
    seen = krita_flatten(path, tmp_path / f"krita{suffix}.png")
    expected = composite(doc).astype(int)
    assert seen.shape == expected.shape
    # Krita blends in 8 bits per step, we round once: a level or two apart at most.
    assert np.abs(seen - expected).max() <= 2
