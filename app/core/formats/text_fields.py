"""A TextSpec as plain JSON-able fields and back, checked (sessions and ORA metadata share it).

Reading treats the fields as untrusted input: a wrong type or a value out of range is one
sentence (`ValueError`), never a half-made text layer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, fields
from typing import Any

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
