"""Flat exports: a folder of full-canvas layer PNGs (the CLI contract) and flattened files.

A folder holds `00.png` (bottom), `01.png`, ... each the full canvas with that layer's
edits and opacity baked in, `composite.png` (the visible layers flattened) and
`layers.json` (names, order, visibility, opacity and the document's metadata). Every file
is written atomically.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from app.core.document import Document
from app.core.errors import ExportFailed
from app.core.formats.atomic import describe_os_error, write_bytes_atomic
from app.core.formats.bake import bake_layer, composite_rgba, full_canvas
from app.core.formats.pngio import encode_png

FLAT_EXTENSIONS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_LAYER_FILE = re.compile(r"^\d+\.png$")


def layer_file_names(count: int) -> list[str]:
    digits = max(2, len(str(max(count - 1, 0))))
    return [f"{i:0{digits}d}.png" for i in range(count)]


def save_folder(doc: Document, folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ExportFailed(folder, "a file has that name, not a folder") from None
    except OSError as exc:
        raise ExportFailed(folder, describe_os_error(exc)) from None
    names = layer_file_names(len(doc.layers))
    entries = []
    for index, (layer, name) in enumerate(zip(doc.layers, names)):
        baked = bake_layer(doc, layer, with_opacity=True)
        write_bytes_atomic(folder / name, encode_png(full_canvas(doc, baked)))
        entries.append(
            {
                "index": index,
                "file": name,
                "name": layer.name,
                "visible": layer.params.visible,
                "opacity": layer.params.opacity,
                "bounds": [baked.x, baked.y, baked.pixels.shape[1], baked.pixels.shape[0]],
            }
        )
    write_bytes_atomic(folder / "composite.png", encode_png(composite_rgba(doc)))
    info = {
        **doc.metadata,
        "canvas": {"width": doc.width, "height": doc.height},
        "order": "bottom first; each PNG is the full canvas with edits and opacity baked in",
        "composite": "composite.png",
        "layers": entries,
    }
    text = json.dumps(info, ensure_ascii=False, indent=2, default=str)
    write_bytes_atomic(folder / "layers.json", text.encode("utf-8"))
    keep = set(names)
    for stale in folder.iterdir():  # layer files left from an earlier, larger export
        if _LAYER_FILE.match(stale.name) and stale.name not in keep:
            try:
                stale.unlink()
            except OSError:
                pass


def save_flat(doc: Document, path: Path) -> None:
    kind = FLAT_EXTENSIONS[path.suffix.lower()]
    rgba = composite_rgba(doc)
    buf = io.BytesIO()
    if kind == "JPEG":
        # JPEG has no alpha: flatten over white, as image editors do.
        alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
        rgb = rgba[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), "RGB").save(
            buf, "JPEG", quality=95, subsampling=0
        )
    elif kind == "WEBP":
        Image.fromarray(rgba, "RGBA").save(buf, "WEBP", lossless=True)
    else:
        buf.write(encode_png(rgba, compress_level=6))
    write_bytes_atomic(path, buf.getvalue())
