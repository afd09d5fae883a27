"""PSD import and export through psd-tools.

Import: pixel layers keep their names, offsets, opacity, visibility and position lock;
groups are flattened in stacking order (a hidden group hides its layers, its opacity
multiplies theirs); clipping masks are baked into the clipped layers' alpha; layers that
only render through psd-tools' compositor (shapes, type, smart objects, masks, effects) are
rendered to pixels. Blend modes other than normal cannot be represented and become normal.
Type layers become text layers: the pixels stored in the file, plus the words and type read
from their engine data (psd_text.py).

Export: an RGBA document, each layer cropped to its content at its offset with edits baked
in, opacity, visibility and the position lock ('lspf' flag) as layer properties, and our own
composite as the merged image. A text layer is also a Photoshop type layer (the `TySh` block
with its text engine data) over the same pixels.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app.core.document import Document
from app.core.errors import ExportFailed, ImportFailed
from app.core.formats.atomic import atomic_file
from app.core.formats.bake import bake_layer, composite_rgba
from app.core.formats.images import merged_image_document, to_rgba8
from app.core.formats.limits import LIMIT_WORDS, MAX_LAYERS, TOTAL_PIXEL_FACTOR, check_size
from app.core.formats.psd_text import spec_from_type_layer, type_tool_block
from app.core.formats.text_fields import placed_spec
from app.core.layer import Layer, LayerParams

PSD_MAGIC = b"8BPS"


def read_header(path: Path, max_pixels: int) -> tuple[int, int]:
    """Validate the fixed 26-byte PSD header before psd-tools parses anything."""
    with open(path, "rb") as fh:
        head = fh.read(26)
    if len(head) < 26 or head[:4] != PSD_MAGIC:
        raise ImportFailed(path, "the file is not a valid PSD (bad header)")
    version, channels, height, width, depth, mode = struct.unpack(">H6xHIIHH", head[4:])
    if version not in (1, 2):
        raise ImportFailed(path, f"unsupported PSD version {version}")
    if not 1 <= channels <= 56 or depth not in (1, 8, 16, 32) or mode > 9:
        raise ImportFailed(path, "the PSD header is damaged")
    reason = check_size(width, height, max_pixels)
    if reason:
        raise ImportFailed(path, reason)
    return width, height


def _is_clipped(layer: Any) -> bool:
    # psd-tools reports `clipping` only for pixel layers; a group's flag is on its record.
    record = getattr(layer, "_record", None)
    if record is not None and hasattr(record, "clipping"):
        return bool(record.clipping)
    return bool(getattr(layer, "clipping", False))


def _position_locked(layer: Any) -> bool:
    """Photoshop's "lock position" (or "lock all") flag of a layer ('lspf' block)."""
    locks = getattr(layer, "locks", None)
    return locks is not None and bool(locks.position or locks.complete)


def _needs_render(layer: Any) -> bool:
    # a type layer's stored pixels are its text as Photoshop (or Strata) rendered it
    return layer.kind not in ("pixel", "type") or layer.has_mask() or layer.has_effects()


def _layer_pixels(layer: Any) -> tuple[np.ndarray, int, int] | None:
    """RGBA pixels of one leaf (its own opacity not applied) and its canvas position."""
    if not _needs_render(layer):
        im = layer.topil()
        if im is None:
            return None
        return to_rgba8(im), layer.left, layer.top
    saved_visible, saved_opacity = layer.visible, layer.opacity
    try:
        layer.visible = True
        layer.opacity = 255
        # Only this layer: layers clipped to it become layers of their own.
        im = layer.composite(layer_filter=lambda x: x is layer)
    finally:
        layer.visible, layer.opacity = saved_visible, saved_opacity
    if im is None:
        return None
    left, top = layer.bbox[:2]
    return to_rgba8(im), left, top


def _empty(name: str, x: int, y: int, **params: Any) -> Layer:
    """An empty layer keeps its place (and name) in the stack as one transparent pixel."""
    return Layer(np.zeros((1, 1, 4), np.uint8), (x, y), LayerParams(name=name, **params))


