"""A seeded generator of Crello-like designs with their ground-truth layers.

Each sample is a poster-shaped canvas (short side 512, aspect 1:1 to 16:9 either way) with 2 to
10 layers: a background (flat, gradient, texture or a photo crop), then shapes, framed photos,
logos with soft alpha, text in several fonts and sizes, and semi-transparent overlays.

Same seed, same bytes: sample i draws from `numpy.random.default_rng([seed, i])`, every pixel is
made by Pillow or OpenCV integer drawing from inputs that ship inside the installed wheels (the
photos of scikit-image, Pillow's built-in scalable font, OpenCV's Hershey fonts), never from fonts
that happen to be on the machine, and composite.png is the exact flatten of the layers.
"""

from __future__ import annotations

import colorsys
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from model.evaluation.compose import flatten
from model.evaluation.dataset import write_sample

SHORT_SIDE = 512
ASPECTS = (1.0, 0.8, 0.75, 2 / 3, 9 / 16, 1 / 1.4142, 1.25, 4 / 3, 1.5, 16 / 9)  # width / height
SUPERSAMPLE = 4
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
HERSHEY = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
)
WORDS = (
    "SUMMER SALE", "Grand Opening", "50% OFF", "New Collection", "Live Music", "Coffee Time",
    "WORKSHOP", "Save the Date", "Open Daily", "FRESH", "Join Us", "Weekend Market",
    "Limited Edition", "Thank You", "Hello Spring", "Book Now", "FREE ENTRY", "Autumn Fair",
    "Design Week", "Happy Birthday", "www.example.com", "Since 1998", "Top Deals", "Yoga Class",
)  # fmt: skip
ELEMENT_WEIGHTS = {"shape": 3, "text": 4, "photo": 1, "logo": 1, "overlay": 1}

Canvas = tuple[int, int]  # width, height


def canvas_size(rng: np.random.Generator) -> Canvas:
    aspect = float(rng.choice(ASPECTS))
    if aspect >= 1.0:
        return round(SHORT_SIDE * aspect), SHORT_SIDE
    return SHORT_SIDE, round(SHORT_SIDE / aspect)


def _palette(rng: np.random.Generator, count: int = 5) -> list[tuple[int, int, int]]:
    base = rng.random()
    offsets = rng.choice([0.0, 0.08, 0.5, 0.33, 0.92, 0.58], size=count)
    out = []
    for offset in offsets:
        s, v = rng.uniform(0.3, 1.0), rng.uniform(0.35, 1.0)
        r, g, b = colorsys.hsv_to_rgb((base + offset) % 1.0, s, v)
        out.append((round(r * 255), round(g * 255), round(b * 255)))
    return out


def _colour(rng: np.random.Generator, palette: list[tuple[int, int, int]]) -> np.ndarray:
    return np.array(palette[int(rng.integers(len(palette)))], np.float64)


def _gradient(rng: np.random.Generator, w: int, h: int, c0: np.ndarray, c1: np.ndarray):
    """A linear or radial two-colour gradient, HxWx3 uint8."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    if rng.random() < 0.7:
        angle = rng.uniform(0, 2 * np.pi)
        t = xs * np.cos(angle) + ys * np.sin(angle)
    else:
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        t = np.hypot(xs - cx, ys - cy)
    t = (t - t.min()) / max(t.max() - t.min(), 1e-9)
    rgb = c0 * (1 - t[..., None]) + c1 * t[..., None]
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


@cache
def _photo(name: str) -> np.ndarray:
    import skimage.data

    return getattr(skimage.data, name)()


def _photo_crop(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A crop of a bundled photo with the aspect of w x h, resized to it, HxWx3 uint8."""
    photo = _photo(PHOTOS[int(rng.integers(len(PHOTOS)))])
    ph, pw = photo.shape[:2]
    scale = rng.uniform(0.5, 1.0) * min(pw / w, ph / h)
    cw, ch = max(1, round(w * scale)), max(1, round(h * scale))
    x0, y0 = int(rng.integers(0, pw - cw + 1)), int(rng.integers(0, ph - ch + 1))
    crop = Image.fromarray(photo[y0 : y0 + ch, x0 : x0 + cw])
    return np.asarray(crop.resize((w, h), Image.Resampling.LANCZOS))


