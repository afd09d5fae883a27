"""Multi-scale patch-based hole filling, compiled with numba (the kernels of `fill.py`).

Wexler, Shechtman and Irani (2007), "Space-time completion of video": coarse-to-fine, at every
level a few rounds of (1) find for every patch that touches the hole its nearest neighbour
among the patches of the known area, (2) set each hole pixel to the weighted mean of what the
patches covering it say. The nearest-neighbour field is found with PatchMatch (Barnes et al.
2009): scan-order propagation of the neighbours' matches, alternating direction, and a random
search at halving radii; it is carried from each level to the next finer one. Written from
the papers' descriptions.

Sources are patches wholly outside the hole grown by a margin, so nothing of the object or its
anti-aliased rim is copied back in. Patch centres stay `r` pixels inside the picture (every
pixel is still covered by some patch), so nothing is padded.
"""

from __future__ import annotations

import cv2
import numpy as np
from numba import njit

PATCH = 7  # patch side (odd)
COARSE_SIDE = 32  # the pyramid stops when the shorter side would fall under this
SEARCH_SIDE = 512  # matches are searched on levels whose longer side is at most this
COARSE_ROUNDS = 5  # EM rounds per searched level
FINE_ROUNDS = 2  # ... on the finest searched level; above it matches are only carried
MIN_SOURCES = 64  # fewer source patches than this: not enough to copy from


@njit(cache=True)
def _distance(img, ty, tx, sy, sx, r, limit):
    d = 0.0
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            for c in range(3):
                e = img[ty + dy, tx + dx, c] - img[sy + dy, sx + dx, c]
                d += e * e
        if d >= limit:
            return d
    return d


@njit(cache=True)
def _seed(seed):
    np.random.seed(seed)


@njit(cache=True)
def _random_source(src_y, src_x):
    k = np.random.randint(0, src_y.size)
    return src_y[k], src_x[k]


@njit(cache=True)
def _init_distances(img, ty, tx, ny, nx, nd, r):
    for k in range(ty.size):
        y, x = ty[k], tx[k]
        nd[y, x] = _distance(img, y, x, ny[y, x], nx[y, x], r, np.inf)


@njit(cache=True)
def _patchmatch(img, source, is_target, ty, tx, ny, nx, nd, r, reverse):
    """One PatchMatch pass over the targets (scan order, or reversed): propagation from the
    two already-visited neighbours, then a random search around the current match."""
    h, w = source.shape
    n = ty.size
    step = -1 if reverse else 1
    radius0 = max(h, w)
    for i in range(n):
        k = n - 1 - i if reverse else i
        y, x = ty[k], tx[k]
        for oy, ox in ((0, -step), (-step, 0)):
            py, px = y + oy, x + ox
            if is_target[py, px]:
                cy, cx = ny[py, px] - oy, nx[py, px] - ox
                if 0 <= cy < h and 0 <= cx < w and source[cy, cx]:
                    d = _distance(img, y, x, cy, cx, r, nd[y, x])
                    if d < nd[y, x]:
                        nd[y, x], ny[y, x], nx[y, x] = d, cy, cx
        radius = radius0
        by, bx = ny[y, x], nx[y, x]
        while radius >= 1:
            cy = by + np.random.randint(-radius, radius + 1)
            cx = bx + np.random.randint(-radius, radius + 1)
            if 0 <= cy < h and 0 <= cx < w and source[cy, cx]:
                d = _distance(img, y, x, cy, cx, r, nd[y, x])
                if d < nd[y, x]:
                    nd[y, x], ny[y, x], nx[y, x] = d, cy, cx
            radius //= 2


@njit(cache=True)
def _vote(img, hole, ty, tx, ny, nx, nd, r, sigma2):
    """Each hole pixel: the mean of what the matched patches covering it say, weighted by how
    well each patch matched (exp(-d / 2 sigma^2), Wexler et al.)."""
    h, w = hole.shape
    acc = np.zeros((h, w, 3), np.float32)
    total = np.zeros((h, w), np.float32)
    for k in range(ty.size):
        y, x = ty[k], tx[k]
        weight = np.exp(-nd[y, x] / (2.0 * sigma2))
        sy, sx = ny[y, x], nx[y, x]
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                if hole[y + dy, x + dx]:
                    total[y + dy, x + dx] += weight
                    for c in range(3):
                        acc[y + dy, x + dx, c] += weight * img[sy + dy, sx + dx, c]
    out = img.copy()
    for y in range(h):
        for x in range(w):
            if hole[y, x] and total[y, x] > 0:
                for c in range(3):
                    out[y, x, c] = acc[y, x, c] / total[y, x]
    return out