def _clip_to(layer: Layer, base: Layer) -> Layer:
    """`layer` with its alpha multiplied by `base`'s (a Photoshop clipping mask), cropped."""
    lx, ly = layer.origin
    bx, by = base.origin
    x0, y0 = max(lx, bx), max(ly, by)
    x1 = min(lx + layer.size[0], bx + base.size[0])
    y1 = min(ly + layer.size[1], by + base.size[1])
    params = layer.params.with_(
        visible=layer.params.visible and base.params.visible,
        opacity=layer.params.opacity * base.params.opacity,
    )
    if x1 <= x0 or y1 <= y0:
        return Layer(np.zeros((1, 1, 4), np.uint8), layer.origin, params)
    part = layer.pixels[y0 - ly : y1 - ly, x0 - lx : x1 - lx].copy()
    mask = base.pixels[y0 - by : y1 - by, x0 - bx : x1 - bx, 3].astype(np.uint16)
    part[:, :, 3] = (part[:, :, 3].astype(np.uint16) * mask + 127) // 255
    clipped = Layer.from_canvas(part, params.name, (x0, y0))
    return Layer(clipped.pixels, clipped.origin, params)


class _Reader:
    def __init__(self, path: Path, max_pixels: int) -> None:
        self.path = path
        self.max_pixels = max_pixels
        self.budget = TOTAL_PIXEL_FACTOR * max_pixels
        self.count = 0

    def leaf(self, leaf: Any, visible: bool, opacity: float) -> Layer:
        self.count += 1
        if self.count > MAX_LAYERS:
            raise ImportFailed(self.path, f"the PSD has more than {MAX_LAYERS} layers")
        name = str(leaf.name) or f"Layer {self.count}"
        opacity = float(np.clip(opacity, 0.0, 1.0))
        w, h = leaf.width, leaf.height
        if w <= 0 or h <= 0:
            return _empty(name, leaf.left, leaf.top, visible=visible, opacity=opacity)
        reason = check_size(w, h, self.max_pixels)
        if reason:
            raise ImportFailed(self.path, f"layer '{leaf.name}': {reason}")
        if w * h > self.budget:
            raise ImportFailed(
                self.path, f"the layers together hold more than {TOTAL_PIXEL_FACTOR}x "
                f"{LIMIT_WORDS} of {self.max_pixels:,}"
            )
        self.budget -= w * h
        got = _layer_pixels(leaf)
        if got is None:
            return _empty(name, leaf.left, leaf.top, visible=visible, opacity=opacity)
        rgba, x, y = got
        locked = _position_locked(leaf)
        layer = Layer.from_canvas(
            rgba, name, (x, y), visible=visible, opacity=opacity, locked=locked
        )
        if leaf.kind == "type":  # the pixels stored in the file, and the words and type
            layer.text = spec_from_type_layer(leaf)
        return layer

    def group(self, group: Any, visible: bool, opacity: float) -> list[Layer]:
        """Layers of a group, bottom first: nested groups flattened in stacking order,
        hidden groups hiding their layers, group opacity multiplying theirs, clipping
        masks baked into the clipped layers' alpha."""
        out: list[Layer] = []
        base: Layer | None = None  # the layer clipped layers above clip to
        for child in group:
            shown = visible and bool(child.visible)
            alpha = opacity * child.opacity / 255.0
            if child.is_group():
                made = self.group(child, shown, alpha)
            else:
                made = [self.leaf(child, shown, alpha)]
            if _is_clipped(child):
                if base is not None:
                    made = [_clip_to(m, base) for m in made]
            else:
                base = made[0] if not child.is_group() and made else None
            out.extend(made)
        return out


def load_psd(path: Path, max_pixels: int) -> Document:
    from psd_tools import PSDImage  # imported on first use: it takes half a second

    width, height = read_header(path, max_pixels)
    psd = PSDImage.open(path)
    if (psd.width, psd.height) != (width, height):
        raise ImportFailed(path, "the PSD header is damaged")
    layers = _Reader(path, max_pixels).group(psd, True, 1.0)
    if not layers:
        merged = psd.composite()
        if merged is None:
            raise ImportFailed(path, "the PSD holds neither layers nor a merged image")
        rgba = to_rgba8(merged)
        return merged_image_document(rgba, width, height, path, "the PSD's merged image")
    return Document(width, height, layers)