def background(rng: np.random.Generator, size: Canvas, palette) -> tuple[str, np.ndarray]:
    w, h = size
    kind = str(rng.choice(["flat", "gradient", "texture", "photo"], p=[0.25, 0.3, 0.2, 0.25]))
    if kind == "flat":
        rgb = np.broadcast_to(_colour(rng, palette).astype(np.uint8), (h, w, 3))
    elif kind == "gradient":
        rgb = _gradient(rng, w, h, _colour(rng, palette), _colour(rng, palette))
    elif kind == "texture":
        cells = int(rng.integers(4, 24))
        coarse = rng.random((cells, max(2, cells * w // h))).astype(np.float32)
        smooth = (
            np.asarray(
                Image.fromarray((coarse * 255).astype(np.uint8)).resize(
                    (w, h), Image.Resampling.BICUBIC
                )
            ).astype(np.float64)
            / 255.0
        )
        grain = rng.normal(0.0, 0.06, (h, w))
        t = np.clip(smooth * 0.7 + 0.15 + grain, 0, 1)[..., None]
        c0, c1 = _colour(rng, palette), _colour(rng, palette)
        rgb = np.clip(np.rint(c0 * (1 - t) + c1 * t), 0, 255).astype(np.uint8)
    else:
        rgb = _photo_crop(rng, w, h)
    out = np.empty((h, w, 4), np.uint8)
    out[:, :, :3] = rgb
    out[:, :, 3] = 255
    return kind, out


def _aa_mask(w: int, h: int, draw: Callable[[ImageDraw.ImageDraw, int], None]) -> np.ndarray:
    """An anti-aliased HxW uint8 mask: drawn at 4x, then box-averaged down."""
    big = Image.new("L", (w * SUPERSAMPLE, h * SUPERSAMPLE), 0)
    draw(ImageDraw.Draw(big), SUPERSAMPLE)
    return np.asarray(big.reduce(SUPERSAMPLE))


def _place(size: Canvas, x: int, y: int, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """A full-canvas RGBA layer with a local patch at (x, y), clipped to the canvas."""
    w, h = size
    out = np.zeros((h, w, 4), np.uint8)
    ph, pw = alpha.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + pw, w), min(y + ph, h)
    if x0 >= x1 or y0 >= y1:
        return out
    patch_alpha = alpha[y0 - y : y1 - y, x0 - x : x1 - x]
    out[y0:y1, x0:x1, :3] = np.where(
        patch_alpha[..., None] > 0, rgb[y0 - y : y1 - y, x0 - x : x1 - x], 0
    )
    out[y0:y1, x0:x1, 3] = patch_alpha
    return out


def _box(rng: np.random.Generator, size: Canvas, lo: float, hi: float) -> tuple[int, int, int, int]:
    w, h = size
    short = min(w, h)
    bw = max(8, round(short * rng.uniform(lo, hi) * rng.uniform(0.6, 1.6)))
    bh = max(8, round(short * rng.uniform(lo, hi)))
    bw, bh = min(bw, w), min(bh, h)
    return int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1)), bw, bh


def _shape_drawer(rng: np.random.Generator, kind: str, bw: int, bh: int):
    sides = int(rng.integers(3, 9))
    radius = float(rng.uniform(0.1, 0.4))
    ring = float(rng.uniform(0.06, 0.2))

    def draw(d: ImageDraw.ImageDraw, s: int) -> None:
        box = (0, 0, bw * s - 1, bh * s - 1)
        if kind == "rect":
            d.rectangle(box, fill=255)
        elif kind == "rounded":
            d.rounded_rectangle(box, radius=round(min(bw, bh) * s * radius), fill=255)
        elif kind == "ellipse":
            d.ellipse(box, fill=255)
        elif kind == "ring":
            d.ellipse(box, outline=255, width=max(s, round(min(bw, bh) * s * ring)))
        else:
            r = min(bw, bh) * s / 2
            d.regular_polygon((bw * s / 2, bh * s / 2, r), sides, fill=255)

    return draw


def shape(rng: np.random.Generator, size: Canvas, palette) -> tuple[str, np.ndarray]:
    x, y, bw, bh = _box(rng, size, 0.1, 0.5)
    kind = str(rng.choice(["rect", "rounded", "ellipse", "ring", "polygon"]))
    alpha = _aa_mask(bw, bh, _shape_drawer(rng, kind, bw, bh))
    if rng.random() < 0.3:
        rgb = _gradient(rng, bw, bh, _colour(rng, palette), _colour(rng, palette))
    else:
        rgb = np.broadcast_to(_colour(rng, palette).astype(np.uint8), (bh, bw, 3))
    if rng.random() < 0.25:
        alpha = (alpha.astype(np.uint16) * int(rng.integers(120, 240)) // 255).astype(np.uint8)
    return f"shape:{kind}", _place(size, x, y, rgb, alpha)


def photo(rng: np.random.Generator, size: Canvas, palette) -> tuple[str, np.ndarray]:
    x, y, bw, bh = _box(rng, size, 0.3, 0.7)
    kind = str(rng.choice(["rect", "rounded", "ellipse"]))
    alpha = _aa_mask(bw, bh, _shape_drawer(rng, kind, bw, bh))
    return f"photo:{kind}", _place(size, x, y, _photo_crop(rng, bw, bh), alpha)


def logo(rng: np.random.Generator, size: Canvas, palette) -> tuple[str, np.ndarray]:
    w, h = size
    side = max(24, round(min(w, h) * rng.uniform(0.12, 0.35)))
    x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
    if rng.random() < 0.4:
        art = Image.fromarray(_photo("logo")).resize((side, side), Image.Resampling.LANCZOS)
        rgba = np.asarray(art)
        return "logo:scikit-image", _place(size, x, y, rgba[:, :, :3], rgba[:, :, 3])
    # a badge: a disc with a letter cut out, and a soft glow around it
    letter = chr(ord("A") + int(rng.integers(26)))
    font = ImageFont.load_default(size=max(8, round(side * 0.5)))

    def draw(d: ImageDraw.ImageDraw, s: int) -> None:
        inset = side * s * 0.18
        d.ellipse((inset, inset, side * s - inset, side * s - inset), fill=255)

    disc = Image.fromarray(_aa_mask(side, side, draw))
    cut = Image.new("L", (side, side), 0)
    ImageDraw.Draw(cut).text((side / 2, side / 2), letter, font=font, fill=255, anchor="mm")
    glow = disc.filter(ImageFilter.GaussianBlur(side * 0.08))
    core = np.asarray(disc).astype(np.int32) * (255 - np.asarray(cut).astype(np.int32)) // 255
    alpha = np.maximum(core, np.asarray(glow).astype(np.int32) * 3 // 5).astype(np.uint8)
    rgb = np.broadcast_to(_colour(rng, palette).astype(np.uint8), (side, side, 3))
    return "logo:badge", _place(size, x, y, rgb, alpha)


def _text_colour(rng: np.random.Generator, palette) -> np.ndarray:
    if rng.random() < 0.6:
        return np.array([250, 250, 245] if rng.random() < 0.5 else [20, 20, 28], np.uint8)
    return _colour(rng, palette).astype(np.uint8)


def text(rng: np.random.Generator, size: Canvas, palette) -> tuple[str, np.ndarray]:
    w, h = size
    lines = [str(rng.choice(WORDS)) for _ in range(int(rng.choice([1, 1, 1, 2, 3])))]
    target = max(12, round(min(w, h) * rng.uniform(0.04, 0.14)))  # cap height-ish, pixels
    if rng.random() < 0.5:
        kind = "text:pillow"
        font = ImageFont.load_default(size=target)
        while True:
            probe = ImageDraw.Draw(Image.new("L", (1, 1)))
            left, top, right, bottom = probe.multiline_textbbox((0, 0), "\n".join(lines), font=font)
            if right - left <= w * 0.92 or font.size <= 8:
                break
            font = ImageFont.load_default(size=max(8, int(font.size * 0.8)))
        tw, th = right - left + 2, bottom - top + 2
        mask = Image.new("L", (tw, th), 0)
        ImageDraw.Draw(mask).multiline_text(
            (1 - left, 1 - top), "\n".join(lines), font=font, fill=255, align="center"
        )
        alpha = np.asarray(mask)
    else:
        face = HERSHEY[int(rng.integers(len(HERSHEY)))]
        kind = f"text:hershey{face}"
        scale = target / 22.0
        thickness = int(rng.integers(1, 4)) + int(scale > 1.5)
        while True:
            sizes = [cv2.getTextSize(line, face, scale, thickness) for line in lines]
            tw = max(s[0][0] for s in sizes) + 2 * thickness + 2
            if tw <= w * 0.92 or scale <= 0.4:
                break
            scale *= 0.8
        line_h = max(s[0][1] + s[1] for s in sizes) + 2 * thickness + 4
        th = line_h * len(lines)
        alpha = np.zeros((th, tw), np.uint8)
        for index, line in enumerate(lines):
            base = line_h * index + sizes[index][0][1] + thickness + 1
            offset = (tw - sizes[index][0][0]) // 2
            cv2.putText(alpha, line, (offset, base), face, scale, 255, thickness, cv2.LINE_AA)
    th, tw = alpha.shape
    x = int(rng.integers(0, max(1, w - tw + 1)))
    y = int(rng.integers(0, max(1, h - th + 1)))
    rgb = np.broadcast_to(_text_colour(rng, palette), (th, tw, 3))
    return kind, _place(size, x, y, rgb, alpha)


def overlay(rng: np.random.Generator, size: Canvas, palette) -> tuple[str, np.ndarray]:
    w, h = size
    colour = _colour(rng, palette) if rng.random() < 0.6 else np.array([0.0, 0.0, 0.0])
    kind = str(rng.choice(["tint", "band", "fade"]))
    strength = rng.uniform(0.2, 0.6)
    alpha = np.zeros((h, w), np.float64)
    if kind == "tint":
        alpha[:] = strength
    elif kind == "band":
        bh = max(8, round(h * rng.uniform(0.15, 0.4)))
        y0 = int(rng.integers(0, h - bh + 1))
        alpha[y0 : y0 + bh] = strength
    else:
        ramp = np.linspace(0.0, 1.0, h) ** rng.uniform(0.7, 2.0)
        alpha[:] = (ramp if rng.random() < 0.5 else ramp[::-1])[:, None] * strength
    rgb = np.broadcast_to(colour.astype(np.uint8), (h, w, 3))
    return f"overlay:{kind}", _place(size, 0, 0, rgb, np.rint(alpha * 255).astype(np.uint8))


ELEMENTS = {"shape": shape, "text": text, "photo": photo, "logo": logo, "overlay": overlay}


def generate_sample(seed: int, index: int) -> tuple[np.ndarray, list[np.ndarray], list[str]]:
    """(composite, layers bottom first, layer kinds) of sample `index` of the dataset `seed`."""
    rng = np.random.default_rng([seed, index])
    size = canvas_size(rng)
    palette = _palette(rng)
    count = int(rng.integers(2, 11))
    kind, bottom = background(rng, size, palette)
    layers, kinds = [bottom], [f"background:{kind}"]
    names = list(ELEMENT_WEIGHTS)
    weights = np.array([ELEMENT_WEIGHTS[n] for n in names], np.float64)
    while len(layers) < count:
        element = str(rng.choice(names, p=weights / weights.sum()))
        kind, rgba = ELEMENTS[element](rng, size, palette)
        if rgba[:, :, 3].any():
            layers.append(rgba)
            kinds.append(kind)
    return flatten(layers), layers, kinds


def generate(
    out_dir: Path,
    count: int,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Write `count` samples (synth_00000, ...) and dataset.json; returns the sample names."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    index_entries = []
    for index in range(count):
        composite, layers, kinds = generate_sample(seed, index)
        name = f"synth_{index:05d}"
        write_sample(out_dir / name, composite, layers)
        h, w = composite.shape[:2]
        index_entries.append({"name": name, "size": [w, h], "layers": kinds})
        if progress is not None:
            progress(1)
    info = {"generator": "strata-synthetic-v1", "seed": seed, "count": count,
            "samples": index_entries}  # fmt: skip
    (out_dir / "dataset.json").write_text(json.dumps(info, indent=1) + "\n")
    return [entry["name"] for entry in index_entries]
