"""Seeded synthetic test pictures with known layers, for the classic decomposer's tests.

`design(seed)` draws a flat or gradient background, anti-aliased shapes and text with
Pillow; it returns the flat picture and the true layers (full-canvas straight RGBA, bottom
first), so tests can compare the decomposition with the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SUPER = 4  # supersampling for anti-aliased shape edges
WORDS = ["SALE", "Hello", "SUMMER", "Open Now", "BIG NEWS", "Coffee", "Design", "FRESH"]


@dataclass
class Synthetic:
    image: np.ndarray  # HxWx4 uint8 composite (opaque)
    layers: list[np.ndarray]  # true layers, bottom first
    kinds: list[str]  # "background" | "shape" | "text"
    text: list[str]  # the words of each text layer (empty for others)


def over(layers: list[np.ndarray]) -> np.ndarray:
    out_p = np.zeros(layers[0].shape[:2] + (3,))
    out_a = np.zeros(layers[0].shape[:2] + (1,))
    for layer in layers:
        a = layer[:, :, 3:4] / 255.0
        out_p = a * layer[:, :, :3] / 255.0 + (1 - a) * out_p
        out_a = a + (1 - a) * out_a
    rgb = np.where(out_a > 0, out_p / np.maximum(out_a, 1e-9), 0)
    return np.clip(np.rint(np.concatenate([rgb, out_a], -1) * 255), 0, 255).astype(np.uint8)


def _colour(rng: np.random.Generator, avoid: list[np.ndarray]) -> np.ndarray:
    for _ in range(100):
        c = rng.integers(0, 256, 3)
        if all(np.abs(c - a).max() > 70 for a in avoid):
            return c
    return c


def _shape_alpha(rng, w: int, h: int, kind: str) -> tuple[np.ndarray, tuple]:
    canvas = Image.new("L", (w * SUPER, h * SUPER), 0)
    draw = ImageDraw.Draw(canvas)
    bw, bh = rng.uniform(0.15, 0.5) * w, rng.uniform(0.15, 0.5) * h
    x0, y0 = rng.uniform(0.02, 0.98) * w - bw / 2, rng.uniform(0.02, 0.98) * h - bh / 2
    box = [v * SUPER for v in (x0, y0, x0 + bw, y0 + bh)]
    if kind == "rect":
        draw.rectangle(box, fill=255)
    elif kind == "ellipse":
        draw.ellipse(box, fill=255)
    elif kind == "rounded":
        draw.rounded_rectangle(box, radius=int(min(bw, bh) * SUPER / 4), fill=255)
    else:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        angles = np.sort(rng.uniform(0, 2 * np.pi, rng.integers(3, 7)))
        pts = [(cx + np.cos(t) * bw * SUPER / 2, cy + np.sin(t) * bh * SUPER / 2) for t in angles]
        draw.polygon(pts, fill=255)
    small = canvas.resize((w, h), Image.Resampling.BOX)
    return np.asarray(small), (x0, y0, bw, bh)


def _background(rng, w: int, h: int, gradient: bool, avoid: list) -> np.ndarray:
    c0 = _colour(rng, avoid)
    layer = np.empty((h, w, 4), np.uint8)
    if gradient:
        c1 = np.clip(c0 + rng.integers(-90, 90, 3), 0, 255)
        t = (
            np.linspace(0, 1, w)[None, :, None]
            if rng.random() < 0.5
            else np.linspace(0, 1, h)[:, None, None]
        )
        rgb = c0 * (1 - t) + c1 * t
        layer[:, :, :3] = np.clip(np.rint(np.broadcast_to(rgb, (h, w, 3))), 0, 255)
    else:
        layer[:, :, :3] = c0
    layer[:, :, 3] = 255
    return layer


def design(
    seed: int,
    size: tuple[int, int] = (256, 256),
    shapes: int | None = None,
    texts: int | None = None,
    gradient: bool | None = None,
) -> Synthetic:
    """A poster-like picture: background, 1-3 shapes, 0-2 text lines, all known."""
    rng = np.random.default_rng(seed)
    w, h = size
    gradient = bool(rng.random() < 0.4) if gradient is None else gradient
    bg = _background(rng, w, h, gradient, [])
    colours = [bg[h // 2, w // 2, :3].astype(int)]
    layers, kinds, words = [bg], ["background"], [""]
    for _ in range(int(rng.integers(1, 4)) if shapes is None else shapes):
        kind = str(rng.choice(["rect", "ellipse", "rounded", "polygon"]))
        alpha, _ = _shape_alpha(rng, w, h, kind)
        c = _colour(rng, colours)
        colours.append(c)
        layer = np.zeros((h, w, 4), np.uint8)
        layer[:, :, :3] = c
        layer[:, :, 3] = alpha
        layers.append(layer)
        kinds.append("shape")
        words.append("")
    for _ in range(int(rng.integers(0, 3)) if texts is None else texts):
        word = str(rng.choice(WORDS))
        font = ImageFont.load_default(size=int(rng.integers(max(14, h // 14), max(16, h // 6))))
        mask = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(mask)
        left, top, right, bottom = draw.textbbox((0, 0), word, font=font)
        tw, th = right - left, bottom - top
        x = rng.uniform(0.03 * w, max(0.03 * w + 1, w - tw - 0.03 * w)) - left
        y = rng.uniform(0.03 * h, max(0.03 * h + 1, h - th - 0.03 * h)) - top
        draw.text((x, y), word, font=font, fill=255)
        c = _colour(rng, colours)
        layer = np.zeros((h, w, 4), np.uint8)
        layer[:, :, :3] = c
        layer[:, :, 3] = np.asarray(mask)
        layers.append(layer)
        kinds.append("text")
        words.append(word)
    return Synthetic(over(layers), layers, kinds, words)


def photo(name: str = "astronaut", size: tuple[int, int] | None = None) -> np.ndarray:
    """A real photo bundled with scikit-image, as opaque RGBA uint8 (optionally resized)."""
    from skimage import data

    rgb = getattr(data, name)()
    if rgb.ndim == 2:
        rgb = np.stack([rgb] * 3, axis=-1)
    image = Image.fromarray(rgb[:, :, :3])
    if size is not None:
        image = image.resize(size, Image.Resampling.LANCZOS)
    rgba = np.asarray(image.convert("RGBA"))
    return np.ascontiguousarray(rgba)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def premultiplied(rgba: np.ndarray) -> np.ndarray:
    a = rgba[:, :, 3:4].astype(np.float64) / 255.0
    return np.concatenate([rgba[:, :, :3] * a, rgba[:, :, 3:4].astype(np.float64)], -1)


def soft_iou(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64) / 255.0
    b = b.astype(np.float64) / 255.0
    union = np.maximum(a, b).sum()
    return 1.0 if union == 0 else float(np.minimum(a, b).sum() / union)
