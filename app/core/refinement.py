"""A layered document refined against a picture (`python main.py refine`): its visible layers
brought to the picture's size and made to reproduce it (model/refine)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.core.decomposition import layers_from_arrays
from app.core.document import Document
from app.core.formats.bake import bake_layer, full_canvas
from model.refine.core import RefineReport, refine_layers
from model.refine.inputs import RefineError
from model.refine.upsample import to_size


def stack_arrays(doc: Document) -> list[tuple[np.ndarray, str, bool]]:
    """Each layer as the full canvas with its edits and opacity baked in: (RGBA, name,
    visible), bottom first."""
    out = []
    for layer in doc.layers:
        baked = bake_layer(doc, layer, with_opacity=True)
        out.append((full_canvas(doc, baked), layer.name, bool(layer.params.visible)))
    return out


def refine_document(
    picture: np.ndarray,
    doc: Document,
    check: Callable[[], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Document, RefineReport]:
    """A new document the picture's size whose visible layers reproduce the picture; hidden
    layers are only scaled. Raises RefineError with one sentence."""
    stack = stack_arrays(doc)
    if not stack:
        raise RefineError("the layered file holds no layers")
    shown = [rgba for rgba, _, visible in stack if visible]
    if not shown:
        raise RefineError("every layer is hidden; there is nothing to refine")
    refined = refine_layers(picture, shown, check=check, progress=progress)
    height, width = refined.layers[0].shape[:2]
    arrays, hidden = [], []
    done = iter(refined.layers)
    for rgba, name, visible in stack:
        arrays.append((next(done) if visible else to_size(rgba, (width, height)), name))
        hidden.append(not visible)
    out = Document.from_image(picture)
    out.layers = layers_from_arrays(arrays)
    for layer, is_hidden in zip(out.layers, hidden):
        if is_hidden:
            layer.params = layer.params.with_(visible=False)
    out.metadata.update(doc.metadata)
    report = refined.report
    out.metadata["refine"] = {
        "reconstruction_db": round(report.psnr_db, 2),
        "exact_share": round(report.exact_share, 6),
        "seconds": round(report.seconds, 3),
        "scale": round(report.scale, 3),
        "alpha_layers": report.alpha_layers,
        "drift_layers": report.drift_layers,
    }
    return out, report
