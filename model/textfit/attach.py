"""Classic's hook: its text layers become live text when the font fit matches their pixels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.text_spec import TextSpec
from model.textfit.fit import fit_outcome


def _own_lines(alpha: np.ndarray, lines: Sequence) -> list:
    """The OCR lines with this layer's ink inside their box (solid alpha over at least 2 %
    of it)."""
    own = []
    for line in lines:
        y0, y1, x0, x1 = line.box
        inside = alpha[y0:y1, x0:x1]
        if inside.size and float((inside > 127).mean()) > 0.02 and float(inside.max()) > 127:
            own.append(line)
    return own


def text_specs(layers: Sequence, lines: Sequence, warnings: list[str]) -> list[TextSpec | None]:
    """One entry per layer (objects with `.rgba`, `.name`, `.kind`): the TextSpec of each text
    layer whose re-rendered words match its alpha at soft IoU >= MIN_IOU, else None. A text
    layer that stays pixels keeps its name and says why in `warnings`."""
    specs: list[TextSpec | None] = []
    for layer in layers:
        if layer.kind != "text" or not lines:
            specs.append(None)
            continue
        own = _own_lines(layer.rgba[:, :, 3], lines)
        outcome = fit_outcome(layer.rgba, own)
        if outcome.spec is None:
            warnings.append(f'text layer "{layer.name}" stays pixels: {outcome.reason}')
        specs.append(outcome.spec)
    return specs
