"""The per-pixel work of refinement, compiled with numba (already a dependency, through
pymatting; compiled code is cached next to this file, as pymatting's is).

Each pixel needs short loops over the layers that see them all at once (transmittance,
composites above and below, the alpha estimate, a clipped least-change solve, rounding). As
numpy array code that was 1.7 s for a 1024x1024 stack of 6 layers and 21 s at 4096x4096;
fused into one pass per band of rows it keeps every intermediate in registers. The maths is
described in alpha.py (edges) and colour.py (colour solve).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

TOLERANCE = np.float32(0.5 / 255 + 2e-5)  # within half a grey level: already reproduced
INV255 = np.float32(1 / 255)
ROUNDS = 4  # clipping rounds of the colour solve; most pixels are exact after the first
ZERO = np.float32(0.0)
ONE = np.float32(1.0)


@njit(cache=True, inline="always")
def _clip01(value):
    return min(max(value, ZERO), ONE)


@njit(cache=True)
def _refine_edges(y, x, band, target, c, a, above, transmit, params, estimates, sigmas, scales,
                  belows):
    """The alpha the picture implies for each layer whose band covers pixel (y, x), that
    estimate's noise, its scale T |F - B| and the premultiplied colour below (estimates,
    sigmas, scales (n, h, w), belows (n, h, w, 3); sigma 0: no estimate), bottom first: each
    over the layers below as refined by this pixel's test alone (alpha.py)."""
    n = a.shape[0]
    noise, fit, gain, tail, tail_estimate = params[0], params[1], params[2], params[3], params[4]
    # the layers above each layer (premultiplied RGBA) and their transmittance
    u0 = u1 = u2 = u3 = ZERO
    t = ONE
    for k in range(n - 1, -1, -1):
        above[k, 0], above[k, 1], above[k, 2], above[k, 3] = u0, u1, u2, u3
        transmit[k] = t
        v = a[k] * t
        u0 += v * c[k, 0]
        u1 += v * c[k, 1]
        u2 += v * c[k, 2]
        u3 += v
        t *= ONE - a[k]
    b0 = b1 = b2 = b3 = ZERO  # the (refined) layers below, premultiplied RGBA
    for k in range(n):
        ak = a[k]
        if band[k, y, x] > 0:
            u0, u1, u2, u3 = above[k, 0], above[k, 1], above[k, 2], above[k, 3]
            t = transmit[k]
            f0, f1, f2 = c[k, 0], c[k, 1], c[k, 2]
            keep = ONE - ak
            reproduced = (
                abs(u0 + t * (b0 * keep + ak * f0) - target[0]) <= TOLERANCE
                and abs(u1 + t * (b1 * keep + ak * f1) - target[1]) <= TOLERANCE
                and abs(u2 + t * (b2 * keep + ak * f2) - target[2]) <= TOLERANCE
                and abs(u3 + t * (b3 * keep + ak) - target[3]) <= TOLERANCE
            )
            if not reproduced and t > 0:
                inv_t = ONE / max(t, np.float32(1e-4))
                s0 = (target[0] - u0) * inv_t - b0
                s1 = (target[1] - u1) * inv_t - b1
                s2 = (target[2] - u2) * inv_t - b2
                s3 = (target[3] - u3) * inv_t - b3
                d0, d1, d2, d3 = f0 - b0, f1 - b1, f2 - b2, ONE - b3
                spread = d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3
                if spread > 1e-6:
                    raw = (s0 * d0 + s1 * d1 + s2 * d2 + s3 * d3) / spread
                    e0, e1, e2, e3 = s0 - raw * d0, s1 - raw * d1, s2 - raw * d2, s3 - raw * d3
                    misfit = e0 * e0 + e1 * e1 + e2 * e2 + e3 * e3
                    sigma = np.sqrt(noise * noise + fit * misfit) / (t * np.sqrt(spread))
                    estimate = _clip01(raw * gain)
                    if raw < tail_estimate:
                        estimate = ZERO
                    estimates[k, y, x] = estimate
                    sigmas[k, y, x] = sigma
                    scales[k, y, x] = t * np.sqrt(spread)
                    belows[k, y, x, 0], belows[k, y, x, 1], belows[k, y, x, 2] = b0, b1, b2
                    bound = np.float32(band[k, y, x]) * INV255
                    weight = _clip01(abs(estimate - ak) / sigma - 1)
                    if weight > 0.5 and ak < tail and ak <= bound and raw < tail_estimate:
                        ak = ZERO
                    else:
                        ak = ak + min(max(weight * (estimate - ak), -bound), bound)
                    ak = np.rint(ak * 255) * INV255
                    a[k] = ak
        keep = ONE - ak
        b0 = b0 * keep + ak * c[k, 0]
        b1 = b1 * keep + ak * c[k, 1]
        b2 = b2 * keep + ak * c[k, 2]
        b3 = b3 * keep + ak


