"""From a hard mask to a soft alpha matte, and the object's own colour at its edge.

The mask's boundary becomes a trimap band (its width a share of the object's size), matted
by ViTMatte (transformers' VitMatteForImageMatting) when its weights are loaded, otherwise by
the closed-form matting the classic decomposer uses (pymatting's estimate_alpha_cf, as
model/classic/subject.py). Work happens on
a crop around the object, at most MATTE_SIDE pixels on its longer side.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

MATTE_SIDE = 640  # closed-form matting's working size (its cost grows with the band's pixels)
VITMATTE_SIDE = 1024
MARGIN = 0.1  # of the object's longer side, around it in the crop


def crop_box(mask: np.ndarray, margin: float = MARGIN) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) around the mask's pixels plus a margin, inside the picture."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    h, w = mask.shape
    pad = max(4, round(margin * max(np.ptp(ys) + 1, np.ptp(xs) + 1)))
    return (max(0, ys.min() - pad), min(h, ys.max() + 1 + pad),
            max(0, xs.min() - pad), min(w, xs.max() + 1 + pad))


def trimap(mask: np.ndarray, band: int) -> np.ndarray:
    """1 inside (the mask eroded by `band`), 0 outside (dilated), 0.5 in between."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    m = mask.astype(np.uint8)
    out = np.full(mask.shape, 0.5, np.float64)
    out[cv2.erode(m, kernel) > 0] = 1.0
    out[cv2.dilate(m, kernel) == 0] = 0.0
    return out


class VitMatter:
    """ViTMatte loaded from a folder of safetensors weights."""

    def __init__(self, folder: str | Path) -> None:
        from transformers import VitMatteForImageMatting, VitMatteImageProcessor

        self.model = VitMatteForImageMatting.from_pretrained(
            str(folder), local_files_only=True, use_safetensors=True
        ).eval()
        try:
            self.processor = VitMatteImageProcessor.from_pretrained(str(folder),
                                                                    local_files_only=True)
        except OSError:
            self.processor = VitMatteImageProcessor()

    def __call__(self, rgb: np.ndarray, tri: np.ndarray) -> np.ndarray:
        import torch

        h, w = tri.shape
        inputs = self.processor(images=rgb, trimaps=np.rint(tri * 255).astype(np.uint8),
                                return_tensors="pt")
        with torch.inference_mode():
            alphas = self.model(pixel_values=inputs["pixel_values"]).alphas
        return alphas[0, 0, :h, :w].float().numpy()


def _closed_form(rgb01: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """pymatting's closed-form matting, as the classic decomposer uses it (subject.py)."""
    from pymatting import estimate_alpha_cf

    try:
        return estimate_alpha_cf(np.clip(rgb01, 0.0, 1.0), tri).astype(np.float32)
    except Exception:  # the solver can fail on degenerate trimaps; keep the mask
        return (tri >= 0.5).astype(np.float32)


def band_width(mask_shape: tuple[int, int], box: tuple[int, int, int, int]) -> float:
    """The trimap band's half width in picture pixels: 5% of the object's size, and at least
    1.5 cells of the decoder's 256x256 mask grid (its masks are that coarse)."""
    y0, y1, x0, x1 = box
    return max(3.0, 0.05 * max(y1 - y0, x1 - x0) / (1 + 2 * MARGIN),
               1.5 * max(mask_shape) / 256)


def matte(rgb: np.ndarray, mask: np.ndarray, matter: VitMatter | None = None) -> np.ndarray:
    """Soft alpha (float32 0..1, the picture's size) for the object `mask` covers in `rgb`
    (HxWx3 uint8). Outside the crop around the mask alpha is 0; deep inside it is 1."""
    h, w = mask.shape
    alpha = np.zeros((h, w), np.float32)
    box = crop_box(mask)
    if box is None:
        return alpha
    y0, y1, x0, x1 = box
    crop_rgb, crop_mask = rgb[y0:y1, x0:x1, :3], mask[y0:y1, x0:x1]
    ch, cw = crop_mask.shape
    side = VITMATTE_SIDE if matter is not None else MATTE_SIDE
    k = min(1.0, side / max(ch, cw))
    size = (max(2, round(cw * k)), max(2, round(ch * k)))
    small_rgb = cv2.resize(crop_rgb, size, interpolation=cv2.INTER_AREA) if k < 1 else crop_rgb
    small_mask = cv2.resize(crop_mask.astype(np.uint8), size,
                            interpolation=cv2.INTER_NEAREST) > 0 if k < 1 else crop_mask
    tri = trimap(small_mask, max(2, round(band_width(mask.shape, box) * k)))
    if not (tri == 1.0).any() or not (tri == 0.0).any():
        est = small_mask.astype(np.float32)  # too thin (or too large) for a band: the mask
    elif matter is not None:
        est = np.clip(matter(small_rgb, tri), 0.0, 1.0)
        est = np.where(tri == 1.0, 1.0, np.where(tri == 0.0, 0.0, est))
    else:
        est = _closed_form(small_rgb.astype(np.float64) / 255.0, tri)
    if k < 1:
        est = cv2.resize(est.astype(np.float32), (cw, ch), interpolation=cv2.INTER_LINEAR)
    est = np.clip(est, 0.0, 1.0).astype(np.float32)
    est[est < 0.01] = 0.0
    alpha[y0:y1, x0:x1] = est
    return alpha


def foreground(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The object's own colour (uint8) where alpha is soft, so that no background colour (dark
    or light) shows as a fringe when the object is put on something else: pymatting's
    multi-level foreground estimate on the crop around the object."""
    from pymatting import estimate_foreground_ml

    out = np.array(rgb[:, :, :3], copy=True)
    box = crop_box(alpha > 0, margin=0.02)
    if box is None:
        return out
    y0, y1, x0, x1 = box
    fg = estimate_foreground_ml(rgb[y0:y1, x0:x1, :3].astype(np.float64) / 255.0,
                                alpha[y0:y1, x0:x1].astype(np.float64))
    out[y0:y1, x0:x1] = np.clip(np.rint(fg * 255.0), 0, 255).astype(np.uint8)
    return out


def cutout(rgb: np.ndarray, mask: np.ndarray, matter: VitMatter | None = None
           ) -> np.ndarray:
    """The object as an RGBA layer (uint8, straight alpha, the picture's size)."""
    alpha = matte(rgb, mask, matter)
    out = np.zeros((*mask.shape, 4), np.uint8)
    out[:, :, :3] = foreground(rgb, alpha)
    out[:, :, 3] = np.rint(alpha * 255.0).astype(np.uint8)
    return out