@njit(cache=True)
def _copy_centres(img, hole, ty, tx, ny, nx):
    """Each hole pixel that is a patch centre takes its match's centre pixel as it is: the
    last step at full size, since a mean of patches loses the grain (noise, film grain, fine
    texture) and reads as a smooth blob against the picture around it."""
    out = img.copy()
    for k in range(ty.size):
        y, x = ty[k], tx[k]
        if hole[y, x]:
            for c in range(3):
                out[y, x, c] = img[ny[y, x], nx[y, x], c]
    return out


@njit(cache=True)
def _onion(img, hole, src_y, src_x, r):
    """The coarsest level's first fill, from the outside in (onion peel): each pixel on the
    hole's current rim takes the centre of the source patch that best matches its known
    neighbourhood (all sources tried). Structure continues from the rim inward, where a smooth
    first guess would make every later match prefer smooth patches."""
    h, w = hole.shape
    unknown = hole.copy()
    ring_y = np.empty(h * w, np.int64)
    ring_x = np.empty(h * w, np.int64)
    while True:
        n = 0
        for y in range(h):
            for x in range(w):
                if unknown[y, x]:
                    for oy in range(-1, 2):
                        for ox in range(-1, 2):
                            yy, xx = y + oy, x + ox
                            if 0 <= yy < h and 0 <= xx < w and not unknown[yy, xx]:
                                ring_y[n], ring_x[n] = y, x
                                n += 1
                                break
                        else:
                            continue
                        break
        if n == 0:
            return img
        for k in range(n):
            y, x = ring_y[k], ring_x[k]
            cy, cx = min(max(y, r), h - 1 - r), min(max(x, r), w - 1 - r)
            best, by, bx = np.inf, -1, -1
            for j in range(src_y.size):
                sy, sx = src_y[j], src_x[j]
                d, count = 0.0, 0
                for dy in range(-r, r + 1):
                    for dx in range(-r, r + 1):
                        if not unknown[cy + dy, cx + dx]:
                            count += 1
                            for c in range(3):
                                e = img[cy + dy, cx + dx, c] - img[sy + dy, sx + dx, c]
                                d += e * e
                if count > 0:
                    d /= count
                    if d < best:
                        best, by, bx = d, sy, sx
            if by >= 0:
                for c in range(3):
                    img[y, x, c] = img[by + y - cy, bx + x - cx, c]
        for k in range(n):
            unknown[ring_y[k], ring_x[k]] = False


@njit(cache=True)
def _carry(ty, tx, coarse_target, cny, cnx, source, src_y, src_x, sy, sx, ny, nx):
    """The finer level's matches from the coarser level's (coordinates scaled); a random
    source where the coarse pixel had no match or the carried one is not a source."""
    ch, cw = coarse_target.shape
    h, w = source.shape
    for k in range(ty.size):
        y, x = ty[k], tx[k]
        cy = min(int(y / sy), ch - 1)
        cx = min(int(x / sx), cw - 1)
        ok = False
        if coarse_target[cy, cx]:
            my = int(round(cny[cy, cx] * sy + (y - cy * sy)))
            mx = int(round(cnx[cy, cx] * sx + (x - cx * sx)))
            if 0 <= my < h and 0 <= mx < w and source[my, mx]:
                ny[y, x], nx[y, x] = my, mx
                ok = True
        if not ok:
            ny[y, x], nx[y, x] = _random_source(src_y, src_x)


