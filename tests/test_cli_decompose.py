"""`python main.py decompose` end to end, as a user runs it: real classic backend, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture(scope="module")
def poster(tmp_path_factory) -> Path:
    """A small flat design: gradient background, a circle and a rectangle with soft edges."""
    w, h = 240, 180
    x = np.linspace(0, 1, w)[None, :, None]
    base = (np.array([30, 60, 120]) * (1 - x) + np.array([200, 220, 255]) * x)
    image = Image.fromarray(np.broadcast_to(base, (h, w, 3)).astype(np.uint8))
    big = Image.new("RGBA", (w * 4, h * 4), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    draw.ellipse((80, 80, 360, 360), fill=(230, 40, 40, 255))
    draw.rectangle((500, 300, 880, 620), fill=(250, 210, 30, 255))
    image.paste(big.resize((w, h), Image.LANCZOS), (0, 0), big.resize((w, h), Image.LANCZOS))
    path = tmp_path_factory.mktemp("in") / "poster.png"
    image.save(path)
    return path


def composite_of(layers: list[np.ndarray]) -> np.ndarray:
    out = np.zeros(layers[0].shape[:2] + (3,), np.float64)
    for layer in layers:
        a = layer[:, :, 3:4] / 255.0
        out = layer[:, :, :3] / 255.0 * a + out * (1 - a)
    return out * 255


def test_decompose_to_folder_follows_the_contract(poster: Path, tmp_path: Path) -> None:
    out = tmp_path / "layers"
    result = run_cli("decompose", str(poster), "-o", str(out), "--backend", "classic",
                     "--layers", "3")
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == ["00.png", "01.png", "02.png", "composite.png", "layers.json"]
    info = json.loads((out / "layers.json").read_text())
    assert info["backend"] == "classic"
    assert info["timings"]["total_s"] > 0
    assert [entry["file"] for entry in info["layers"]] == ["00.png", "01.png", "02.png"]
    layers = [np.asarray(Image.open(out / f"{i:02d}.png")) for i in range(3)]
    source = np.asarray(Image.open(poster).convert("RGB")).astype(np.float64)
    assert all(layer.shape == source.shape[:2] + (4,) for layer in layers)
    mse = np.mean((composite_of(layers) - source) ** 2)
    assert 10 * np.log10(255**2 / max(mse, 1e-12)) >= 40


def test_decompose_to_psd_opens_in_psd_tools(poster: Path, tmp_path: Path) -> None:
    from psd_tools import PSDImage

    out = tmp_path / "poster.psd"
    result = run_cli("decompose", str(poster), "-o", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    psd = PSDImage.open(out)
    assert psd.size == Image.open(poster).size
    assert len(list(psd)) >= 2
    assert list(psd)[0].name == "Background"


def test_decompose_reports_the_backend_choice(poster: Path, tmp_path: Path) -> None:
    result = run_cli("decompose", str(poster), "-o", str(tmp_path / "s.strata"))
    assert result.returncode == 0, result.stderr
    assert "backend: classic" in result.stderr
    assert (tmp_path / "s.strata").stat().st_size > 0


@pytest.mark.parametrize(
    "make_input, args",
    [
        (lambda d: d / "missing.png", []),
        (lambda d: (d / "notes.png").write_text("not an image") and d / "notes.png", []),
        (lambda d: Image.new("RGB", (1, 1)).save(d / "dot.png") or d / "dot.png", []),
    ],
    ids=["missing", "not-an-image", "one-pixel"],
)
def test_bad_input_is_one_line_without_traceback(tmp_path: Path, make_input, args) -> None:
    source = make_input(tmp_path)
    out = tmp_path / "out.psd"
    result = run_cli("decompose", str(source), "-o", str(out), *args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_bad_layer_count_is_rejected(poster: Path, tmp_path: Path) -> None:
    result = run_cli("decompose", str(poster), "-o", str(tmp_path / "o.psd"), "--layers", "0")
    assert result.returncode == 2
    assert "layer count" in result.stderr
