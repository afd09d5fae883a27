"""No empty layers (issue 12, item 3): every backend's result holds at most N meaningful layers,
fewer with one warning when it cannot find N, and a layer's bounds are those of its visible
pixels. Real photos through the real CLI, and a designed stack through `model.layers`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from app.core.document import Document
from app.core.formats import load_document
from app.core.formats.bake import bake_layer, full_canvas
from app.core.layer import Layer, LayerParams, content_bbox
from model.base import DecomposedLayer, DecomposeOptions, DecomposeResult
from model.layers import (
    MIN_SHARE,
    CheckedDecomposer,
    is_meaningful,
    keep_meaningful,
    min_solid_pixels,
    solid_pixels,
)
from model.registry import choose_backend, get_backend

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def over_all(layers: list[np.ndarray]) -> np.ndarray:
    """Float "over" composite (straight alpha in, straight RGBA out, 0..255)."""
    rgb = np.zeros(layers[0].shape[:2] + (3,))
    alpha = np.zeros(layers[0].shape[:2] + (1,))
    for layer in layers:
        a = layer[:, :, 3:4] / 255.0
        rgb = layer[:, :, :3] * a + rgb * (1 - a)  # premultiplied
        alpha = a + alpha * (1 - a)
    return np.concatenate([rgb, alpha * 255.0], axis=-1)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / max(mse, 1e-12))


def assert_bounds_are_visible_pixels(layer: Layer) -> None:
    box = content_bbox(layer.pixels[:, :, 3])
    assert box == (0, 0, *layer.size), f"{layer.name}: pixels are not cropped to alpha > 0"


@pytest.fixture(scope="module")
def photo_files(tmp_path_factory) -> dict[str, Path]:
    import skimage.data

    folder = tmp_path_factory.mktemp("photos")
    paths = {}
    for name in PHOTOS:
        paths[name] = folder / f"{name}.png"
        Image.fromarray(getattr(skimage.data, name)()).save(paths[name])
    return paths


@pytest.mark.slow
@pytest.mark.parametrize("name", PHOTOS)
def test_photos_give_only_meaningful_layers_with_tight_bounds(
    name: str, photo_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "layers"
    assert main(["decompose", str(photo_files[name]), "-o", str(out), "--layers", "5",
                 "--backend", "classic"]) == 0
    err = capsys.readouterr().err.splitlines()
    picture = np.asarray(Image.open(photo_files[name]).convert("RGB"))
    canvas = picture.shape[0] * picture.shape[1]
    doc = load_document(out)
    count = len(doc.layers)
    assert 1 <= count <= 5
    count_lines = [line for line in err if line.startswith("warning: asked for 5 layers")]
    assert len(count_lines) == (1 if count < 5 else 0), err
    full = [np.asarray(Image.open(out / f"{i:02d}.png")) for i in range(count)]
    for layer, pixels in zip(doc.layers, full):
        # the file's visible pixels, the document layer's bounds and its pixels agree
        x, y, w, h = content_bbox(pixels[:, :, 3])
        assert (x, y, x + w, y + h) == layer.bounds()
        assert_bounds_are_visible_pixels(layer)
        assert solid_pixels(pixels[:, :, 3]) >= min_solid_pixels(canvas), layer.name
    assert psnr(over_all(full)[:, :, :3], picture) >= 40


def designed_stack(size: tuple[int, int] = (200, 300)) -> list[np.ndarray]:
    """A background, a real shape, an empty layer, a dust of single pixels over the picture,
    a faint haze, and a small but solid shape (kept): bottom first."""
    h, w = size
    rng = np.random.default_rng(5)
    background = np.zeros((h, w, 4), np.uint8)
    background[..., :3] = rng.integers(0, 256, 3)
    background[..., 3] = 255
    shape = np.zeros_like(background)
    shape[40:120, 60:200] = (200, 30, 30, 255)
    empty = np.zeros_like(background)
    dust = np.zeros_like(background)
    ys, xs = rng.integers(0, h, 40), rng.integers(0, w, 40)
    dust[ys, xs] = (10, 200, 10, 255)  # 40 specks spread over the whole picture
    haze = np.zeros_like(background)
    haze[:, :150] = (255, 255, 255, 4)  # half the picture at alpha 4/255: not seen
    small = np.zeros_like(background)
    small[150:160, 20:30] = (0, 0, 255, 255)  # 100 solid pixels: over 1/4000 of 60000
    return [background, shape, empty, dust, haze, small]


def test_negligible_layers_merge_below_and_the_composite_stays(capsys) -> None:
    stack = designed_stack()
    canvas = stack[0].shape[0] * stack[0].shape[1]
    threshold = min_solid_pixels(canvas)
    expected_kept = [is_meaningful(layer) for layer in stack]
    # the designed stack holds what it says: which layers fall under the threshold
    assert expected_kept == [True, True, False, False, False, True]
    assert solid_pixels(stack[3][:, :, 3]) == 0  # specks do not count
    assert solid_pixels(stack[4][:, :, 3]) == 0  # nor does a haze too faint to see
    result = DecomposeResult([DecomposedLayer(x, f"L{i}") for i, x in enumerate(stack)], "test")
    kept = keep_meaningful(result, asked=6)
    assert [layer.name for layer in kept.layers] == [
        f"L{i}" for i, keep in enumerate(expected_kept) if keep
    ]
    assert all(is_meaningful(layer.rgba) for layer in kept.layers)
    merged = len(stack) - len(kept.layers)
    assert kept.warnings == [
        f"asked for 6 layers, found {len(kept.layers)} meaningful ones: {merged} nearly empty "
        f"layers (under {MIN_SHARE:.3%} of the picture) merged into the layer below"
    ]
    before, after = over_all(stack), over_all([layer.rgba for layer in kept.layers])
    assert np.abs(before - after).max() <= 1.0  # one 8-bit level of rounding at most
    assert threshold == max(16, MIN_SHARE * canvas)


def test_a_negligible_bottom_layer_joins_the_one_above() -> None:
    h, w = 100, 100
    bottom = np.zeros((h, w, 4), np.uint8)
    bottom[0, 0] = (9, 9, 9, 255)  # one pixel: not a layer
    top = np.zeros((h, w, 4), np.uint8)
    top[10:90, 10:90] = (50, 100, 150, 200)
    result = keep_meaningful(
        DecomposeResult([DecomposedLayer(bottom, "dot"), DecomposedLayer(top, "square")], "t"),
        asked=None,
    )
    assert [layer.name for layer in result.layers] == ["square"]
    assert result.layers[0].rgba[0, 0].tolist() == [9, 9, 9, 255]
    assert len(result.warnings) == 1 and "merged" in result.warnings[0]


def test_every_backend_from_the_registry_is_checked(tmp_path: Path) -> None:
    classic = get_backend("classic")
    assert isinstance(classic, CheckedDecomposer)
    assert classic.name == "classic" and classic.availability().ok  # the backend's own
    backend, _ = choose_backend("classic", DecomposeOptions())
    assert backend is classic
    # a flat picture with one flat square: two parts, nothing more to find
    flat = np.full((90, 120, 4), 255, np.uint8)
    flat[..., :3] = (200, 200, 200)
    flat[30:60, 40:80, :3] = (200, 30, 30)
    result = classic.decompose(flat, DecomposeOptions(layers=6))
    assert 1 <= len(result.layers) < 6
    count_lines = [w for w in result.warnings if w.startswith("asked for 6 layers")]
    assert count_lines == [f"asked for 6 layers, found {len(result.layers)} meaningful ones"]
    assert all(is_meaningful(layer.rgba) for layer in result.layers)


def test_cli_says_fewer_layers_in_one_line(tmp_path: Path, capsys) -> None:
    flat = np.full((90, 120, 3), 200, np.uint8)
    flat[30:60, 40:80] = (200, 30, 30)
    Image.fromarray(flat).save(tmp_path / "flat.png")
    rc = main(["decompose", str(tmp_path / "flat.png"), "-o", str(tmp_path / "out.psd"),
               "--backend", "classic", "--layers", "8"])
    assert rc == 0
    err = capsys.readouterr().err.splitlines()
    count = len(load_document(tmp_path / "out.psd").layers)
    assert count < 8
    assert [line for line in err if "asked for" in line] == [
        f"warning: asked for 8 layers, found {count} meaningful ones"
    ]
    assert err[-1].startswith(f"wrote {count} layer")


def test_recropping_a_layer_keeps_what_it_shows() -> None:
    """The layer left behind by Extract can lose its edges; cropping it to its visible
    pixels (same id, offset compensated) must not move a pixel on the canvas."""
    pixels = np.zeros((40, 50, 4), np.uint8)
    pixels[10:30, 5:20] = (250, 120, 10, 255)
    pixels[12, 21] = (1, 2, 3, 4)
    params = LayerParams(name="L", offset=(3.5, -2.0), scale=(1.6, 0.7))
    layer = Layer(pixels, (7, 9), params)
    tight = layer.cropped_to_content()
    assert tight.id == layer.id and tight.size == (17, 20)
    assert_bounds_are_visible_pixels(tight)
    doc = Document(120, 100, [layer])
    before = full_canvas(doc, bake_layer(doc, layer)).astype(int)
    doc.layers = [tight]
    after = full_canvas(doc, bake_layer(doc, tight)).astype(int)
    assert before[..., 3].max() == 255
    assert np.abs(before - after).max() <= 1
    assert tight.cropped_to_content() is tight
    empty = Layer(np.zeros((5, 5, 4), np.uint8), (2, 3)).cropped_to_content()
    assert empty.size == (1, 1) and empty.origin == (2, 3)
