"""The fast compositor: whole-canvas composites for export, cached views for the canvas.

Both blend premultiplied float32 patches from `render.render_layer`, each only over its own
rectangle. `Compositor` keeps, per view, what it can reuse between frames: while one layer
is being edited it holds the layers below and above it flattened (Krita's idea of cached
projections), over the clip and a margin, so a frame renders that one layer and re-blends
three planes over the rectangle it left and the one it now covers, and a small pan only
re-blends. Caches are keyed by layer ids, the frozen `LayerParams` objects, origins and the
identity of the pixel arrays (never modified in place), so callers never have to say what
changed.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from app.core.document import Document
from app.core.layer import Layer, LayerParams, Recolor, Rect
from app.core.render import (
    ShrinkCache,
    apply_recolor,
    flatten,
    inverse_alpha,
    layer_shrinks,
    layer_view_rect,
    prepare_layer,
    prepared_key,
    recolors_shrunk,
    render_layer,
    unpremultiply_to_uint8,
)

BAND_BYTES = 64 << 20  # full renders work in bands of rows of at most this much float32 RGBA
BAND_ROWS = 512  # ... and at least this many rows (each band re-shrinks downscaled layers)
STRIP_BYTES = 1 << 20  # a frame blends strips of rows of about this much float32 RGBA
PAN_MARGIN = 256  # view pixels of planes kept around the clip, so small pans reuse them


def band_rows(width: int) -> int:
    return max(BAND_ROWS, BAND_BYTES // (16 * max(width, 1)))


def view_size(doc: Document, view_scale: float) -> tuple[int, int]:
    """Width and height, in view pixels, of the whole canvas at `view_scale`."""
    return (
        max(1, math.ceil(doc.width * view_scale - 1e-9)),
        max(1, math.ceil(doc.height * view_scale - 1e-9)),
    )


def _intersect(a: Rect | None, b: Rect | None) -> Rect | None:
    if a is None or b is None:
        return None
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1 - x0, y1 - y0


def _union(a: Rect | None, b: Rect | None) -> Rect | None:
    if a is None or b is None:
        return a if b is None else b
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return x0, y0, x1 - x0, y1 - y0


class RecolorCache:
    """Recoloured pixels per layer, keyed by (pixels identity, recolor); one entry a layer."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[np.ndarray, Recolor, np.ndarray]] = {}

    def __call__(self, layer: Layer) -> np.ndarray:
        recolor = layer.params.recolor
        if recolor.is_identity():
            return layer.pixels
        entry = self._entries.get(layer.id)
        if entry is not None and entry[0] is layer.pixels and entry[1] == recolor:
            return entry[2]
        out = apply_recolor(layer.pixels, recolor)
        out.flags.writeable = False
        self._entries[layer.id] = (layer.pixels, recolor, out)
        return out

    def keep_only(self, ids: set[str]) -> None:
        for layer_id in self._entries.keys() - ids:
            del self._entries[layer_id]

    def clear(self) -> None:
        self._entries.clear()


def composite(doc: Document) -> np.ndarray:
    """The document with all edits at full resolution: straight-alpha RGBA uint8.

    Equal to `render.composite_reference(doc)` within 1/255 per channel.
    """
    out = np.empty((doc.height, doc.width, 4), np.uint8)
    recolored = RecolorCache()
    rows = band_rows(doc.width)
    for y in range(0, doc.height, rows):
        band = (0, y, doc.width, min(rows, doc.height - y))
        premul = flatten(doc.layers, doc.width, doc.height, 1.0, band, recolored)
        out[y : y + band[3]] = unpremultiply_to_uint8(premul)
    return out


_Entry = tuple[str, LayerParams, np.ndarray, tuple[int, int]]  # id, params, pixels, origin
_Signature = list[_Entry]


def _entry(layer: Layer) -> _Entry:
    return layer.id, layer.params, layer.pixels, layer.origin


def _signature(layers: list[Layer]) -> _Signature:
    return [_entry(layer) for layer in layers]