@njit(cache=True)
def _match_coverage(a, pa):
    """The stack's coverage made the picture's alpha pa (colour.py)."""
    n = a.shape[0]
    clear = ONE
    for k in range(n):
        clear *= ONE - a[k]
    coverage = ONE - clear
    if abs(coverage - pa) <= TOLERANCE:
        return
    if coverage < pa:
        # too transparent: the bottom layer fills in
        rest = clear / max(ONE - a[0], np.float32(1e-6))
        raised = _clip01(a[0] + (pa - coverage) / max(rest, np.float32(1e-6)))
        a[0] = np.rint(raised * 255) * INV255
    else:
        # too opaque: every layer's optical depth scaled by one factor
        depth = ZERO
        for k in range(n):
            depth += np.log(max(ONE - a[k], INV255))
        gamma = np.log(max(ONE - pa, np.float32(1e-6))) / min(depth, np.float32(-1e-6))
        for k in range(n):
            lowered = ONE - max(ONE - a[k], INV255) ** gamma
            a[k] = np.rint(_clip01(lowered) * 255) * INV255


@njit(cache=True)
def _solve_colour(target, c, a, seen, share):
    """Colours c[k, ch] changed least (weighted) so that the composite is target (colour.py)."""
    n = a.shape[0]
    t = ONE
    for k in range(n - 1, -1, -1):
        seen[k] = a[k] * t
        share[k] = seen[k] * t * t
        t *= ONE - a[k]
    for ch in range(3):
        residual = target[ch]
        for k in range(n):
            residual -= seen[k] * c[k, ch]
        for round_ in range(ROUNDS):
            if abs(residual) <= TOLERANCE:
                break
            total = ZERO
            for k in range(n):
                stuck = (c[k, ch] >= ONE and residual > 0) or (c[k, ch] <= ZERO and residual < 0)
                if round_ == 0 or not stuck:
                    total += seen[k] * share[k]
            if total <= 1e-12:
                break
            step = residual / total
            for k in range(n):
                stuck = (c[k, ch] >= ONE and residual > 0) or (c[k, ch] <= ZERO and residual < 0)
                if round_ == 0 or not stuck:
                    c[k, ch] = _clip01(c[k, ch] + share[k] * step)
            residual = target[ch]
            for k in range(n):
                residual -= seen[k] * c[k, ch]


@njit(cache=True)
def _store(y, x, c, a, stack):
    """The layers rounded to 8 bits; returns the most visible one."""
    n = a.shape[0]
    for k in range(n):
        stack[k, y, x, 3] = np.uint8(np.rint(a[k] * 255))
        for ch in range(3):
            stack[k, y, x, ch] = np.uint8(np.rint(c[k, ch] * 255))


@njit(cache=True)
def _round_exactly(y, x, picture, seen, stack, recon):
    """Where 8-bit rounding leaves the composite a level off (recon, computed as the
    evaluation does, differs from the picture), the most visible layer's level is set to the
    floor or ceiling of the value that would make it exact, whichever reproduces the picture
    (where that layer is barely seen it cannot help)."""
    n = seen.shape[0]
    top = 0
    for k in range(n):
        if seen[k] > seen[top]:
            top = k
    if seen[top] <= 0.25:
        return
    coverage = np.float64(picture[y, x, 3])
    for ch in range(3):
        if recon[ch] == picture[y, x, ch]:
            continue
        composite = 0.0
        for k in range(n):
            composite += np.float64(seen[k]) * np.float64(stack[k, y, x, ch])
        ideal = stack[top, y, x, ch] + (picture[y, x, ch] * coverage / 255 - composite) / seen[top]
        first = min(max(np.floor(ideal), 0.0), 255.0)
        second = min(max(np.ceil(ideal), 0.0), 255.0)
        if ideal - first > second - ideal:
            first, second = second, first
        stack[top, y, x, ch] = np.uint8(first)
        _over_straight(stack, y, x, recon)
        if recon[ch] != picture[y, x, ch] and second != first:
            stack[top, y, x, ch] = np.uint8(second)
            _over_straight(stack, y, x, recon)
            if recon[ch] != picture[y, x, ch]:
                stack[top, y, x, ch] = np.uint8(first)
                _over_straight(stack, y, x, recon)


