"""CLI subcommands `info` (what a layered file holds) and `export` (convert between formats)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli.options import OUTPUT_FORMATS, add_max_pixels
from app.core import wording
from app.core.formats import check_output, detect_format, load_document, save_document
from model.text_spec import TextSpec

_KIND_NAMES = {
    "psd": "PSD",
    "ora": "OpenRaster",
    "session": "Strata session",
    "folder": "folder of layer PNGs",
}
_INPUT_HELP = "an image, PSD, OpenRaster or session file, or a folder of layer PNGs"


def register(sub: argparse._SubParsersAction) -> None:
    info = sub.add_parser("info", help="show what a layered (or flat) file holds")
    info.add_argument("file", help=_INPUT_HELP)
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_max_pixels(info)
    info.set_defaults(handler=run_info)

    export = sub.add_parser(
        "export",
        help="convert between session, PSD, ORA, PNG/JPEG/WebP and a folder of layer PNGs",
    )
    export.add_argument("input", help=_INPUT_HELP)
    export.add_argument(
        "-o", "--output", required=True,
        help=f"output path, its extension picks the format: {OUTPUT_FORMATS}; never the input",
    )
    add_max_pixels(export)
    export.set_defaults(handler=run_export)


def _kind(path: Path) -> str:
    try:
        kind = detect_format(path)
    except Exception:  # noqa: BLE001 - load_document has already read it successfully
        return "unknown"
    return _KIND_NAMES.get(kind, f"image ({path.suffix.lstrip('.').upper() or 'unknown'})")


def describe(path: Path, max_pixels: int | None = None) -> dict:
    """What `info` shows; the pixel limit is the call's, else the program's."""
    doc = load_document(path, max_pixels)
    layers = []
    for index, layer in enumerate(doc.layers):
        x0, y0, x1, y1 = layer.bounds()
        layers.append(
            {
                "index": index,
                "id": layer.id,
                "name": layer.name,
                "bounds": [round(v, 2) for v in (x0, y0, x1 - x0, y1 - y0)],
                "opacity": round(layer.params.opacity, 4),
                "visible": layer.params.visible,
            }
        )
        if layer.text is not None:
            layers[-1]["text"] = _text_info(layer.text)
    return {
        "file": str(path),
        "format": _kind(path),
        "width": doc.width,
        "height": doc.height,
        "layer_count": len(doc.layers),
        "has_source": doc.source is not None,
        "layers": layers,
        "metadata": doc.metadata,
    }


def _text_info(spec: TextSpec) -> dict:
    return {
        "words": "\n".join(spec.lines),
        "family": spec.family,
        "style": spec.style,
        "size_px": round(spec.size_px, 2),
        "color": "#{:02x}{:02x}{:02x}".format(*spec.color),
    }


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def run_info(args: argparse.Namespace) -> int:
    info = describe(Path(args.file))
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2, default=str))
        return 0
    count = info["layer_count"]
    print(
        f"{info['file']}: {info['format']}, {info['width']}x{info['height']}, "
        f"{count} layer{'s' if count != 1 else ''} (index 0 = bottom)"
    )
    width = max([len(layer["name"]) for layer in info["layers"]] + [4])
    print(f"  {'#':>3}  {'name':<{width}}  {'x, y, width, height':<24} opacity  visible")
    for layer in info["layers"]:
        bounds = ", ".join(_num(v) for v in layer["bounds"])
        print(
            f"  {layer['index']:>3}  {layer['name']:<{width}}  {bounds:<24} "
            f"{layer['opacity']:>7.2f}  {'yes' if layer['visible'] else 'no'}"
        )
        if "text" in layer:
            text = layer["text"]
            words = text["words"].replace("\n", " / ")
            print(f"  {'':>3}  text: \u201c{words}\u201d {text['family']} {text['style']}, "
                  f"{text['size_px']:g} px, {text['color']}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    source, target = Path(args.input), Path(args.output)
    check_output(target, (source,))
    doc = load_document(source)
    save_document(doc, target)
    count = len(doc.layers)
    print(f"wrote {target} ({doc.width}x{doc.height}, {wording.count(count, 'layer')})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python main.py info|export ...")
