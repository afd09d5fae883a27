"""A TextSpec as plain JSON-able fields and back, checked (sessions and ORA metadata share it).

Reading treats the fields as untrusted input: a wrong type or a value out of range is one
sentence (`ValueError`), never a half-made text layer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, fields, replace
from typing import Any

import numpy as np

from app.core.layer import Layer
from app.core.render import apply_recolor
from model.text_spec import TextSpec

MAX_LINES, MAX_CHARS = 10_000, 1_000_000
_NUMBERS = {"size_px": (0.01, 100_000.0), "tracking": (-100_000.0, 100_000.0),
            "line_spacing": (-100.0, 100.0), "x": (-1e7, 1e7), "y": (-1e7, 1e7),
            "fit_iou": (0.0, 1.0)}  # fmt: skip


def spec_fields(spec: TextSpec) -> dict[str, Any]:
    out = asdict(spec)
    out["lines"] = list(spec.lines)
    out["color"] = list(spec.color)
    return out


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"text {name} is not a number")
    low, high = _NUMBERS[name]
    if not low <= value <= high:
        raise ValueError(f"text {name} is out of range")
    return float(value)


def spec_from_fields(data: Any) -> TextSpec:
    """The TextSpec these fields describe; unknown keys are ignored (a newer writer)."""
    if not isinstance(data, dict):
        raise ValueError("text is not an object")
    lines = data.get("lines")
    if not isinstance(lines, list) or len(lines) > MAX_LINES or not all(
        isinstance(x, str) for x in lines
    ) or sum(len(x) for x in lines) > MAX_CHARS:
        raise ValueError("text lines are not a list of strings")
    family = data.get("family")
    if not isinstance(family, str) or not family or len(family) > 500:
        raise ValueError("text family is not a name")
    kwargs: dict[str, Any] = {"lines": tuple(lines), "family": family}
    names = {f.name for f in fields(TextSpec)}
    for name in names - {"lines", "family"}:
        if name not in data or (data[name] is None and name in ("font_file", "fit_iou")):
            continue
        value = data[name]
        if name in _NUMBERS:
            kwargs[name] = _number(value, name)
        elif name == "weight":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
                raise ValueError("text weight is not a whole number from 1 to 1000")
            kwargs[name] = value
        elif name == "italic":
            if not isinstance(value, bool):
                raise ValueError("text italic is not true or false")
            kwargs[name] = value
        elif name == "color":
            if not isinstance(value, list) or len(value) != 3 or not all(
                isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in value
            ):
                raise ValueError("text colour is not three whole numbers from 0 to 255")
            kwargs[name] = tuple(value)
        elif name == "align":
            if value not in ("left", "center", "right"):
                raise ValueError("text alignment is not left, center or right")
            kwargs[name] = value
        elif name in ("style", "font_file"):
            if not isinstance(value, str) or len(value) > 4096:
                raise ValueError(f"text {name} is not text")
            kwargs[name] = value
    return TextSpec(**kwargs)


def placed_spec(layer: Layer) -> TextSpec:
    """A text layer's spec as exported: its edits (offset, scale, recolor) folded in, so the
    words sit where the baked pixels are (size times the vertical scale)."""
    spec = layer.text
    assert spec is not None
    (cx, cy), (sx, sy), (dx, dy) = layer.center, layer.params.scale, layer.params.offset
    color = spec.color
    if not layer.params.recolor.is_identity():
        ink = apply_recolor(np.array([[[*spec.color, 255]]], np.uint8), layer.params.recolor)
        color = tuple(int(c) for c in ink[0, 0, :3])
    return replace(spec, x=cx + dx + sx * (spec.x - cx), y=cy + dy + sy * (spec.y - cy),
                   size_px=spec.size_px * abs(sy), color=color)


# OpenRaster keeps a text layer's words and type as attributes of its <layer> element in
# Strata's namespace (other readers ignore them and show the pixels).
ORA_NS = "https://github.com/strata-editor/ns/text/1"
_ORA_ATTRS = ("family", "style", "weight", "italic", "size_px", "color", "tracking",
              "line_spacing", "align", "x", "y")  # fmt: skip


def ora_attributes(spec: TextSpec) -> dict[str, str]:
    """`strata:NAME` -> value strings for a text layer's <layer> element."""
    values = spec_fields(spec)
    out = {"text": "\n".join(spec.lines)}
    for name in _ORA_ATTRS:
        value = values[name]
        if name == "color":
            value = "#" + "".join(f"{c:02x}" for c in value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out[name.replace("_", "-")] = str(value)
    return out


def spec_from_ora(attrs: dict[str, str]) -> TextSpec | None:
    """The TextSpec in a <layer> element's attributes (ElementTree's `{ns}name` keys), None
    when it has none; bad values raise ValueError."""
    def get(name: str) -> str | None:
        return attrs.get(f"{{{ORA_NS}}}{name.replace('_', '-')}")

    text = get("text")
    if text is None:
        return None
    data: dict[str, Any] = {"lines": text.split("\n"), "family": get("family")}
    for name in _ORA_ATTRS[1:]:
        raw = get(name)
        if raw is None:
            continue
        if name == "color":
            if len(raw) != 7 or raw[0] != "#":
                raise ValueError("text colour is not #rrggbb")
            data[name] = [int(raw[i : i + 2], 16) for i in (1, 3, 5)]
        elif name == "italic":
            data[name] = raw == "true"
        elif name == "weight":
            data[name] = int(raw)
        elif name in _NUMBERS:
            data[name] = float(raw)
        else:
            data[name] = raw
    return spec_from_fields(data)
