"""A folder of full-canvas layer PNGs (the CLI contract), read and written; flattened files.

A folder holds `00.png` (bottom), `01.png`, ... each the full canvas with that layer's
edits and opacity baked in, `composite.png` (the visible layers flattened) and
`layers.json` (names, order, visibility, opacity and the document's metadata). Every file
is written atomically. Reading also takes a folder of numbered PNGs without layers.json,
such as an evaluation dataset's sample (`0000.png`, `0001.png`, ...).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np
from PIL import Image

from app.core.document import Document
from app.core.errors import ExportFailed, ImportFailed
from app.core.formats.atomic import describe_os_error, write_bytes_atomic
from app.core.formats.bake import bake_layer, composite_rgba, full_canvas
from app.core.formats.images import decode, open_checked
from app.core.formats.limits import (
    LIMIT_WORDS,
    MAX_LAYERS,
    MAX_MANIFEST_BYTES,
    TOTAL_PIXEL_FACTOR,
    check_size,
)
from app.core.formats.pngio import encode_png
from app.core.layer import Layer

FLAT_EXTENSIONS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_LAYER_FILE = re.compile(r"^\d+\.png$")
LAYERS_JSON = "layers.json"
COMPOSITE = "composite.png"
_LAYOUT_KEYS = {"canvas", "order", "composite", "layers"}  # the rest is the doc's metadata


def is_layer_file_name(name: str) -> bool:
    """A numbered layer PNG (`00.png`, `0001.png`): what a folder's layers are called."""
    return bool(_LAYER_FILE.match(name))


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
    write_bytes_atomic(folder / COMPOSITE, encode_png(composite_rgba(doc)))
    info = {
        **doc.metadata,
        "canvas": {"width": doc.width, "height": doc.height},
        "order": "bottom first; each PNG is the full canvas with edits and opacity baked in",
        "composite": COMPOSITE,
        "layers": entries,
    }
    text = json.dumps(info, ensure_ascii=False, indent=2, default=str)
    write_bytes_atomic(folder / LAYERS_JSON, text.encode("utf-8"))
    keep = set(names)
    for stale in folder.iterdir():  # layer files left from an earlier, larger export
        if _LAYER_FILE.match(stale.name) and stale.name not in keep:
            try:
                stale.unlink()
            except OSError:
                pass


# --- reading: layers.json and the file names in it are untrusted input.


def is_layer_folder(path: Path) -> bool:
    """A folder, or the layers.json in one: both open as the folder's layers."""
    return path.is_dir() or path.name.lower() == LAYERS_JSON


@dataclass
class _Entry:
    file: Path
    label: str  # the file as layers.json or the folder names it, for messages
    name: str
    visible: bool


class _Bad(Exception):
    pass


def load_folder(path: Path, max_pixels: int) -> Document:
    """Open a folder written by `save_folder` or `decompose -o DIR`, or the folder of a
    layers.json path.

    Layers come back bottom first with the names and visibility layers.json gives, each
    cropped to its content at its canvas position. The PNGs have each layer's opacity baked
    in, so every layer opens at opacity 1 and looks as it did; the document's metadata
    comes back from layers.json. Without layers.json the numbered PNGs (`00.png`,
    `0000.png`, ...) are the layers, in numeric order, named "Layer 1", "Layer 2", ...
    `composite.png` is never a layer.
    """
    return _FolderReader(path, max_pixels).read()


