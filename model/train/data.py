"""Training data for the layer prior: a widened, seeded design generator with per-pixel targets.

The benchmark generator (`model.evaluation.synthetic`, syn200 = seed 0) is left exactly as it is;
this module builds on its element drawers through two *configurations* of its own:
- `train`: half of the fonts installed on the machine (plus Pillow's and four Hershey faces), the
  benchmark's HSV palettes and free placement;
- `heldout`: never used in training, chosen from the start: the other half of the fonts (plus the
  two Hershey script faces), pastel/dark triad palettes, other words, and grid/centred layouts.
Both widen the benchmark's recipe: 2-20 elements, translucent panels, tints, fades and bands in
either direction, drop shadows, text laid over other text, and (train only) the layers of the
shared PSD files (`../shared/data/psd*`) recombined with synthetic elements and overlays.

Sample i of (config, seed) draws from `numpy.random.default_rng([seed, i, CONFIG_ID])`: same
inputs, same pixels. Nothing is written unless asked (`write_set`, for evaluation sets).

Targets (what the network learns, `targets`), per pixel, from the true layers:
0 the visible alpha of full-canvas translucent overlays (tints, fades, bands),
1-3 their colour (the visible-alpha weighted mean of the overlays' colours),
4 the visible alpha of translucent panels (local translucent shapes).
"Visible" is a layer's alpha times the transparency of everything above it: what the pixel's
colour actually owes to the overlay.
"""

from __future__ import annotations

import colorsys
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from model.evaluation import synthetic as syn
from model.evaluation.compose import flatten
from model.evaluation.dataset import write_sample

CONFIG_IDS = {"train": 101, "heldout": 202}
TRAIN_HERSHEY = syn.HERSHEY[:4]
HELDOUT_HERSHEY = syn.HERSHEY[4:]
HELDOUT_WORDS = (
    "Night Market", "Spring Gala", "CLEARANCE", "Art Walk", "Brunch Club", "Film Night",
    "Open Studio", "Vinyl Swap", "BIG NEWS", "Farm Stand", "Tea Party", "City Run",
)  # fmt: skip
ELEMENTS = ("shape", "text", "photo", "logo", "panel", "shadowed", "overtext")
WEIGHTS = (3, 4, 1, 1, 1.2, 1, 1)
OVERLAY_SHARE = 0.45  # samples with one full-canvas overlay (tint, fade or band)
TARGETS = 5
PSD_DIRS = ("psd", "psd-text")


@dataclass(frozen=True)
class Sample:
    composite: np.ndarray  # HxWx4 uint8
    layers: list[np.ndarray]  # bottom first
    kinds: list[str]


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode())


@cache
def system_fonts() -> tuple[str, ...]:
    """Scalable fonts installed on this machine (TrueType/OpenType), sorted."""
    found = []
    for root in ("/usr/share/fonts", "/usr/local/share/fonts"):
        base = Path(root)
        if base.is_dir():
            found += [str(p) for p in base.rglob("*") if p.suffix.lower() in (".ttf", ".otf")]
    return tuple(sorted(found))


def fonts_for(config: str) -> tuple[str, ...]:
    """The installed fonts a configuration may use: split by a hash of the file name, so that
    the held-out half never appears in training whatever the machine has."""
    want = 0 if config == "train" else 1
    return tuple(f for f in system_fonts() if _stable_hash(Path(f).name) % 2 == want)


def _palette(rng: np.random.Generator, config: str) -> list[tuple[int, int, int]]:
    if config == "train":
        return syn._palette(rng)
    base = rng.random()
    pastel = rng.random() < 0.5
    out = []
    for k in range(5):
        hue = (base + (k % 3) / 3.0 + rng.normal(0, 0.02)) % 1.0
        s, v = (
            (rng.uniform(0.1, 0.35), rng.uniform(0.85, 1.0))
            if pastel
            else (rng.uniform(0.5, 0.95), rng.uniform(0.12, 0.45))
        )
        r, g, b = colorsys.hsv_to_rgb(hue, s, v)
        out.append((round(r * 255), round(g * 255), round(b * 255)))
    return out