@njit(cache=True)
def _over_straight(stack, y, x, out):
    """The 8-bit straight composite of one pixel, computed as model.evaluation.compose does
    (float32, premultiplied, bottom first)."""
    n = stack.shape[0]
    o0 = o1 = o2 = o3 = ZERO
    for k in range(n):
        a = np.float32(stack[k, y, x, 3]) * INV255
        keep = ONE - a
        o0 = o0 * keep + np.float32(stack[k, y, x, 0]) * INV255 * a
        o1 = o1 * keep + np.float32(stack[k, y, x, 1]) * INV255 * a
        o2 = o2 * keep + np.float32(stack[k, y, x, 2]) * INV255 * a
        o3 = o3 * keep + a
    if o3 > 0:
        o0, o1, o2 = o0 / o3, o1 / o3, o2 / o3
    else:
        o0 = o1 = o2 = ZERO
    out[0] = min(max(np.rint(o0 * np.float32(255)), 0.0), 255.0)
    out[1] = min(max(np.rint(o1 * np.float32(255)), 0.0), 255.0)
    out[2] = min(max(np.rint(o2 * np.float32(255)), 0.0), 255.0)
    out[3] = min(max(np.rint(o3 * np.float32(255)), 0.0), 255.0)


@njit(cache=True)
def _load(y, x, picture, stack, drift, has_drift, target, c, a):
    n = a.shape[0]
    pa = np.float32(picture[y, x, 3]) * INV255
    for ch in range(3):
        target[ch] = np.float32(picture[y, x, ch]) * INV255 * pa
    target[3] = pa
    for k in range(n):
        a[k] = np.float32(stack[k, y, x, 3]) * INV255
        for ch in range(3):
            value = np.float32(stack[k, y, x, ch]) * INV255
            if has_drift[k]:
                value = _clip01(value + drift[k, y, x, ch])
            c[k, ch] = value


@njit(cache=True, parallel=True)
def estimate_rows(picture, stack, drift, has_drift, band, params, estimates, sigmas, scales,
                  belows):
    """First pass over a band of rows: each layer's alpha estimate and its noise where its
    band is (see _refine_edges); sigmas stay 0 elsewhere."""
    n, height, width = stack.shape[:3]
    for y in prange(height):
        a = np.empty(n, np.float32)
        c = np.empty((n, 3), np.float32)
        above = np.empty((n, 4), np.float32)
        transmit = np.empty(n, np.float32)
        target = np.empty(4, np.float32)
        for x in range(width):
            for k in range(n):
                sigmas[k, y, x] = 0.0
                estimates[k, y, x] = 0.0
            edge = False
            for k in range(n):
                if band[k, y, x] > 0:
                    edge = True
            if not edge:
                continue
            _load(y, x, picture, stack, drift, has_drift, target, c, a)
            _refine_edges(y, x, band, target, c, a, above, transmit, params, estimates, sigmas,
                          scales, belows)


@njit(cache=True)
def _edge_below(k, y, x, sigmas, belows):
    """The largest step (any colour channel) from this pixel to a 4-neighbour in what lies
    below layer k (as resampled: an edge there is blurred)."""
    height, width = sigmas.shape[1], sigmas.shape[2]
    step = ZERO
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        yy, xx = y + dy, x + dx
        if 0 <= yy < height and 0 <= xx < width and sigmas[k, yy, xx] > 0:
            for ch in range(3):
                step = max(step, abs(belows[k, yy, xx, ch] - belows[k, y, x, ch]))
    return step


