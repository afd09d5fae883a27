"""A poster with two lines of type, decomposed by the CLI as a user runs it: its text layers
carry the words, font, size and colour it was drawn with, in the PSD (real psd-tools, through
`info --json`) and again after the PSD is converted to a session and back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from test_cli_decompose import run_cli

LINES = [  # family, style, size px, ink, words, position
    ("Lato", "Bold", 72, (180, 30, 40), "SUMMER SALE", (60, 80)),
    ("Open Sans", "Regular", 36, (30, 30, 30), "Everything must go", (60, 220)),
]


def font_file(family: str, style: str) -> str | None:
    found = subprocess.run(
        ["fc-match", "-f", "%{family}|%{file}", f"{family}:style={style}"],
        capture_output=True, text=True,
    ).stdout
    families, _, path = found.partition("|")
    return path if family in families.split(",") else None


@pytest.fixture(scope="module")
def poster(tmp_path_factory) -> Path:
    files = [font_file(family, style) for family, style, *_ in LINES]
    if None in files:
        pytest.skip("Lato Bold and Open Sans are not installed (installer/font-packages.txt)")
    image = Image.new("RGB", (800, 500), (245, 235, 215))
    draw = ImageDraw.Draw(image)
    for file, (_, _, size, ink, words, at) in zip(files, LINES):
        draw.text(at, words, font=ImageFont.truetype(file, size), fill=ink)
    draw.ellipse((520, 280, 740, 460), fill=(40, 120, 200))
    path = tmp_path_factory.mktemp("type") / "poster.png"
    image.save(path)
    return path


def text_layers(path: Path) -> dict[str, dict]:
    done = run_cli("info", str(path), "--json")
    assert done.returncode == 0, done.stderr
    return {
        layer["text"]["words"]: layer["text"]
        for layer in json.loads(done.stdout)["layers"]
        if "text" in layer
    }


def test_decomposed_type_survives_psd_and_session(poster: Path, tmp_path: Path) -> None:
    psd = tmp_path / "poster.psd"
    done = run_cli("decompose", str(poster), "-o", str(psd), "--backend", "classic", "-q")
    assert done.returncode == 0, done.stderr
    found = text_layers(psd)
    assert set(found) == {words for *_, words, _ in LINES}
    for family, style, size, ink, words, _ in LINES:
        text = found[words]
        assert (text["family"], text["style"]) == (family, style)
        assert text["size_px"] == pytest.approx(size, rel=0.05)
        colour = [int(text["color"][i:i + 2], 16) for i in (1, 3, 5)]
        assert max(abs(a - b) for a, b in zip(colour, ink)) <= 6
    session = tmp_path / "poster.strata"
    again = tmp_path / "again.psd"
    for source, target in ((psd, session), (session, again)):
        done = run_cli("export", str(source), "-o", str(target))
        assert done.returncode == 0, done.stderr
    assert text_layers(session) == found
    assert text_layers(again) == found