def _grid(hole: np.ndarray, margin: int, r: int) -> tuple[np.ndarray, np.ndarray]:
    """(source centres, target centres) of one level, as boolean maps."""
    h, w = hole.shape
    side = 2 * r + 1
    inner = np.zeros((h, w), bool)
    inner[r : h - r, r : w - r] = True
    near = cv2.dilate(hole.astype(np.uint8), np.ones((side, side), np.uint8)) > 0
    grown = hole
    if margin > 0:
        grown = cv2.dilate(hole.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
    blocked = cv2.dilate(grown.astype(np.uint8), np.ones((side, side), np.uint8)) > 0
    return inner & ~blocked, inner & near


def _pyramid(rgb: np.ndarray, hole: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    levels = [(rgb, hole)]
    h, w = hole.shape
    while min(h, w) // 2 >= COARSE_SIDE:
        h, w = h // 2, w // 2
        image = cv2.resize(levels[-1][0], (w, h), interpolation=cv2.INTER_AREA)
        small = cv2.resize(hole.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 0
        levels.append((image, small))
    return levels


def patch_fill(
    rgb: np.ndarray, hole: np.ndarray, start: np.ndarray, margin: int = 0, seed: int = 0
) -> np.ndarray | None:
    """`rgb` (HxWx3 float32 in [0, 1]) with `hole` filled by patches of the rest; `start` is a
    smooth first guess of the hole (used at the coarsest level). Sources keep `margin` pixels
    (at full size) away from the hole. None when the picture is too small or has too little
    known area to copy from."""
    r = PATCH // 2
    levels = _pyramid(rgb.astype(np.float32), hole)
    _seed(seed)
    previous = None
    current: np.ndarray | None = None
    for depth in range(len(levels) - 1, -1, -1):
        image, small_hole = levels[depth]
        h, w = small_hole.shape
        if min(h, w) < 2 * r + 1:
            continue
        guess = start if current is None else current
        guess = cv2.resize(guess, (w, h), interpolation=cv2.INTER_LINEAR)
        img = np.ascontiguousarray(np.where(small_hole[:, :, None], guess, image), np.float32)
        source, target = _grid(small_hole, max(1, round(margin / 2**depth)), r)
        src_y, src_x = np.nonzero(source)
        ty, tx = np.nonzero(target)
        if src_y.size < MIN_SOURCES:  # too coarse to copy from: start at a finer level
            continue
        if ty.size == 0:
            current, previous = img, None
            continue
        ny = np.full((h, w), -1, np.int64)
        nx = np.full((h, w), -1, np.int64)
        if current is None:
            img = _onion(img, small_hole, src_y, src_x, r)
        if previous is None:
            pick = np.random.default_rng(seed).integers(0, src_y.size, ty.size)
            ny[ty, tx], nx[ty, tx] = src_y[pick], src_x[pick]
        else:
            coarse_target, cny, cnx = previous
            sy, sx = h / coarse_target.shape[0], w / coarse_target.shape[1]
            _carry(ty, tx, coarse_target, cny, cnx, source, src_y, src_x, sy, sx, ny, nx)
        nd = np.full((h, w), np.inf, np.float64)
        if previous is not None:
            # the carried matches paint this level's first guess from its own pixels, so the
            # search starts from texture, not from an upsampled blur that smooth patches match
            img = _vote(img, small_hole, ty, tx, ny, nx, np.zeros_like(nd), r, 1.0)
        _init_distances(img, ty, tx, ny, nx, nd, r)
        searched = max(h, w) <= SEARCH_SIDE
        rounds = (FINE_ROUNDS if max(h, w) * 2 > SEARCH_SIDE else COARSE_ROUNDS) if searched else 0
        for round_ in range(rounds):
            _patchmatch(img, source, target, ty, tx, ny, nx, nd, r, round_ % 2 == 1)
            sigma2 = max(float(np.percentile(nd[ty, tx], 75)), 1e-6)
            img = _vote(img, small_hole, ty, tx, ny, nx, nd, r, sigma2)
            _init_distances(img, ty, tx, ny, nx, nd, r)
        if depth == 0:
            if searched:
                _patchmatch(img, source, target, ty, tx, ny, nx, nd, r, rounds % 2 == 1)
            img = _copy_centres(img, small_hole, ty, tx, ny, nx)
        current, previous = img, (target, ny, nx)
    if current is None or current.shape[:2] != hole.shape:
        return None  # the finest level had too little to copy from
    return np.where(hole[:, :, None], current, rgb).astype(np.float32)
