"""`python main.py info FILE` and `python main.py export INPUT -o OUTPUT`, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from psd_tools import PSDImage
from test_formats_support import make_doc

from app.core.formats import load_document, save_document
from app.core.formats.session import np_equal_docs

ROOT = Path(__file__).resolve().parents[1]


def strata(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, args)],
        capture_output=True, text=True, timeout=120, env=env, cwd=cwd or ROOT,
    )


def ok(*args: str) -> subprocess.CompletedProcess:
    run = strata(*args)
    assert run.returncode == 0, run.stderr
    return run


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    doc = make_doc(seed=21, layers=4, size=(90, 70), edits=True)
    path = tmp_path_factory.mktemp("cli") / "doc.strata"
    save_document(doc, path)
    return doc, path


def test_info_prints_size_and_layers(session):
    doc, path = session
    run = strata("info", path)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"{path}: Strata session, 90x70, 4 layers (index 0 = bottom)"
    rows = lines[2:]
    assert len(rows) == 4
    for row, layer in zip(rows, doc.layers):
        assert layer.name in row
        assert ("yes" if layer.params.visible else "no") == row.split()[-1]
        assert f"{layer.params.opacity:.2f}" == row.split()[-2]


def test_info_json(session):
    doc, path = session
    run = strata("info", "--json", path)
    info = json.loads(run.stdout)
    assert (info["width"], info["height"], info["layer_count"]) == (90, 70, 4)
    for entry, layer in zip(info["layers"], doc.layers):
        x0, y0, x1, y1 = layer.bounds()
        assert entry["name"] == layer.name and entry["visible"] == layer.params.visible
        assert entry["bounds"] == pytest.approx([x0, y0, x1 - x0, y1 - y0], abs=0.01)


def test_info_of_a_flat_image(tmp_path):
    Image.new("RGB", (30, 20), (1, 2, 3)).save(tmp_path / "a.png")
    run = strata("info", tmp_path / "a.png")
    assert run.returncode == 0
    assert run.stdout.splitlines()[0].endswith("image (PNG), 30x20, 1 layer (index 0 = bottom)")


def test_export_in_every_direction(session, tmp_path):
    doc, path = session
    # session -> PSD -> ORA -> session: layers, names and baked pixels survive
    ok("export", path, "-o", tmp_path / "a.psd")
    assert len(list(PSDImage.open(tmp_path / "a.psd"))) == 4
    ok("export", tmp_path / "a.psd", "-o", tmp_path / "b.ora")
    ok("export", tmp_path / "b.ora", "-o", tmp_path / "c.strata")
    from_psd = load_document(tmp_path / "a.psd")
    from_chain = load_document(tmp_path / "c.strata")
    assert [la.name for la in from_chain.layers] == [la.name for la in doc.layers]
    for a, b in zip(from_psd.layers, from_chain.layers):
        assert a.origin == b.origin and np.array_equal(a.pixels, b.pixels)
    # session -> session is exact
    ok("export", path, "-o", tmp_path / "copy.strata")
    assert np_equal_docs(load_document(tmp_path / "copy.strata"), doc)
    # -> folder, -> flattened PNG, PNG -> PSD
    run = ok("export", path, "-o", tmp_path / "folder")
    assert "4 layers" in run.stdout
    assert (tmp_path / "folder" / "03.png").exists()
    assert (tmp_path / "folder" / "layers.json").exists()
    ok("export", path, "-o", tmp_path / "flat.png")
    assert Image.open(tmp_path / "flat.png").size == (90, 70)
    ok("export", tmp_path / "flat.png", "-o", tmp_path / "flat.psd")
    assert len(load_document(tmp_path / "flat.psd").layers) == 1


@pytest.mark.parametrize(
    "args, words",
    [
        (["export", "{tmp}/missing.png", "-o", "{tmp}/x.psd"], "does not exist"),
        (["export", "{tmp}/junk.png", "-o", "{tmp}/x.psd"], "not an image"),
        (["export", "{session}", "-o", "{tmp}/no/such/dir/x.psd"], "does not exist"),
        (["info", "{tmp}/junk.png"], "not an image"),
        (["info", "{tmp}/big.png", "--max-pixels", "100"], "limit"),
    ],
)
def test_errors_are_one_line_without_traceback(session, tmp_path, args, words):
    (tmp_path / "junk.png").write_text("not a picture")
    Image.new("L", (20, 20)).save(tmp_path / "big.png")
    args = [a.format(tmp=tmp_path, session=session[1]) for a in args]
    run = strata(*args)
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert words in lines[0] and "Traceback" not in run.stderr
    assert not (tmp_path / "x.psd").exists()


def test_info_and_export_of_a_layer_folder(session, tmp_path):
    doc, path = session
    ok("export", path, "-o", tmp_path / "folder")
    for target in (tmp_path / "folder", tmp_path / "folder" / "layers.json"):
        run = ok("info", target)
        assert run.stdout.splitlines()[0] == (
            f"{target}: folder of layer PNGs, 90x70, 4 layers (index 0 = bottom)"
        )
    ok("export", tmp_path / "folder", "-o", tmp_path / "x.psd")
    layers = list(PSDImage.open(tmp_path / "x.psd"))
    assert [layer.name for layer in layers] == [la.name for la in doc.layers]
    assert [layer.visible for layer in layers] == [la.params.visible for la in doc.layers]
    (tmp_path / "empty").mkdir()
    run = strata("export", tmp_path / "empty", "-o", tmp_path / "y.psd")
    assert run.returncode == 1 and run.stderr.strip().endswith("the folder is empty")