def _bbox(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(alpha)
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _move(layer: np.ndarray, cx: float, cy: float) -> np.ndarray:
    """The layer's content moved so that its box is centred on (cx, cy), clipped."""
    box = _bbox(layer[:, :, 3])
    if box is None:
        return layer
    x0, y0, x1, y1 = box
    h, w = layer.shape[:2]
    patch = layer[y0:y1, x0:x1]
    nx, ny = round(cx - (x1 - x0) / 2), round(cy - (y1 - y0) / 2)
    return syn._place((w, h), nx, ny, patch[:, :, :3], patch[:, :, 3])


def _layout(rng: np.random.Generator, layer: np.ndarray, config: str) -> np.ndarray:
    """Heldout layouts: centred on the vertical axis or on a 3x3 grid's cells."""
    if config == "train":
        return layer
    h, w = layer.shape[:2]
    if rng.random() < 0.5:
        return _move(layer, w / 2, rng.uniform(0.15, 0.85) * h)
    col, row = int(rng.integers(3)), int(rng.integers(3))
    return _move(layer, (col + 0.5) * w / 3, (row + 0.5) * h / 3)


def _font_text(rng: np.random.Generator, size: syn.Canvas, palette, config: str, near=None):
    """Text in an installed font (or the generator's own faces), optionally over a given box."""
    w, h = size
    words = syn.WORDS if config == "train" else HELDOUT_WORDS
    fonts = fonts_for(config)
    if not fonts or rng.random() < 0.25:
        faces = TRAIN_HERSHEY if config == "train" else HELDOUT_HERSHEY
        for _ in range(16):  # the other configuration's Hershey faces are redrawn
            kind, layer = syn.text(rng, size, palette)
            if not kind.startswith("text:hershey") or int(kind[12:]) in faces:
                break
        return kind, layer
    lines = [str(rng.choice(words)) for _ in range(int(rng.choice([1, 1, 2, 3])))]
    path = fonts[int(rng.integers(len(fonts)))]
    target = max(10, round(min(w, h) * rng.uniform(0.05, 0.16)))
    font = ImageFont.truetype(path, target)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    text = "\n".join(lines)
    left, top, right, bottom = probe.multiline_textbbox((0, 0), text, font=font)
    while right - left > w * 0.95 and font.size > 8:
        font = ImageFont.truetype(path, max(8, int(font.size * 0.8)))
        left, top, right, bottom = probe.multiline_textbbox((0, 0), text, font=font)
    tw, th = right - left + 2, bottom - top + 2
    mask = Image.new("L", (tw, th), 0)
    ImageDraw.Draw(mask).multiline_text(
        (1 - left, 1 - top),
        text,
        font=font,
        fill=255,
        align=str(rng.choice(["left", "center", "right"])),
    )
    alpha = np.asarray(mask)
    if near is not None:  # overlapping text: start inside another element's box
        x0, y0, x1, y1 = near
        x = int(np.clip(rng.integers(x0 - tw // 2, max(x0 - tw // 2 + 1, x1 - tw // 2)), 0, w - 1))
        y = int(np.clip(rng.integers(y0 - th // 2, max(y0 - th // 2 + 1, y1 - th // 2)), 0, h - 1))
    else:
        x = int(rng.integers(0, max(1, w - tw + 1)))
        y = int(rng.integers(0, max(1, h - th + 1)))
    rgb = np.broadcast_to(syn._text_colour(rng, palette), (th, tw, 3))
    return f"text:font:{Path(path).stem}", syn._place(size, x, y, rgb, alpha)


def _overlay(rng: np.random.Generator, size: syn.Canvas, palette) -> tuple[str, np.ndarray]:
    """The benchmark's tints, bands and fades, in either direction, plus two-colour fades."""
    w, h = size
    if rng.random() < 0.5:
        kind, layer = syn.overlay(rng, size, palette)
    else:  # drawn on the transposed canvas: vertical bands and sideways fades
        kind, layer = syn.overlay(rng, (h, w), palette)
        layer = np.ascontiguousarray(layer.transpose(1, 0, 2))
        kind += ":x"
    if rng.random() < 0.15:  # the fade's colour drifts across the canvas
        other = syn._gradient(rng, w, h, syn._colour(rng, palette), syn._colour(rng, palette))
        layer[:, :, :3] = np.where(layer[:, :, 3:] > 0, other, 0)
    return kind, layer


def _panel(rng: np.random.Generator, size: syn.Canvas, palette) -> tuple[str, np.ndarray]:
    """A translucent rectangle, rounded box or ellipse (a scrim behind a caption), sometimes
    with a soft edge."""
    x, y, bw, bh = syn._box(rng, size, 0.2, 0.7)
    kind = str(rng.choice(["rect", "rounded", "ellipse"]))
    alpha = syn._aa_mask(bw, bh, syn._shape_drawer(rng, kind, bw, bh)).astype(np.float32)
    if rng.random() < 0.3:
        alpha = cv2.GaussianBlur(alpha, (0, 0), max(1.0, min(bw, bh) * rng.uniform(0.02, 0.1)))
    strength = rng.uniform(0.2, 0.8)
    colour = syn._colour(rng, palette) if rng.random() < 0.6 else np.full(3, rng.choice([0, 255]))
    rgb = np.broadcast_to(colour.astype(np.uint8), (bh, bw, 3))
    return f"panel:{kind}", syn._place(size, x, y, rgb, np.rint(alpha * strength).astype(np.uint8))


def _shadowed(rng: np.random.Generator, size: syn.Canvas, palette) -> tuple[str, np.ndarray]:
    """A shape or a logo with a drop shadow or a glow in its own layer, as designs have them."""
    kind, layer = (
        syn.shape(rng, size, palette) if rng.random() < 0.7 else syn.logo(rng, size, palette)
    )
    alpha = layer[:, :, 3].astype(np.float32) / 255.0
    sigma = rng.uniform(1.5, 6.0)
    dx, dy = (rng.integers(-8, 9), rng.integers(-8, 9)) if rng.random() < 0.7 else (0, 0)
    shadow = cv2.GaussianBlur(np.roll(alpha, (int(dy), int(dx)), axis=(0, 1)), (0, 0), sigma)
    shadow *= rng.uniform(0.3, 0.7)
    tone = np.array([0, 0, 0] if dx or dy else syn._colour(rng, palette), np.float32) / 255.0
    colour = layer[:, :, :3].astype(np.float32) / 255.0
    out_a = alpha + shadow * (1 - alpha)
    out_c = (colour * alpha[..., None] + tone * (shadow * (1 - alpha))[..., None]) / np.maximum(
        out_a[..., None], 1e-6
    )
    out = np.dstack([np.rint(out_c * 255), np.rint(out_a * 255)]).clip(0, 255).astype(np.uint8)
    out[out[:, :, 3] == 0, :3] = 0
    return f"{kind}+shadow", out


@cache
def psd_layers(root: str) -> tuple[tuple[np.ndarray, ...], ...]:
    """The shared PSD files' layer stacks (short side 256), or nothing when they are absent."""
    from model.evaluation.psd_dataset import SkipPsd, convert_psd, find_psds

    stacks = []
    for name in PSD_DIRS:
        folder = Path(root) / name
        if not folder.is_dir():
            continue
        for path in find_psds(folder):
            try:
                stacks.append(tuple(convert_psd(path, max_layers=8, short_side=256).layers))
            except (SkipPsd, OSError, ValueError):
                continue
    return tuple(stacks)


def _fit(layer: np.ndarray, size: syn.Canvas) -> np.ndarray:
    w, h = size
    resized = Image.fromarray(layer, "RGBA").resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(resized).copy()


def _from_psd(rng, size, stacks) -> tuple[list[np.ndarray], list[str]]:
    """A PSD's stack fitted to the canvas as the sample's base (its bottom made opaque)."""
    stack = stacks[int(rng.integers(len(stacks)))]
    layers = [_fit(x, size) for x in stack]
    bottom = layers[0]
    bottom_rgb = bottom[:, :, :3].astype(np.float32) * (bottom[:, :, 3:] / 255.0)
    bottom_rgb += 255.0 * (1 - bottom[:, :, 3:] / 255.0)  # a white page under transparency
    base = np.dstack([np.rint(bottom_rgb).astype(np.uint8), np.full(size[::-1], 255, np.uint8)])
    return [base] + [x for x in layers[1:] if x[:, :, 3].any()], ["background:psd"] + ["psd"] * (
        len(layers) - 1
    )


def generate(
    seed: int, index: int, config: str = "train", short_side: int = 96, psd_root: str | None = None
) -> Sample:
    """Sample `index` of the widened generator in `config` (train | heldout)."""
    rng = np.random.default_rng([seed, index, CONFIG_IDS[config]])
    aspect = float(rng.choice(syn.ASPECTS))
    size = (
        (round(short_side * aspect), short_side)
        if aspect >= 1
        else (short_side, round(short_side / aspect))
    )
    palette = _palette(rng, config)
    count = int(rng.integers(2, 21))
    stacks = psd_layers(psd_root) if psd_root and config == "train" else ()
    if stacks and rng.random() < 0.12:
        layers, kinds = _from_psd(rng, size, stacks)
    else:
        kind, bottom = syn.background(rng, size, palette)
        layers, kinds = [bottom], [f"background:{kind}"]
    weights = np.array(WEIGHTS) / sum(WEIGHTS)
    tries = 0
    while len(layers) < count and tries < 4 * count:
        tries += 1
        element = str(rng.choice(ELEMENTS, p=weights))
        if element == "text":
            kind, rgba = _font_text(rng, size, palette, config)
        elif element == "overtext":
            boxes = [_bbox(x[:, :, 3]) for x, k in zip(layers, kinds) if k.startswith("text")]
            boxes = [b for b in boxes if b is not None]
            near = boxes[int(rng.integers(len(boxes)))] if boxes else None
            kind, rgba = _font_text(rng, size, palette, config, near)
        elif element == "panel":
            kind, rgba = _panel(rng, size, palette)
        elif element == "shadowed":
            kind, rgba = _shadowed(rng, size, palette)
        else:
            kind, rgba = syn.ELEMENTS[element](rng, size, palette)
        rgba = _layout(rng, rgba, config)
        if rgba[:, :, 3].any():
            layers.append(rgba)
            kinds.append(kind)
    if rng.random() < OVERLAY_SHARE:  # most often on top, else under the last few elements
        kind, rgba = _overlay(rng, size, palette)
        at = len(layers) - min(int(rng.geometric(0.6)) - 1, len(layers) - 1)
        layers.insert(at, rgba)
        kinds.insert(at, kind)
    return Sample(flatten(layers), layers, kinds)


def targets(sample: Sample) -> np.ndarray:
    """HxWx5 float32: overlay visible alpha, overlay colour (RGB), panel visible alpha."""
    h, w = sample.composite.shape[:2]
    out = np.zeros((h, w, TARGETS), np.float32)
    clear = np.ones((h, w), np.float32)  # transparency of everything above the current layer
    for layer, kind in zip(reversed(sample.layers), reversed(sample.kinds)):
        alpha = layer[:, :, 3].astype(np.float32) / 255.0
        visible = alpha * clear
        if kind.startswith("overlay"):
            out[:, :, 0] += visible
            out[:, :, 1:4] += visible[..., None] * (layer[:, :, :3].astype(np.float32) / 255.0)
        elif kind.startswith("panel"):
            out[:, :, 4] += visible
        clear *= 1.0 - alpha
    covered = out[:, :, 0] > 1e-6
    out[covered, 1:4] /= out[covered, 0:1]
    return np.clip(out, 0.0, 1.0)


def network_pair(sample: Sample, res: int) -> tuple[np.ndarray, np.ndarray]:
    """(3xRxR input in [0, 1], 5xRxR target) at the network's square resolution."""
    rgb = cv2.resize(sample.composite[:, :, :3], (res, res), interpolation=cv2.INTER_AREA)
    full = targets(sample)
    target = np.stack(
        [
            cv2.resize(
                np.ascontiguousarray(full[:, :, k]), (res, res), interpolation=cv2.INTER_AREA
            )
            for k in range(TARGETS)
        ]
    )
    return rgb.astype(np.float32).transpose(2, 0, 1) / 255.0, target.astype(np.float32)


def stream(
    seed: int, start: int, res: int, config: str = "train", psd_root: str | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless (input, target) pairs: samples start, start + 1, ... of (config, seed)."""
    index = start
    while True:
        yield network_pair(generate(seed, index, config, psd_root=psd_root), res)
        index += 1


def write_set(out_dir: Path, count: int, seed: int, config: str, short_side: int = 512) -> None:
    """An evaluation dataset (the `dataset` layout) of this generator, e.g. the held-out check."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for index in range(count):
        sample = generate(seed, index, config, short_side=short_side)
        name = f"synth_{index:05d}"
        write_sample(out_dir / name, sample.composite, sample.layers)
        h, w = sample.composite.shape[:2]
        entries.append({"name": name, "size": [w, h], "layers": sample.kinds})
    info = {"generator": f"strata-prior-{config}", "seed": seed, "count": count,
            "samples": entries}  # fmt: skip
    (out_dir / "dataset.json").write_text(json.dumps(info, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m model.train.data",
        description="write an evaluation set of the widened generator",
    )
    parser.add_argument("-o", "--out", required=True, type=Path)
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--config", choices=sorted(CONFIG_IDS), default="heldout")
    parser.add_argument("--short-side", type=int, default=512)
    args = parser.parse_args(argv)
    write_set(args.out, args.count, args.seed, args.config, args.short_side)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
