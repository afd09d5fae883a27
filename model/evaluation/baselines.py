"""Reference predictors that bracket what a decomposer should reach on a dataset.

- `gt`: the ground truth itself (the ceiling: L1 0, IoU 1, by construction of the metric);
- `single`: the whole image as one layer (what "no decomposition" scores);
- `simulated`: the ground truth degraded the way a model degrades it, brought back by
  refinement or a plain resize (model/evaluation/simulate.py; measures model/refine);
- `kmeans`: plain colour clustering, one layer per cluster with a hard alpha; the largest cluster
  is the bottom layer, its holes filled with its mean colour, so the stack rebuilds the input.

`single` and `kmeans` follow the decomposer interface (model/base.py), so the runner treats them
exactly like a real backend; `gt` needs the sample and is special-cased by the runner.
"""

from __future__ import annotations

import numpy as np

from model.base import (
    Availability,
    CancelToken,
    DecomposedLayer,
    DecomposeOptions,
    DecomposeResult,
    ProgressCallback,
    as_rgba,
)

BASELINES = ("gt", "single", "kmeans", "simulated")
KMEANS_DEFAULT_LAYERS = 4
_FIT_PIXELS = 20_000
_ITERATIONS = 12


class SingleLayer:
    name = "single"
    description = "the whole image as one layer (reference, not a decomposer)"

    def availability(self, options: DecomposeOptions | None = None) -> Availability:
        return Availability(True, "a reference predictor, always available")

    def decompose(
        self,
        rgba: np.ndarray,
        options: DecomposeOptions,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> DecomposeResult:
        image = as_rgba(rgba)
        return DecomposeResult([DecomposedLayer(image.copy(), "image")], backend=self.name)


def kmeans_labels(rgb: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Cluster index per pixel (HxW int) by Lloyd's k-means on colour, k-means++ start,
    fitted on a fixed random subset of pixels."""
    pixels = rgb.reshape(-1, 3).astype(np.float32)
    rng = np.random.default_rng(seed)
    fit = pixels[rng.choice(len(pixels), min(_FIT_PIXELS, len(pixels)), replace=False)]
    centres = [fit[int(rng.integers(len(fit)))]]
    for _ in range(1, k):
        dist = np.min([((fit - c) ** 2).sum(axis=1) for c in centres], axis=0)
        if dist.sum() <= 0:
            break  # fewer distinct colours than k
        centres.append(fit[int(rng.choice(len(fit), p=dist / dist.sum()))])
    centre_arr = np.array(centres, np.float32)
    for _ in range(_ITERATIONS):
        nearest = _nearest(fit, centre_arr)
        for c in range(len(centre_arr)):
            members = fit[nearest == c]
            if len(members):
                centre_arr[c] = members.mean(axis=0)
    return _nearest(pixels, centre_arr).reshape(rgb.shape[:2])


def _nearest(pixels: np.ndarray, centres: np.ndarray) -> np.ndarray:
    # |p - c|^2 = |p|^2 - 2 p.c + |c|^2; |p|^2 is the same for every centre
    score = (centres**2).sum(axis=1)[None, :] - 2.0 * pixels @ centres.T
    return np.argmin(score, axis=1)


class ColourClusters:
    name = "kmeans"
    description = "k-means on colour, one hard-alpha layer per cluster (reference)"

    def availability(self, options: DecomposeOptions | None = None) -> Availability:
        return Availability(True, "a reference predictor, always available")

    def decompose(
        self,
        rgba: np.ndarray,
        options: DecomposeOptions,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> DecomposeResult:
        image = as_rgba(rgba)
        k = max(1, options.layers or KMEANS_DEFAULT_LAYERS)
        labels = kmeans_labels(image[:, :, :3], k, options.seed or 0)
        counts = np.bincount(labels.reshape(-1), minlength=k)
        order = [c for c in np.argsort(-counts, kind="stable") if counts[c] > 0]
        layers = []
        for rank, cluster in enumerate(order):
            mine = labels == cluster
            layer = np.zeros_like(image)
            if rank == 0:
                fill = image[:, :, :3][mine].mean(axis=0)
                layer[:, :, :3] = np.rint(fill).astype(np.uint8)
                layer[mine, :3] = image[mine, :3]
                layer[:, :, 3] = image[:, :, 3]
            else:
                layer[mine] = image[mine]
            layers.append(DecomposedLayer(layer, f"colour {rank}"))
        return DecomposeResult(layers, backend=self.name)
