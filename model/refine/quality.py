"""Reconstruction PSNR of a layer stack, accumulated band by band, the way
model/evaluation/metrics.py measures it (the 8-bit straight composite against the picture;
RGB when both are opaque, premultiplied RGBA otherwise; 100 dB when exact)."""

from __future__ import annotations

import math

import numpy as np

PSNR_CAP_DB = 100.0


def over_uint8(levels: np.ndarray, alphas8: np.ndarray) -> np.ndarray:
    """The straight 8-bit composite (4, h, w) of 8-bit layers, as model.evaluation.compose
    computes it (float32, premultiplied, bottom first)."""
    out = np.zeros((4,) + alphas8.shape[1:], np.float32)
    for colour, alpha in zip(levels, alphas8):
        a = alpha.astype(np.float32) * np.float32(1 / 255)
        out *= 1.0 - a
        out[:3] += colour.astype(np.float32) * np.float32(1 / 255) * a
        out[3] += a
    straight = np.zeros_like(out)
    np.divide(out[:3], out[3], out=straight[:3], where=out[3] > 0)
    straight[3] = out[3]
    return np.clip(np.rint(straight * 255), 0, 255).astype(np.uint8)


class Reconstruction:
    def __init__(self) -> None:
        self.pixels = 0
        self.exact = 0
        self.sse_rgb = 0.0
        self.sse_premul = 0.0
        self.opaque = True

    def add(self, picture: np.ndarray, recon: np.ndarray) -> None:
        """picture and recon: (4, h, w) uint8 straight RGBA."""
        self.pixels += picture.shape[1] * picture.shape[2]
        self.exact += int(np.all(picture == recon, axis=0).sum())
        if self.opaque and not (picture[3].min() == 255 and recon[3].min() == 255):
            self.opaque = False
        p = picture.astype(np.float64) / 255
        q = recon.astype(np.float64) / 255
        self.sse_rgb += float(((p[:3] - q[:3]) ** 2).sum())
        p[:3] *= p[3]
        q[:3] *= q[3]
        self.sse_premul += float(((p - q) ** 2).sum())

    def add_stats(self, stats: np.ndarray, width: int) -> None:
        """Rows of (exact pixels, RGB squared error, premultiplied squared error, not
        opaque) as kernels.solve_rows reports them."""
        self.pixels += stats.shape[0] * width
        self.exact += int(stats[:, 0].sum())
        self.sse_rgb += float(stats[:, 1].sum())
        self.sse_premul += float(stats[:, 2].sum())
        if stats[:, 3].any():
            self.opaque = False

    @property
    def psnr_db(self) -> float:
        if self.pixels == 0:
            return PSNR_CAP_DB
        if self.opaque:
            mse = self.sse_rgb / (3 * self.pixels)
        else:
            mse = self.sse_premul / (4 * self.pixels)
        if mse == 0.0:
            return PSNR_CAP_DB
        return min(PSNR_CAP_DB, 10.0 * math.log10(1.0 / mse))

    @property
    def exact_share(self) -> float:
        return self.exact / self.pixels if self.pixels else 1.0


def stack_psnr(picture: np.ndarray, layers: list[np.ndarray], band_pixels: int = 1 << 17) -> float:
    """Reconstruction PSNR of full-size uint8 layers against an RGBA uint8 picture, measured
    band by band (little memory at any size)."""
    height, width = picture.shape[:2]
    for layer in layers:
        if layer.shape != (height, width, 4) or layer.dtype != np.uint8:
            raise ValueError(f"layer {layer.dtype} {layer.shape} on a {width}x{height} picture")
    quality = Reconstruction()
    step = max(8, band_pixels // width)
    for y0 in range(0, height, step):
        rows = slice(y0, min(height, y0 + step))
        chunk = [layer[rows].transpose(2, 0, 1) for layer in layers]
        recon = over_uint8(np.stack([c[:3] for c in chunk]), np.stack([c[3] for c in chunk]))
        quality.add(picture[rows].transpose(2, 0, 1), recon)
    return quality.psnr_db