class _FolderReader:
    def __init__(self, path: Path, max_pixels: int) -> None:
        self.path = path
        self.folder = path if path.is_dir() else path.parent
        self.max_pixels = max_pixels

    def fail(self, reason: str) -> ImportFailed:
        return ImportFailed(self.path, reason)

    def read(self) -> Document:
        manifest = self.folder / LAYERS_JSON
        info: dict[str, Any] = {}
        declared = None
        if self.path.is_dir() and not manifest.is_file():
            entries = self._numbered()
        else:
            info = self._manifest(manifest)
            try:
                entries = self._listed(info)
                declared = _declared_canvas(info)
            except _Bad as exc:
                raise self.fail(f"layers.json is invalid: {exc}") from None
        width, height = self._canvas(entries, declared)
        layers = self._layers(entries, width, height)
        metadata = {key: value for key, value in info.items() if key not in _LAYOUT_KEYS}
        return Document(width, height, layers, metadata=metadata)

    def _numbered(self) -> list[_Entry]:
        names = sorted(p.name for p in self.folder.iterdir())
        if not names:
            raise self.fail("the folder is empty")
        numbered: dict[int, str] = {}
        for name in names:
            if not _LAYER_FILE.match(name) or not (self.folder / name).is_file():
                continue
            number = int(name[:-4])
            if number in numbered:
                raise self.fail(f"two layer files have the same number ({numbered[number]}, "
                                f"{name})")
            numbered[number] = name
        if not numbered:
            raise self.fail("the folder holds neither layers.json nor numbered layer PNGs "
                            "(00.png, 01.png, ...)")
        if len(numbered) > MAX_LAYERS:
            raise self.fail(f"the folder has more than {MAX_LAYERS} layers")
        ordered = [numbered[number] for number in sorted(numbered)]
        return [_Entry(self.folder / name, name, f"Layer {i + 1}", True)
                for i, name in enumerate(ordered)]

    def _manifest(self, manifest: Path) -> dict[str, Any]:
        if not manifest.is_file():
            raise self.fail("the folder has no layers.json")
        with open(manifest, "rb") as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
        if len(raw) > MAX_MANIFEST_BYTES:
            raise self.fail(f"layers.json is larger than {MAX_MANIFEST_BYTES >> 20} MB")
        try:
            info = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise self.fail("layers.json is damaged (not valid JSON)") from None
        if not isinstance(info, dict):
            raise self.fail("layers.json is invalid: it is not a JSON object")
        return info

    def _listed(self, info: dict[str, Any]) -> list[_Entry]:
        listed = info.get("layers")
        if not isinstance(listed, list):
            raise _Bad("it has no layer list")
        if len(listed) > MAX_LAYERS:
            raise _Bad(f"it lists more than {MAX_LAYERS} layers")
        entries = []
        for index, item in enumerate(listed):
            if not isinstance(item, dict):
                raise _Bad(f"layer {index} is not an object")
            file, name = item.get("file"), item.get("name", f"Layer {index + 1}")
            visible = item.get("visible", True)
            if not isinstance(file, str) or not file:
                raise _Bad(f"layer {index} names no file")
            if not isinstance(name, str):
                raise _Bad(f"layer {index} has a name that is not text")
            if not isinstance(visible, bool):
                raise _Bad(f"layer {index} has a visibility that is not true or false")
            entries.append(_Entry(self._inside(file), file, name, visible))
        return entries

    def _inside(self, file: str) -> Path:
        """The file layers.json names, refused unless it is a layer file inside the folder."""
        pure = PurePosixPath(file.replace("\\", "/"))
        target = self.folder / pure
        outside = pure.is_absolute() or bool(PureWindowsPath(file).drive) or ".." in pure.parts
        if outside or not target.resolve().is_relative_to(self.folder.resolve()):
            raise self.fail(f"layers.json names a file outside the folder ({file})")
        if pure.name.lower() == COMPOSITE:
            raise self.fail(f"layers.json names {COMPOSITE} as a layer")
        if not target.is_file():
            raise self.fail(f"layers.json names {file}, which is not in the folder")
        return target

    def _canvas(
        self, entries: list[_Entry], declared: tuple[int, int] | None
    ) -> tuple[int, int]:
        """The size all layer PNGs share (read from their headers, nothing decoded yet)."""
        sizes: dict[tuple[int, int], str] = {}
        for entry in entries:
            im = self._open(entry)
            sizes.setdefault(im.size, entry.label)
            im.close()
            if len(sizes) > 1:
                (a, first), (b, other) = sizes.items()
                raise self.fail(f"the layer PNGs have different sizes ({first} is "
                                f"{a[0]}x{a[1]}, {other} is {b[0]}x{b[1]})")
        if not sizes:
            if declared is None:
                raise self.fail("layers.json lists no layers and no canvas size")
            reason = check_size(*declared, self.max_pixels)
            if reason:
                raise self.fail(reason)
            return declared
        size = next(iter(sizes))
        if declared is not None and declared != size:
            raise self.fail(f"the layer PNGs are {size[0]}x{size[1]}, not the "
                            f"{declared[0]}x{declared[1]} canvas layers.json declares")
        return size

    def _open(self, entry: _Entry) -> Image.Image:
        try:
            return open_checked(entry.file, self.path, self.max_pixels)
        except ImportFailed as exc:
            raise self.fail(f"{entry.label}: {exc.reason}") from None

    def _layers(self, entries: list[_Entry], width: int, height: int) -> list[Layer]:
        budget = TOTAL_PIXEL_FACTOR * self.max_pixels
        layers = []
        for entry in entries:
            im = self._open(entry)
            try:
                rgba = decode(im, self.path)
            except ImportFailed as exc:
                raise self.fail(f"{entry.label}: {exc.reason}") from None
            finally:
                im.close()
            if rgba.shape[:2] != (height, width):
                raise self.fail(f"{entry.label} is not {width}x{height} like the other layers")
            layer = Layer.from_canvas(rgba, entry.name, visible=entry.visible)
            budget -= layer.pixels.shape[0] * layer.pixels.shape[1]
            if budget < 0:
                raise self.fail(f"the layers together hold more than {TOTAL_PIXEL_FACTOR}x "
                                f"{LIMIT_WORDS} of {self.max_pixels:,}")
            layers.append(layer)
        return layers


def _declared_canvas(info: dict[str, Any]) -> tuple[int, int] | None:
    canvas = info.get("canvas")
    if canvas is None:
        return None
    if isinstance(canvas, dict):
        width, height = canvas.get("width"), canvas.get("height")
        if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height)):
            return width, height
    raise _Bad("the canvas size is not two positive whole numbers")


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
