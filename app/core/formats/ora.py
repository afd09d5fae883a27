"""OpenRaster (.ora): a zip with `mimetype` (first, stored), stack.xml (top layer first),
data/*.png, mergedimage.png and Thumbnails/thumbnail.png. A text layer's words and type
are attributes of its <layer> in Strata's namespace (`strata:text`, `strata:family`, ...,
text_fields.py); its pixels are the rendered text, so any reader shows it.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from app.core.document import Document
from app.core.errors import ImportFailed
from app.core.formats.atomic import atomic_file
from app.core.formats.bake import bake_layer, composite_rgba
from app.core.formats.images import merged_image_document, read_png_bytes
from app.core.formats.limits import MAX_LAYERS, MAX_MANIFEST_BYTES, MAX_SIDE, check_size
from app.core.formats.pngio import LAYER_PNGS, encode_png, thumbnail_png
from app.core.formats.text_fields import ORA_NS, ora_attributes, placed_spec, spec_from_ora
from app.core.formats.zipsafe import SafeZip, open_zip
from app.core.layer import Layer

ORA_MIMETYPE = b"image/openraster"


def save_ora(doc: Document, path: Path) -> None:
    entries: list[str] = []
    with atomic_file(path) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("mimetype", ORA_MIMETYPE, compress_type=zipfile.ZIP_STORED)
        for index, layer in enumerate(doc.layers):
            baked = bake_layer(doc, layer)
            pixels, x, y = baked.pixels, baked.x, baked.y
            if baked.empty:
                pixels, x, y = np.zeros((1, 1, 4), np.uint8), 0, 0
            src = f"data/layer{index:03d}.png"
            # unedited layers are their own read-only pixels: reuse a session's encodings
            png = encode_png(pixels) if pixels.flags.writeable else LAYER_PNGS.encode(pixels)
            zf.writestr(src, png)
            visibility = "visible" if baked.visible else "hidden"
            text = ""
            if layer.text is not None:
                attrs = ora_attributes(placed_spec(layer))
                text = "".join(f" strata:{k}={quoteattr(v)}" for k, v in attrs.items())
            entries.append(
                f"    <layer name={quoteattr(baked.name)} src={quoteattr(src)} x=\"{x}\" "
                f"y=\"{y}\" opacity=\"{baked.opacity:.6g}\" visibility=\"{visibility}\" "
                f"composite-op=\"svg:src-over\"{text}/>"
            )
        merged = composite_rgba(doc)
        zf.writestr("mergedimage.png", encode_png(merged))
        zf.writestr("Thumbnails/thumbnail.png", thumbnail_png(merged))
        stack = "\n".join(reversed(entries))  # stack.xml lists the top layer first
        xml = (
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            f"<image version=\"0.0.5\" w=\"{doc.width}\" h=\"{doc.height}\" "
            f"xmlns:strata={quoteattr(ORA_NS)}>\n"
            f"  <stack>\n{stack}\n  </stack>\n</image>\n"
        )
        zf.writestr("stack.xml", xml.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)


def _number(path: Path, value: str | None, default: float, what: str) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImportFailed(path, f"stack.xml has a bad {what} ({value!r})") from None
    if not math.isfinite(number):
        raise ImportFailed(path, f"stack.xml has a bad {what} ({value!r})")
    return number


def _leaves(path: Path, stack: ET.Element, visible: bool, opacity: float, out: list) -> None:
    """Collect (element, visible, opacity) top first, flattening nested stacks."""
    for child in stack:
        shown = visible and child.get("visibility", "visible") != "hidden"
        alpha = opacity * _number(path, child.get("opacity"), 1.0, "opacity")
        if child.tag == "stack":
            _leaves(path, child, shown, alpha, out)
        elif child.tag == "layer":
            if len(out) >= MAX_LAYERS:
                raise ImportFailed(path, f"the file has more than {MAX_LAYERS} layers")
            out.append((child, shown, alpha))


def load_ora(path: Path, max_pixels: int) -> Document:
    per_image = 4 * max_pixels + (1 << 20)
    with open_zip(path) as zf:
        archive = SafeZip(zf, path, 8 * per_image)
        raw = archive.read("stack.xml", MAX_MANIFEST_BYTES, "stack.xml")
        if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
            raise ImportFailed(path, "stack.xml declares entities, which Strata refuses")
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as exc:
            raise ImportFailed(path, f"stack.xml is damaged ({exc})") from None
        if root.tag != "image":
            raise ImportFailed(path, "stack.xml has no <image> element")
        width = int(_number(path, root.get("w"), 0, "width"))
        height = int(_number(path, root.get("h"), 0, "height"))
        reason = check_size(width, height, max_pixels)
        if reason:
            raise ImportFailed(path, reason)
        stack = root.find("stack")
        leaves: list = []
        if stack is not None:
            _leaves(path, stack, True, 1.0, leaves)
        layers: list[Layer] = []
        for element, visible, opacity in reversed(leaves):  # bottom first
            src = element.get("src", "")
            name = element.get("name") or f"Layer {len(layers) + 1}"
            rgba = read_png_bytes(
                archive.read(src, per_image, f"layer '{name}'"), path, max_pixels,
                f"layer '{name}'",
            )
            x = int(_number(path, element.get("x"), 0, "x position"))
            y = int(_number(path, element.get("y"), 0, "y position"))
            if abs(x) > MAX_SIDE or abs(y) > MAX_SIDE:
                raise ImportFailed(path, f"layer '{name}' lies far outside the canvas")
            opacity = float(np.clip(opacity, 0.0, 1.0))
            layer = Layer.from_canvas(rgba, name, (x, y), visible=visible, opacity=opacity)
            try:
                layer.text = spec_from_ora(element.attrib)
            except ValueError as exc:
                raise ImportFailed(path, f"layer '{name}': {exc}") from None
            layers.append(layer)
        if not layers:
            rgba = read_png_bytes(
                archive.read("mergedimage.png", per_image, "the merged image"), path,
                max_pixels, "the merged image",
            )
            return merged_image_document(rgba, width, height, path, "the merged image")
    return Document(width, height, layers)