PSD_MAX_SIDE = 30_000  # larger canvases need the PSB variant, which we do not write


def save_psd(doc: Document, path: Path) -> None:
    from psd_tools import PSDImage
    from psd_tools.constants import ProtectedFlags

    if max(doc.width, doc.height) > PSD_MAX_SIDE:
        raise ExportFailed(path, f"PSD files are limited to {PSD_MAX_SIDE} pixels per side")
    psd = PSDImage.new("RGBA", (doc.width, doc.height), color=(255, 255, 255, 0))
    for index, layer in enumerate(doc.layers):
        baked = bake_layer(doc, layer)
        pixels, x, y = baked.pixels, baked.x, baked.y
        if baked.empty:
            pixels, x, y = np.zeros((1, 1, 4), np.uint8), 0, 0
        created = psd.create_pixel_layer(
            Image.fromarray(pixels, "RGBA"),
            name=f"Layer {index + 1}",  # psd-tools 1.26 fails on non-ASCII names given here
            top=y,
            left=x,
            opacity=int(round(baked.opacity * 255)),
        )
        created.name = baked.name
        created.visible = baked.visible
        if layer.text is not None and not baked.empty:
            _add_type_block(created, layer, pixels, x, y)
        if layer.locked:
            created.lock(ProtectedFlags.POSITION)
            if not created.locks.position:  # psd-tools 1.26 drops a layer's first lock()
                created.locks.lock(ProtectedFlags.POSITION)
    _set_merged_image(psd, composite_rgba(doc))
    with atomic_file(path) as fh:
        _write(psd, fh)


def _add_type_block(created: Any, layer: Layer, pixels: np.ndarray, x: int, y: int) -> None:
    """Make a written pixel layer a Photoshop type layer (its pixels stay as they are)."""
    from psd_tools.constants import Tag

    spec = placed_spec(layer)
    h, w = pixels.shape[:2]
    block = type_tool_block(spec, (1.0, 0.0, 0.0, 1.0, spec.x, spec.y), (x, y, x + w, y + h))
    created._record.tagged_blocks[Tag.TYPE_TOOL_OBJECT_SETTING] = _tagged(
        Tag.TYPE_TOOL_OBJECT_SETTING, block
    )


def _tagged(key: Any, data: Any) -> Any:
    from psd_tools.psd.tagged_blocks import TaggedBlock

    return TaggedBlock(key=key, data=data)


def _merged_planes(rgba: np.ndarray) -> list[bytes]:
    """R, G, B, A planes of the merged image section, 8-bit.

    Photoshop stores the merged colour composited over white where alpha > 0 (readers,
    psd-tools included, undo it); done here in integers, one plane at a time, instead of
    psd-tools' float32 path, which needs ~10 bytes per pixel more.
    """
    alpha = rgba[:, :, 3]
    a16 = alpha.astype(np.uint16)
    white = (255 - a16) * 255
    planes = []
    for c in range(3):
        colour = rgba[:, :, c]
        matted = ((colour.astype(np.uint16) * a16 + white + 127) // 255).astype(np.uint8)
        planes.append(np.where(alpha > 0, matted, colour).tobytes())
    planes.append(alpha.tobytes())
    return planes


def _set_merged_image(psd: Any, merged: np.ndarray) -> None:
    """Store our composite (straight RGBA uint8) as the merged image instead of psd-tools'
    own (slow) composite.

    Uses psd-tools' record API (`_record`); if a later version moves it, saving falls
    back to `PSDImage.save`, which composites by itself.
    """
    record = getattr(psd, "_record", None)
    if record is None:
        return
    header = record.header
    if header.channels == 4 and header.depth == 8:
        planes = _merged_planes(merged)
    else:
        from psd_tools.api import numpy_io

        unit = merged.astype(np.float32) / np.float32(255.0)
        planes = numpy_io.encode_image_data(psd, unit[:, :, :3], unit[:, :, 3:4])
    record.image_data.set_data(planes, header)


def _write(psd: Any, fh: Any) -> None:
    record = getattr(psd, "_record", None)
    if record is None:
        psd.save(fh)
    else:
        record.write(fh)