def _same_entry(a: _Entry, b: _Entry) -> bool:
    return a[0] == b[0] and a[2] is b[2] and a[1] == b[1] and a[3] == b[3]


def _same(a: _Signature | None, b: _Signature) -> bool:
    return a is not None and len(a) == len(b) and all(map(_same_entry, a, b))


# The active layer in a frame: its view rect, premultiplied pixels at opacity 1,
# 1 - opacity * alpha (None when nothing is below it), and the opacity.
_Patch = tuple[Rect, np.ndarray, np.ndarray | None, float]


def _to_premul_uint8(premul: np.ndarray, dst: np.ndarray) -> None:
    """dst (uint8 view) = premultiplied float32 in [0, 1] scaled to 0..255, rounded."""
    cv2.convertScaleAbs(premul, dst=dst, alpha=255.0)


class Compositor:
    """Renders views of a document for the canvas, reusing work between frames.

    `render` returns the compositor's own output buffer; the next call overwrites it
    (copy it to keep a frame).
    """

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self._recolored = RecolorCache()
        self._shrunk = ShrinkCache()
        self._reset_view()

    def invalidate(self) -> None:
        """Forget every cache; the next render recomposites everything."""
        self._recolored.clear()
        self._shrunk.clear()
        self._reset_view()

    def _reset_view(self) -> None:
        self._geometry: tuple[float, tuple[int, int]] | None = None  # view_scale, view size
        self._clip: Rect | None = None
        self._out = np.zeros((1, 1, 4), np.uint8)
        self._mode: str | None = None  # "full" or "active": what the buffer holds
        # full mode: every layer's signature and view rect at the last render
        self._full_sig: _Signature | None = None
        self._full_rects: list[Rect | None] = []
        # active mode: planes of the layers below and above over `_region` (the clip and a
        # margin, so that panning a little reuses them), and the active layer's state
        self._active_id: str | None = None
        self._region: Rect | None = None
        self._below_sig: _Signature | None = None
        self._above_sig: _Signature | None = None
        # below: premultiplied float32; above: premultiplied times 255, and its 1 - alpha
        self._below = self._above255 = self._above_inv = np.zeros((0, 0, 4), np.float32)
        self._below_empty = False  # nothing below the active layer: it needs no 1 - alpha
        # per row of the above plane: the first and past-the-last column it covers
        self._above_spans = (np.zeros(0, np.intp), np.zeros(0, np.intp))
        self._scratch = np.zeros(0, np.float32)  # a strip of the frame's blend
        self._active_entry: _Entry | None = None
        self._active_rect: Rect | None = None
        self._prepared: tuple[tuple, np.ndarray] | None = None
        self._prepared_inv: np.ndarray | None = None
        self._last_key: tuple | None = None  # the active layer's prepared key, last frame

    def render(
        self, view_scale: float = 1.0, clip: Rect | None = None, active_id: str | None = None
    ) -> np.ndarray:
        """The view at `view_scale` (or its `clip` rectangle, in view pixels) as
        premultiplied RGBA uint8, HxWx4, C-contiguous. Pixels of the clip that fall outside
        the canvas are transparent. With `active_id`, frames that change only that layer
        re-render only it, over the rectangle it touched.
        """
        if not (math.isfinite(view_scale) and view_scale > 0):
            raise ValueError(f"view_scale must be positive, got {view_scale}")
        vw, vh = view_size(self.doc, view_scale)
        clip = (0, 0, vw, vh) if clip is None else tuple(int(v) for v in clip)
        if clip[2] <= 0 or clip[3] <= 0:
            raise ValueError(f"clip must have a positive size, got {clip}")
        geometry = (float(view_scale), (vw, vh))
        if geometry != self._geometry:
            self._reset_view()
            self._geometry = geometry
        if clip != self._clip:
            self._clip = clip
            self._out = np.zeros((clip[3], clip[2], 4), np.uint8)
            self._mode = None  # the new buffer holds nothing yet; planes may still serve
        self._recolored.keep_only({layer.id for layer in self.doc.layers})
        self._shrunk.keep_only([layer.pixels for layer in self.doc.layers])
        area = _intersect(clip, (0, 0, vw, vh))
        if area is not None:
            index = self._index_of(active_id)
            if index is None:
                self._render_full(view_scale, area)
            else:
                self._render_active(view_scale, area, index)
        return self._out

    def _index_of(self, layer_id: str | None) -> int | None:
        for i, layer in enumerate(self.doc.layers):
            if layer.id == layer_id:
                return i
        return None

    def _out_view(self, rect: Rect) -> np.ndarray:
        x, y, w, h = rect
        cx, cy = self._clip[:2]
        return self._out[y - cy : y - cy + h, x - cx : x - cx + w]

    def _render_full(self, view_scale: float, area: Rect) -> None:
        self._shrunk.hsv_of = None
        layers = self.doc.layers
        sig = _signature(layers)
        rects = [layer_view_rect(layer, view_scale) for layer in layers]
        old = self._full_sig
        if self._mode != "full" or old is None or [e[0] for e in old] != [e[0] for e in sig]:
            dirty = area
        else:
            dirty = None
            for a, b, ra, rb in zip(old, sig, self._full_rects, rects):
                if not _same_entry(a, b):
                    dirty = _union(dirty, _union(ra, rb))
            dirty = _intersect(dirty, area)
        self._mode, self._full_sig, self._full_rects = "full", sig, rects
        if dirty is None:
            return
        w, h = self.doc.size
        x, y, dw, dh = dirty
        rows = band_rows(dw)
        for top in range(y, y + dh, rows):  # bands keep the float buffer small
            band = (x, top, dw, min(rows, y + dh - top))
            premul = flatten(layers, w, h, view_scale, band, self._recolored, self._shrunk)
            _to_premul_uint8(premul, self._out_view(band))

    def _render_active(self, view_scale: float, area: Rect, index: int) -> None:
        layers = self.doc.layers
        layer = layers[index]
        self._shrunk.hsv_of = layer.pixels  # a hue or saturation slider starts from its HSV
        below, above = _signature(layers[:index]), _signature(layers[index + 1 :])
        if self._region is None or _intersect(self._region, area) != area:
            self._region = _grown(area, self._geometry[1])
            self._below_sig = self._above_sig = None
        region = self._region
        redraw = self._mode != "active" or self._active_id != layer.id
        w, h = self.doc.size
        if not _same(self._below_sig, below):
            self._below = flatten(
                layers[:index], w, h, view_scale, region, self._recolored, self._shrunk
            )
            self._below_sig, redraw = below, True
            self._below_empty = not self._below.any()
        if not _same(self._above_sig, above):
            above_plane = flatten(
                layers[index + 1 :], w, h, view_scale, region, self._recolored, self._shrunk
            )
            self._above_inv = inverse_alpha(above_plane)
            self._above_spans = _row_spans(above_plane[:, :, 3])
            self._above255 = np.multiply(above_plane, np.float32(255.0), out=above_plane)
            self._above_sig, redraw = above, True
        entry = _entry(layer)
        old = self._active_entry
        if not redraw and old is not None and _same_entry(old, entry):
            return  # nothing changed since the last frame
        rect = _intersect(layer_view_rect(layer, view_scale), area)
        dirty = area if redraw else _union(self._active_rect, rect)
        self._mode, self._active_id = "active", layer.id
        self._active_entry, self._active_rect = entry, rect
        if dirty is not None:
            self._blend_three(layer, view_scale, region, dirty)

    def _blend_three(self, layer: Layer, view_scale: float, region: Rect, dirty: Rect) -> None:
        """out[dirty] = above over (active over below), as premultiplied uint8.

        This is `over_premul` twice, fused so that each plane is read once, in strips of
        rows small enough for the scratch strip to stay in cache: the frame's time is
        memory traffic. Without prepared pixels (a slider is moving) the active layer is
        rendered strip by strip too, so its source is recoloured and premultiplied a strip
        at a time, in cache; with them (a drag) it is one render of the dirty rectangle.
        """
        active = self._active_source(layer, view_scale)
        whole = None
        if active is not None and active[1] is not None:
            whole = self._active_patch(view_scale, dirty, *active)
        x, y, w, h = dirty
        step = min(h, max(1, STRIP_BYTES // (16 * w)))
        if self._scratch.size < step * w * 4:
            self._scratch = np.empty(step * w * 4, np.float32)
        scratch = self._scratch[: step * w * 4].reshape(step, w, 4)
        for top in range(y, y + h, step):
            strip = (x, top, w, min(step, y + h - top))
            patch = whole
            if active is not None and whole is None:
                patch = self._active_patch(view_scale, strip, *active)
            self._blend_strip(region, strip, patch, scratch)

    def _blend_strip(
        self, region: Rect, strip: Rect, patch: _Patch | None, scratch: np.ndarray
    ) -> None:
        x, y, w, h = strip
        rows = slice(y - region[1], y - region[1] + h)
        cols = slice(x - region[0], x - region[0] + w)
        buf = scratch[:h]
        below = self._below[rows, cols]
        inner = None
        if patch is not None:
            (px, py, pw, ph), premul, inv, opacity = patch
            inner = _intersect((px, py, pw, ph), strip)
        if inner is None:
            np.copyto(buf, below)
        else:
            ix, iy, iw, ih = inner
            for rx, ry, rw, rh in _around((0, 0, w, h), (ix - x, iy - y, iw, ih)):
                np.copyto(buf[ry : ry + rh, rx : rx + rw], below[ry : ry + rh, rx : rx + rw])
            inside = (slice(iy - y, iy - y + ih), slice(ix - x, ix - x + iw))
            part = (slice(iy - py, iy - py + ih), slice(ix - px, ix - px + iw))
            if inv is None:  # nothing below
                cv2.multiply(premul[part], (opacity,) * 4, dst=buf[inside])
            else:
                cv2.multiply(below[inside], inv[part], dst=buf[inside])
                cv2.scaleAdd(premul[part], opacity, buf[inside], dst=buf[inside])
        # The above plane only where it covers anything in these rows; elsewhere it is a no-op.
        first, end = self._above_spans
        c0 = max(int(first[rows].min()) + region[0], x) - x
        c1 = min(int(end[rows].max()) + region[0], x + w) - x
        out = self._out_view(strip)
        if c1 <= c0:
            cv2.convertScaleAbs(buf, dst=out, alpha=255.0)
            return
        for s0, s1 in ((0, c0), (c1, w)):
            if s1 > s0:
                cv2.convertScaleAbs(buf[:, s0:s1], dst=out[:, s0:s1], alpha=255.0)
        covered = slice(c0 + x - region[0], c1 + x - region[0])
        inside = buf[:, c0:c1]
        cv2.multiply(inside, self._above_inv[rows, covered], dst=inside, scale=255.0)
        cv2.add(inside, self._above255[rows, covered], dst=out[:, c0:c1], dtype=cv2.CV_8U)

    def _active_source(
        self, layer: Layer, view_scale: float
    ) -> tuple[Layer, np.ndarray | None, np.ndarray | None, float] | None:
        """What a frame renders the active layer from: the layer at opacity 1, its prepared
        pixels (or None), its cached recoloured pixels where a render needs the whole of
        them (or None), and the opacity to blend it with; None when it shows nothing."""
        opacity = float(np.clip(layer.params.opacity, 0.0, 1.0))
        if not layer.params.visible or opacity == 0.0:
            return None
        # Opacity is applied while blending, so an opacity slider reuses the prepared pixels.
        opaque = dataclasses.replace(layer, params=layer.params.with_(opacity=1.0))
        prepared = self._prepared_pixels(opaque, view_scale)
        recolored = None
        if prepared is None and not recolors_shrunk(opaque, view_scale):
            if layer_shrinks(opaque, view_scale):  # a clipped render would recolour it all
                recolored = self._recolored(opaque)
        return opaque, prepared, recolored, opacity

    def _active_patch(
        self,
        view_scale: float,
        strip: Rect,
        opaque: Layer,
        prepared: np.ndarray | None,
        recolored: np.ndarray | None,
        opacity: float,
    ) -> _Patch | None:
        """The active layer rendered into `strip` at full opacity: its rect, premultiplied
        pixels, 1 - opacity * alpha, and the opacity to blend it with."""
        placed = render_layer(
            opaque,
            view_scale,
            clip=strip,
            recolored=recolored,
            prepared=prepared,
            shrink_cache=self._shrunk,
        )
        if placed is None:
            return None
        px, py, pw, ph = placed.rect
        shares = prepared is not None and np.may_share_memory(placed.premul, prepared)
        if self._below_empty:
            inv = None
        elif opacity == 1.0 and shares:
            # An integer move: the patch is a view of the prepared pixels, so is its 1 - alpha.
            if self._prepared_inv is None:
                self._prepared_inv = inverse_alpha(prepared)
            fx, fy = layer_view_rect(opaque, view_scale)[:2]
            inv = self._prepared_inv[py - fy : py - fy + ph, px - fx : px - fx + pw]
        else:
            inv = inverse_alpha(placed.premul, opacity)
        return placed.rect, placed.premul, inv, opacity

    def _prepared_pixels(self, layer: Layer, view_scale: float) -> np.ndarray | None:
        """The active layer's `prepare_layer` result, kept while only its offset changes.

        None while a slider changes what it depends on (a recolour every frame, a scale
        crossing a shrink level): such a frame recolours and premultiplies only what lands in
        the dirty rectangle. When the key is the same as the frame before (a drag, a scale
        within a level) or the layer has just become active, the whole layer is prepared.
        """
        key = (layer.id, prepared_key(layer, view_scale))
        if self._prepared is not None:
            (pixels, old_key), prepared = self._prepared
            if pixels is layer.pixels and old_key == key:
                return prepared
        last, self._last_key = self._last_key, (layer.pixels, key)
        if last is not None and last[1][0] == layer.id:
            if last[0] is not layer.pixels or last[1] != key:
                return None  # changed since the last frame: a slider is moving
        recolored = None
        if not recolors_shrunk(layer, view_scale):
            recolored = self._recolored(layer)
        prepared = prepare_layer(layer, view_scale, recolored, self._shrunk)
        self._prepared, self._prepared_inv = ((layer.pixels, key), prepared), None
        return prepared


def _grown(area: Rect, view: tuple[int, int]) -> Rect:
    """`area` grown by PAN_MARGIN view pixels on each side, snapped outwards to a grid of
    that size, within the view: what the active-layer planes cover."""
    m = PAN_MARGIN
    x0, y0 = max(0, (area[0] - m) // m * m), max(0, (area[1] - m) // m * m)
    x1 = min(view[0], -(-(area[0] + area[2] + m) // m) * m)
    y1 = min(view[1], -(-(area[1] + area[3] + m) // m) * m)
    return x0, y0, x1 - x0, y1 - y0


def _row_spans(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the first column with alpha > 0 and the column past the last (w, 0 if none)."""
    shown = alpha > 0
    w = shown.shape[1]
    any_shown = shown.any(axis=1)
    first = np.where(any_shown, shown.argmax(axis=1), w)
    end = np.where(any_shown, w - shown[:, ::-1].argmax(axis=1), 0)
    return first, end


def _around(outer: Rect, inner: Rect) -> list[Rect]:
    """Non-empty rectangles that tile `outer` minus `inner` (inner lies inside outer)."""
    ox, oy, ow, oh = outer
    ix, iy, iw, ih = inner
    parts = [
        (ox, oy, ow, iy - oy),
        (ox, iy + ih, ow, oy + oh - iy - ih),
        (ox, iy, ix - ox, ih),
        (ix + iw, iy, ox + ow - ix - iw, ih),
    ]
    return [r for r in parts if r[2] > 0 and r[3] > 0]
