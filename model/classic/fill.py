"""Filling a hole in a photo or texture with patches of its own surroundings.

Coarse-to-fine patch-based completion in the manner of Wexler et al. (2007), with a
randomised nearest-neighbour search in the manner of PatchMatch (Barnes et al., 2009),
written from those papers' descriptions and vectorised with numpy:

- a pyramid of the picture; at the coarsest level the hole starts as a push-pull fill (each
  level averages the known pixels of the level below), so large structures come from far away
  without the radial streaks of front-propagating inpainting;
- at every level, a few rounds of: for every pixel whose patch touches the hole, find a patch
  of the known area that looks like it (propagation from the neighbours' matches plus a random
  search at shrinking radii), then set each hole pixel to the mean of what the patches that
  cover it say;
- the matches are carried to the next finer level, so texture detail is copied, not blurred.

`fill_hole` is the one entry point (the decomposer's texture fill and the editor's extract use
it; a learned inpainting model can replace it here). It chooses between two implementations:
- `patchfill.patch_fill` (numba, 7x7 patches, matches searched at every level up to the full
  working size, an onion-peel start at the coarsest level, the grain copied at full size): the
  default, since it keeps a photo's texture where the hole is large;
- `vectorised_fill` below (numpy, matches searched only up to 256 px and copied above): the
  earlier fill, kept as the fallback and for comparison (notes/photo.md: on held-out photo
  backgrounds the patch fill's gradient statistics are closer to the truth, its nearest-patch
  distance is not).
"""

from __future__ import annotations

import cv2
import numpy as np

PATCH = 5  # patch side (odd) where matches are searched
COPY_PATCH = 3  # patch side at the finer levels, where the matches are only carried and copied
SEARCH_SIDE = 256  # matches are searched on levels whose longer side is at most this
COARSE_SIDE = 24  # the pyramid stops when the shorter side would fall under this
ROUNDS = 4  # EM rounds on a searched level
FINE_ROUNDS = 2  # ... on the finest searched level (its longer side > SEARCH_SIDE / 2)


