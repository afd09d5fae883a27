"""The session file (.strata): everything needed to continue editing exactly.

A zip holding `mimetype` (first, stored), `manifest.json` (versioned: canvas, metadata,
the layers bottom first with id, name, origin and every LayerParams field; fields added
later, like `locked` and a text layer's `text`, are optional so older sessions still open)
and lossless PNGs: each layer's source pixels as cropped in memory and the document's source image.
Nothing is baked: reopening gives the same layers, parameters and pixels.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from app.core.document import Document
from app.core.errors import ImportFailed
from app.core.formats.atomic import atomic_file
from app.core.formats.images import read_png_bytes
from app.core.formats.limits import MAX_LAYERS, MAX_MANIFEST_BYTES, MAX_SIDE, check_size
from app.core.formats.pngio import LAYER_PNGS
from app.core.formats.text_fields import spec_fields, spec_from_fields
from app.core.formats.zipsafe import SafeZip, open_zip
from app.core.layer import Layer, LayerParams, Recolor

SESSION_EXTENSION = ".strata"
SESSION_MIMETYPE = b"application/x-strata-session"
FORMAT_NAME = "strata-session"
FORMAT_VERSION = 1


def _params_json(p: LayerParams) -> dict[str, Any]:
    r = p.recolor
    return {
        "name": p.name,
        "visible": p.visible,
        "opacity": p.opacity,
        "offset": list(p.offset),
        "scale": list(p.scale),
        "locked": p.locked,
        "recolor": {
            "hue": r.hue,
            "saturation": r.saturation,
            "brightness": r.brightness,
            "tint": list(r.tint),
            "tint_strength": r.tint_strength,
        },
    }


def manifest_for(
    doc: Document, extra: dict[str, Any] | None = None, layers: list[Layer] | None = None
) -> dict[str, Any]:
    entries = []
    for index, layer in enumerate(doc.layers if layers is None else layers):
        entries.append(
            {
                "id": layer.id,
                "file": f"layers/{index:04d}.png",
                "origin": list(layer.origin),
                "size": list(layer.size),
                **_params_json(layer.params),
                **({"text": spec_fields(layer.text)} if layer.text is not None else {}),
            }
        )
    manifest: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "canvas": {"width": doc.width, "height": doc.height},
        "source": "source.png" if doc.source is not None else None,
        "metadata": doc.metadata,
        "layers": entries,
    }
    if extra:
        manifest.update(extra)
    return manifest


def save_session(doc: Document, path: Path, extra: dict[str, Any] | None = None) -> None:
    """Write the session atomically. `extra` adds top-level manifest keys (recovery info)."""
    # One pass over the stack, so the manifest and the PNGs describe the same layers even if
    # another thread edits the document meanwhile (the GUI should still pass a snapshot).
    layers = [Layer(la.pixels, la.origin, la.params, la.id, la.text) for la in list(doc.layers)]
    manifest = manifest_for(doc, extra, layers)
    text = json.dumps(manifest, ensure_ascii=False, indent=1, default=str)
    with atomic_file(path) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("mimetype", SESSION_MIMETYPE)
        zf.writestr("manifest.json", text.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
        if doc.source is not None:
            zf.writestr("source.png", LAYER_PNGS.encode(doc.source))
        for entry, layer in zip(manifest["layers"], layers):
            zf.writestr(entry["file"], LAYER_PNGS.encode(layer.pixels))


# --- reading: the manifest is untrusted input, every field is checked.


class _Bad(Exception):
    pass


def _num(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"{what} is not a number")
    if not math.isfinite(value):
        raise _Bad(f"{what} is not finite")
    return float(value)


def _int(value: Any, what: str, low: int = -MAX_SIDE, high: int = MAX_SIDE) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Bad(f"{what} is not a whole number in range")
    return value


def _pair(value: Any, what: str, conv=_num) -> tuple:
    if not isinstance(value, list) or len(value) != 2:
        raise _Bad(f"{what} is not a pair")
    return conv(value[0], what), conv(value[1], what)


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _Bad(f"{what} is not text")
    return value


def _params(entry: dict[str, Any]) -> LayerParams:
    rc = entry.get("recolor", {})
    if not isinstance(rc, dict):
        raise _Bad("recolor is not an object")
    tint = rc.get("tint", [255, 255, 255])
    if not isinstance(tint, list) or len(tint) != 3:
        raise _Bad("tint is not a colour")
    recolor = Recolor(
        hue=_num(rc.get("hue", 0.0), "hue"),
        saturation=_num(rc.get("saturation", 1.0), "saturation"),
        brightness=_num(rc.get("brightness", 0.0), "brightness"),
        tint=tuple(_int(c, "tint", 0, 255) for c in tint),
        tint_strength=_num(rc.get("tint_strength", 0.0), "tint strength"),
    )
    visible = entry.get("visible", True)
    if not isinstance(visible, bool):
        raise _Bad("visible is not true or false")
    locked = entry.get("locked", False)  # absent in sessions written before the lock
    if not isinstance(locked, bool):
        raise _Bad("locked is not true or false")
    return LayerParams(
        name=_str(entry.get("name", "Layer"), "name"),
        visible=visible,
        opacity=_num(entry.get("opacity", 1.0), "opacity"),
        offset=_pair(entry.get("offset", [0.0, 0.0]), "offset"),
        scale=_pair(entry.get("scale", [1.0, 1.0]), "scale"),
        recolor=recolor,
        locked=locked,
    )


def read_manifest(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    archive = SafeZip(zf, path, MAX_MANIFEST_BYTES)
    raw = archive.read("manifest.json", MAX_MANIFEST_BYTES, "the session manifest")
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ImportFailed(path, "the session manifest is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ImportFailed(path, "the file is not a Strata session")
    version = manifest.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ImportFailed(path, "the session manifest has no valid version")
    if version > FORMAT_VERSION:
        raise ImportFailed(
            path, f"the session was saved by a newer Strata (format version {version})"
        )
    return manifest


def load_session(path: Path, max_pixels: int) -> Document:
    per_image = 4 * max_pixels + (1 << 20)
    with open_zip(path) as zf:
        manifest = read_manifest(zf, path)
        archive = SafeZip(zf, path, 8 * per_image)
        try:
            canvas = manifest.get("canvas")
            if not isinstance(canvas, dict):
                raise _Bad("canvas is missing")
            width = _int(canvas.get("width"), "canvas width", 0)
            height = _int(canvas.get("height"), "canvas height", 0)
            reason = check_size(width, height, max_pixels)
            if reason:
                raise ImportFailed(path, reason)
            entries = manifest.get("layers")
            if not isinstance(entries, list) or len(entries) > MAX_LAYERS:
                raise _Bad("the layer list is missing or too long")
            metadata = manifest.get("metadata") or {}
            if not isinstance(metadata, dict):
                raise _Bad("metadata is not an object")
            layers: list[Layer] = []
            ids: set[str] = set()
            for index, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    raise _Bad(f"layer {index} is not an object")
                layer_id = _str(entry.get("id"), "layer id")
                if not layer_id or layer_id in ids:
                    raise _Bad(f"layer {index} has a missing or repeated id")
                ids.add(layer_id)
                origin = _pair(entry.get("origin"), "origin", _int)
                size = _pair(entry.get("size"), "size", _int)
                params = _params(entry)
                what = f"layer '{params.name}'"
                file = _str(entry.get("file"), "layer file")
                pixels = read_png_bytes(archive.read(file, per_image, what), path, max_pixels, what)
                if (pixels.shape[1], pixels.shape[0]) != size:
                    raise _Bad(f"{what} does not have the size the manifest says")
                text = None
                if entry.get("text") is not None:
                    try:
                        text = spec_from_fields(entry["text"])
                    except ValueError as exc:
                        raise _Bad(f"{what}: {exc}") from None
                layers.append(Layer(pixels, origin, params, layer_id, text))
            source = None
            if manifest.get("source") is not None:
                file = _str(manifest["source"], "source image")
                source = read_png_bytes(
                    archive.read(file, per_image, "the source image"), path, max_pixels,
                    "the source image",
                )
        except _Bad as exc:
            raise ImportFailed(path, f"the session manifest is invalid: {exc}") from None
    doc = Document(width, height, layers, source=source, metadata=metadata)
    if source is not None:
        source.flags.writeable = False
    return doc


def is_session(zf: zipfile.ZipFile) -> bool:
    try:
        return zf.read("mimetype") == SESSION_MIMETYPE if "mimetype" in zf.namelist() else (
            "manifest.json" in zf.namelist()
        )
    except Exception:  # noqa: BLE001 - a damaged entry means "not recognisable"
        return False


def np_equal_docs(a: Document, b: Document) -> bool:
    """Whether two documents hold the same layers, parameters and pixels (for tests)."""
    if a.size != b.size or len(a.layers) != len(b.layers):
        return False
    for la, lb in zip(a.layers, b.layers):
        if la.id != lb.id or la.origin != lb.origin or la.params != lb.params or la.text != lb.text:
            return False
        if not np.array_equal(la.pixels, lb.pixels):
            return False
    if (a.source is None) != (b.source is None):
        return False
    return a.source is None or np.array_equal(a.source, b.source)
