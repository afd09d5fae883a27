"""Layer names a designer would give: "Background", the words of a text layer, "Rectangle"..."""

from __future__ import annotations

import numpy as np

MAX_TEXT_NAME = 40


def shape_name(mask: np.ndarray) -> str:
    """ "Rectangle", "Ellipse" or "Shape" from how the mask fills its bounding box."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size < 4 or cols.size < 4:
        return "Shape"
    box_area = float((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1))
    fill = float(mask.sum()) / box_area
    if fill > 0.96:
        return "Rectangle"
    if abs(fill - np.pi / 4) < 0.03:
        return "Ellipse"
    return "Shape"


def text_name(words: list[str]) -> str:
    text = " ".join(w.strip() for w in words if w.strip())
    if not text:
        return "Text"
    return text if len(text) <= MAX_TEXT_NAME else text[: MAX_TEXT_NAME - 1].rstrip() + "…"


def unique_names(names: list[str]) -> list[str]:
    """Number repeated names: "Shape", "Shape 2", "Shape 3"..."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return out
