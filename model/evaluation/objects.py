"""An object-mask set with true mattes: what a photo's subject cut should find.

Two sources:
- synthetic (`object_sample`): one object pasted with its true alpha on a background drawn by
  the synthetic design generator (a photo crop, a texture, a gradient or a flat colour). The
  object is a photo crop in a frame (rectangle, rounded rectangle, ellipse), a photo crop in an
  irregular, non-convex outline (a smoothed random star), or the scikit-image logo with its own
  soft alpha. About one sample in four has no object at all (its true matte is empty): a
  cutter should say "nothing here" on those. Same seed, same bytes.
- the PSD set (`psd_object`): a converted PSD sample (`python main.py dataset PSD_DIR`) whose
  bottom layer is opaque; the object is everything above it, its matte the union of those
  layers' alpha.

`mask_scores` gives mask IoU and the boundary F-score (Martin et al.'s measure: boundary pixels
within a tolerance of the other boundary) of a predicted matte against the true one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from model.evaluation import synthetic as syn
from model.evaluation.dataset import read_sample

NO_OBJECT = 0.25  # share of synthetic samples without an object
BOUNDARY_TOLERANCE = 0.0075  # of the picture's diagonal (~5 px at 512x512)


@dataclass
class ObjectSample:
    name: str
    rgb: np.ndarray  # HxWx3 uint8, opaque
    alpha: np.ndarray  # HxW uint8, the object's true matte (all zero: no object)
    background: np.ndarray  # HxWx3 uint8, what lies behind the object (known content)
    kind: str  # "<object>-on-<background>", or "none-on-<background>"


def _blob(rng: np.random.Generator, size: syn.Canvas) -> tuple[str, np.ndarray]:
    """A photo crop inside a smoothed random star: a non-convex outline with a soft edge."""
    w, h = size
    x, y, bw, bh = syn._box(rng, size, 0.3, 0.7)
    lobes = int(rng.integers(3, 7))
    depth = float(rng.uniform(0.15, 0.4))
    phase = float(rng.uniform(0, 2 * np.pi))
    wobble = rng.uniform(-0.08, 0.08, 4)

    def draw(d: ImageDraw.ImageDraw, s: int) -> None:
        t = np.linspace(0, 2 * np.pi, 256, endpoint=False)
        r = 1 - depth * (0.5 + 0.5 * np.cos(lobes * t + phase))
        r += sum(a * np.cos((k + 2) * t) for k, a in enumerate(wobble))
        r = r / r.max()
        px = (0.5 + 0.5 * r * np.cos(t)) * (bw * s - 1)
        py = (0.5 + 0.5 * r * np.sin(t)) * (bh * s - 1)
        d.polygon(list(zip(px.tolist(), py.tolist())), fill=255)

    alpha = syn._aa_mask(bw, bh, draw)
    return "blob", syn._place(size, x, y, syn._photo_crop(rng, bw, bh), alpha)


def _framed(rng: np.random.Generator, size: syn.Canvas) -> tuple[str, np.ndarray]:
    kind, rgba = syn.photo(rng, size, [])
    return kind.replace("photo:", "photo-"), rgba


def _logo(rng: np.random.Generator, size: syn.Canvas) -> tuple[str, np.ndarray]:
    w, h = size
    side = max(48, round(min(w, h) * rng.uniform(0.3, 0.6)))
    x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
    art = Image.fromarray(syn._photo("logo")).resize((side, side), Image.Resampling.LANCZOS)
    rgba = np.asarray(art)
    return "logo", syn._place(size, x, y, rgba[:, :, :3], rgba[:, :, 3])


OBJECTS = {"blob": _blob, "photo": _framed, "logo": _logo}
OBJECT_WEIGHTS = {"blob": 0.45, "photo": 0.4, "logo": 0.15}


def object_sample(seed: int, index: int) -> ObjectSample:
    """Sample `index` of the synthetic object set `seed`."""
    rng = np.random.default_rng([seed, index, 16])
    size = syn.canvas_size(rng)
    palette = syn._palette(rng)
    bg_kind, bottom = syn.background(rng, size, palette)
    background = bottom[:, :, :3].copy()
    w, h = size
    if rng.random() < NO_OBJECT:
        return ObjectSample(f"obj_{seed}_{index:04d}", background, np.zeros((h, w), np.uint8),
                            background, f"none-on-{bg_kind}")  # fmt: skip
    names = list(OBJECT_WEIGHTS)
    p = np.array([OBJECT_WEIGHTS[n] for n in names])
    name = str(rng.choice(names, p=p / p.sum()))
    kind, layer = OBJECTS[name](rng, size)
    a = layer[:, :, 3:4].astype(np.float32) / 255.0
    rgb = np.rint(layer[:, :, :3] * a + background * (1.0 - a)).astype(np.uint8)
    return ObjectSample(f"obj_{seed}_{index:04d}", rgb, layer[:, :, 3].copy(), background,
                        f"{kind}-on-{bg_kind}")  # fmt: skip


def psd_object(folder: Path) -> ObjectSample | None:
    """The object of a converted PSD sample: everything above its opaque bottom layer."""
    sample = read_sample(Path(folder))
    layers = sample.layers
    if len(layers) < 2 or layers[0][:, :, 3].min() < 255:
        return None
    rgb = sample.composite[:, :, :3].copy()
    covered = np.zeros(rgb.shape[:2], np.float32)
    for layer in layers[1:]:
        a = layer[:, :, 3].astype(np.float32) / 255.0
        covered = covered + a * (1.0 - covered)
    alpha = np.rint(covered * 255).astype(np.uint8)
    return ObjectSample(Path(folder).name, rgb, alpha, layers[0][:, :, :3].copy(), "psd")


def _boundary(mask: np.ndarray) -> np.ndarray:
    eroded = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8), borderValue=0)
    return mask & (eroded == 0)


def mask_scores(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """IoU and boundary F-score of two mattes (HxW, any range where > half means inside;
    uint8 is read as 0..255). Both empty: 1.0 each (nothing was there, nothing was found)."""
    p = _binary(pred)
    t = _binary(true)
    union = int((p | t).sum())
    if union == 0:
        return {"iou": 1.0, "boundary_f": 1.0}
    iou = int((p & t).sum()) / union
    if not p.any() or not t.any():
        return {"iou": iou, "boundary_f": 0.0}
    h, w = t.shape
    tol = max(1.0, BOUNDARY_TOLERANCE * float(np.hypot(h, w)))
    bp, bt = _boundary(p), _boundary(t)
    dist_to_t = cv2.distanceTransform((~bt).astype(np.uint8), cv2.DIST_L2, 3)
    dist_to_p = cv2.distanceTransform((~bp).astype(np.uint8), cv2.DIST_L2, 3)
    precision = float((dist_to_t[bp] <= tol).mean())
    recall = float((dist_to_p[bt] <= tol).mean())
    f = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"iou": iou, "boundary_f": f}


def _binary(matte: np.ndarray) -> np.ndarray:
    values = matte.astype(np.float32)
    if matte.dtype == np.uint8:
        values = values / 255.0
    return values > 0.5