def push_pull(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The hole filled smoothly: each level down averages the known pixels, each level up
    fills the still-unknown pixels from the coarser level."""
    weight = (~hole).astype(np.float32)
    if not weight.any():
        return np.broadcast_to(rgb.reshape(-1, 3).mean(axis=0), rgb.shape).astype(np.float32)
    values = rgb.astype(np.float32) * weight[:, :, None]
    stack = [(values, weight)]
    while min(values.shape[:2]) > 1:
        h, w = values.shape[:2]
        size = (max(1, (w + 1) // 2), max(1, (h + 1) // 2))
        values = cv2.resize(values, size, interpolation=cv2.INTER_AREA)
        weight = cv2.resize(weight, size, interpolation=cv2.INTER_AREA)
        stack.append((values, weight))
    fill = stack[-1][0] / np.maximum(stack[-1][1], 1e-6)[:, :, None]
    for values, weight in reversed(stack[:-1]):
        h, w = weight.shape
        up = cv2.resize(fill, (w, h), interpolation=cv2.INTER_LINEAR)
        known = np.clip(weight, 0.0, 1.0)[:, :, None]
        fill = values / np.maximum(weight, 1e-6)[:, :, None] * known + up * (1.0 - known)
    return fill.astype(np.float32)


class _Level:
    """One pyramid level, padded by the patch radius so every patch lies inside the array."""

    def __init__(self, rgb: np.ndarray, hole: np.ndarray, r: int) -> None:
        self.r = r
        self.h, self.w = hole.shape
        self.image = cv2.copyMakeBorder(rgb, r, r, r, r, cv2.BORDER_REFLECT).astype(np.float32)
        self.hole = cv2.copyMakeBorder(hole.astype(np.uint8), r, r, r, r, cv2.BORDER_REFLECT) > 0
        self.pw = self.w + 2 * r
        side = 2 * r + 1
        known = (~self.hole).astype(np.uint8)
        # a source patch must be wholly known; its centre must be inside the picture
        source = cv2.erode(known, np.ones((side, side), np.uint8), borderValue=0) > 0
        inner = np.zeros_like(source)
        inner[r : r + self.h, r : r + self.w] = True
        self.source = source & inner
        self.source_flat = np.flatnonzero(self.source)
        touched = cv2.dilate(self.hole.astype(np.uint8), np.ones((side, side), np.uint8)) > 0
        # the centres of the patches that overlap the hole
        self.target = np.flatnonzero(touched & inner)
        dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
        self.offsets = (dy * self.pw + dx).ravel()

    def patches(self, centres: np.ndarray) -> np.ndarray:
        flat = self.image.reshape(-1, 3)
        return flat[centres[:, None] + self.offsets[None, :]]

    def distance(self, target_patches: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        diff = target_patches - self.patches(candidates)
        return np.einsum("npc,npc->n", diff, diff)

    def valid(self, candidates: np.ndarray) -> np.ndarray:
        inside = (candidates >= 0) & (candidates < self.source.size)
        ok = np.zeros(candidates.shape, bool)
        ok[inside] = self.source.reshape(-1)[candidates[inside]]
        return ok


def _search(level: _Level, nnf: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Improve the match of every target patch: neighbours' matches shifted, then random
    tries around the current match at shrinking radii."""
    target = level.target
    target_patches = level.patches(target)
    best = level.distance(target_patches, nnf)
    position = np.full(level.image.shape[0] * level.pw, -1, np.int64)
    position[target] = np.arange(target.size)

    def consider(candidates: np.ndarray) -> None:
        ok = level.valid(candidates)
        if not ok.any():
            return
        index = np.flatnonzero(ok)
        d = level.distance(target_patches[index], candidates[index])
        better = d < best[index]
        nnf[index[better]] = candidates[index[better]]
        best[index[better]] = d[better]

    for step in (1, -1, level.pw, -level.pw, 3, -3, 3 * level.pw, -3 * level.pw):
        neighbour = position[np.clip(target - step, 0, position.size - 1)]
        has = neighbour >= 0
        candidates = np.full(target.size, -1, np.int64)
        candidates[has] = nnf[neighbour[has]] + step
        consider(candidates)
    r = max(level.h, level.w)
    while r >= 1:
        jy = rng.integers(-r, r + 1, target.size)
        jx = rng.integers(-r, r + 1, target.size)
        consider(nnf + jy * level.pw + jx)
        r //= 3
    consider(rng.choice(level.source_flat, target.size))
    return nnf


def _vote(level: _Level, nnf: np.ndarray) -> np.ndarray:
    """Each hole pixel becomes the mean of the matched patches that cover it."""
    flat = level.image.reshape(-1, 3)
    where = (level.target[:, None] + level.offsets[None, :]).ravel()
    said = flat[(nnf[:, None] + level.offsets[None, :]).ravel()]
    count = np.bincount(where, minlength=flat.shape[0]).astype(np.float32)
    hole = np.flatnonzero(level.hole.reshape(-1) & (count > 0))
    out = flat.copy()
    for c in range(3):
        total = np.bincount(where, weights=said[:, c], minlength=flat.shape[0])
        out[hole, c] = total[hole] / count[hole]
    return out.reshape(level.image.shape)


def _crop(level: _Level, padded: np.ndarray) -> np.ndarray:
    r = level.r
    return padded[r : r + level.h, r : r + level.w]


def _carry(fine: _Level, coarse: _Level, coarse_nnf: np.ndarray) -> np.ndarray:
    """Matches of the finer level's targets from the coarser level's (coordinates doubled)."""
    sy, sx = fine.h / coarse.h, fine.w / coarse.w
    fy, fx = np.divmod(fine.target, fine.pw)
    cy = np.clip(((fy - fine.r) / sy).astype(np.int64), 0, coarse.h - 1) + coarse.r
    cx = np.clip(((fx - fine.r) / sx).astype(np.int64), 0, coarse.w - 1) + coarse.r
    lookup = np.full(coarse.image.shape[0] * coarse.pw, -1, np.int64)
    lookup[coarse.target] = coarse_nnf
    match = lookup[cy * coarse.pw + cx]
    has = match >= 0
    my, mx = np.divmod(np.where(has, match, 0), coarse.pw)
    # keep the fine pixel's position within its coarse cell
    ny = np.rint((my - coarse.r) * sy + (fy - fine.r) - (cy - coarse.r) * sy).astype(np.int64)
    nx = np.rint((mx - coarse.r) * sx + (fx - fine.r) - (cx - coarse.r) * sx).astype(np.int64)
    out = (ny + fine.r) * fine.pw + (nx + fine.r)
    return np.where(has, out, fine.target)


def _pyramid(rgb: np.ndarray, hole: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(picture, hole) from full size down, halving until the shorter side is small."""
    levels = [(rgb, hole)]
    h, w = hole.shape
    while min(h, w) // 2 >= COARSE_SIDE:
        h, w = h // 2, w // 2
        image = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 0
        levels.append((image, small_hole))
    return levels


def fill_hole(
    rgb: np.ndarray, hole: np.ndarray, seed: int = 0, margin: int = 0, method: str = "auto"
) -> np.ndarray:
    """`rgb` (HxWx3 float32 in [0, 1]) with the pixels under `hole` replaced by texture from
    the rest of the picture, never from within `margin` pixels of the hole. `method`: "patch"
    (numba, multi-scale; also "auto", the default) or "vectorised" (numpy, the earlier fill,
    also what "patch" falls back to when there is too little to copy from)."""
    rgb = rgb.astype(np.float32)
    if not hole.any():
        return rgb
    if method in ("auto", "patch"):
        from model.classic.patchfill import patch_fill  # numba: loaded on first use

        filled = patch_fill(rgb, hole, push_pull(rgb, hole), margin=margin, seed=seed)
        if filled is not None:
            return filled
    if margin > 0:
        grown = cv2.dilate(hole.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
        return np.where(hole[:, :, None], vectorised_fill(rgb, grown, seed), rgb)
    return vectorised_fill(rgb, hole, seed)


def vectorised_fill(rgb: np.ndarray, hole: np.ndarray, seed: int = 0) -> np.ndarray:
    """`rgb` (HxWx3 float32 in [0, 1]) with the pixels under `hole` replaced by texture from
    the rest of the picture. Matches are searched on the small levels and only carried and
    copied on the large ones, which keeps a 1024 px picture under a second. Falls back to the
    smooth push-pull fill where there is not enough known area to take patches from."""
    rgb = rgb.astype(np.float32)
    if not hole.any():
        return rgb
    smooth = push_pull(rgb, hole)
    pyramid = _pyramid(rgb, hole)
    rng = np.random.default_rng(seed)
    current: np.ndarray | None = None
    previous: tuple[_Level, np.ndarray] | None = None
    for image, small_hole in reversed(pyramid):
        search = max(image.shape[:2]) <= SEARCH_SIDE or previous is None
        last = image.shape == rgb.shape and previous is not None and not search
        r = (PATCH if search else 1 if last else COPY_PATCH) // 2
        h, w = small_hole.shape
        start = (
            cv2.resize(smooth, (w, h), interpolation=cv2.INTER_AREA)
            if current is None
            else cv2.resize(current, (w, h), interpolation=cv2.INTER_LINEAR)
        )
        level = _Level(np.where(small_hole[:, :, None], start, image), small_hole, r)
        if level.source_flat.size < 16 or level.target.size == 0:
            return np.where(hole[:, :, None], smooth, rgb)
        if previous is None:
            nnf = rng.choice(level.source_flat, level.target.size)
        else:
            nnf = _carry(level, *previous)
            bad = ~level.valid(nnf)
            nnf[bad] = rng.choice(level.source_flat, int(bad.sum()))
        fine = max(image.shape[:2]) > SEARCH_SIDE // 2
        rounds = (FINE_ROUNDS if fine else ROUNDS) if search else 1
        for _ in range(rounds):
            if search:
                nnf = _search(level, nnf, rng)
            level.image = _vote(level, nnf)
        current = _crop(level, level.image)
        previous = (level, nnf)
    assert current is not None
    return np.where(hole[:, :, None], current, rgb).astype(np.float32)