@njit(cache=True)
def _blend_edges(y, x, band, estimates, sigmas, changes, scales, belows, enlarged, a, params):
    """Alphas moved to their estimates where the change is significant over the pixel's 3x3
    neighbourhood (changes: the mean |estimate - resampled| there; it must exceed the
    estimate's noise: a lone noisy pixel does not pass, a blurred edge or a washed-out stroke
    does), by at most the band's bound (what resampling could have hidden,
    upsample.edge_band); on the 8-bit grid."""
    n = a.shape[0]
    tail, significance, detail, floor = params[3], params[5], params[6], params[7]
    for k in range(n):
        sigma = sigmas[k, y, x]
        if sigma <= 0:
            continue
        if enlarged[k] > 1 and detail > 0:
            # an edge below that resampling blurred shows sharp in the picture through a
            # soft layer: as strong as its contrast (about enlargement x step)
            contrast = enlarged[k] * _edge_below(k, y, x, sigmas, belows) - floor
            if contrast > 0:
                lost = detail * contrast * (ONE - a[k])
                sigma = np.sqrt(sigma * sigma + (lost / scales[k, y, x]) ** 2)
        bound = np.float32(band[k, y, x]) * INV255
        ak = a[k]
        estimate = estimates[k, y, x]
        weight = _clip01(changes[k, y, x] / sigma - significance)
        if weight > 0.5 and ak < tail and ak <= bound and estimate == 0:
            ak = ZERO
        else:
            change = weight * (estimate - ak)
            ak = ak + min(max(change, -bound), bound)
        a[k] = np.rint(ak * 255) * INV255


@njit(cache=True, parallel=True)
def refine_rows(picture, stack, drift, has_drift, band, estimates, sigmas, changes, scales,
                belows, enlarged, any_band, params, stats):
    """Refine one band of rows in place.

    picture (h, w, 4) uint8 straight RGBA; stack (n, h, w, 4) uint8, the resampled layers,
    overwritten with the refined ones; drift (n, h, w, 3) float32 colour corrections, used
    where has_drift[k]; band (n, h, w) uint8 (upsample.edge_band), estimates, sigmas,
    scales and belows from estimate_rows, changes their 3x3 mean |estimate - alpha| (only if
    any_band); params: noise, fit, 1 / (1 - snap), tail, tail
    estimate, significance (alpha.py).
    stats (h, 4) float64 per row: exact pixels, RGB and premultiplied RGBA squared error of
    the reconstruction (as model/evaluation measures it), 1 where the row is not opaque.
    """
    n, height, width = stack.shape[:3]
    drifting = False
    for k in range(n):
        if has_drift[k]:
            drifting = True
    for y in prange(height):
        a = np.empty(n, np.float32)
        c = np.empty((n, 3), np.float32)
        seen = np.empty(n, np.float32)
        share = np.empty(n, np.float32)
        target = np.empty(4, np.float32)
        recon = np.empty(4, np.float32)
        exact = 0.0
        sse_rgb = 0.0
        sse_premul = 0.0
        transparent = 0.0
        for x in range(width):
            if not drifting:
                # a pixel the stack already reproduces is left exactly as it is
                _over_straight(stack, y, x, recon)
                if (
                    recon[0] == picture[y, x, 0] and recon[1] == picture[y, x, 1]
                    and recon[2] == picture[y, x, 2] and recon[3] == picture[y, x, 3]
                ):
                    exact += 1.0
                    if picture[y, x, 3] != 255:
                        transparent = 1.0
                    continue
            _load(y, x, picture, stack, drift, has_drift, target, c, a)
            pa = target[3]
            if any_band:
                _blend_edges(y, x, band, estimates, sigmas, changes, scales, belows, enlarged, a,
                             params)
            _match_coverage(a, pa)
            _solve_colour(target, c, a, seen, share)
            _store(y, x, c, a, stack)
            _over_straight(stack, y, x, recon)
            if recon[3] == picture[y, x, 3]:
                _round_exactly(y, x, picture, seen, stack, recon)
            same = True
            for ch in range(4):
                if recon[ch] != picture[y, x, ch]:
                    same = False
            if same:
                exact += 1.0
            pa64 = np.float64(picture[y, x, 3]) / 255
            rq64 = np.float64(recon[3]) / 255
            for ch in range(3):
                p = np.float64(picture[y, x, ch]) / 255
                q = np.float64(recon[ch]) / 255
                sse_rgb += (p - q) ** 2
                sse_premul += (p * pa64 - q * rq64) ** 2
            sse_premul += (pa64 - rq64) ** 2
            if picture[y, x, 3] != 255 or recon[3] != 255:
                transparent = 1.0
        stats[y, 0] = exact
        stats[y, 1] = sse_rgb
        stats[y, 2] = sse_premul
        stats[y, 3] = transparent
