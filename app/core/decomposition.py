"""Turning a decomposer's result into document layers and undoable commands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from app.core.commands import ReplaceLayers, SetAllLayers, bake_layers
from app.core.document import Document
from app.core.layer import Layer


def layers_from_arrays(
    arrays: Sequence[tuple], origin: tuple[int, int] = (0, 0)
) -> list[Layer]:
    """Layers (bottom first) from full-size RGBA arrays placed at `origin`, cropped to content.

    Each entry is (rgba, name) or (rgba, name, text): a decomposer's `DecomposedLayer.text`
    makes a text layer that keeps the pixels it was found with (its spec is in the array's
    coordinates, moved by `origin` here)."""
    layers = []
    for rgba, name, *rest in arrays:
        layer = Layer.from_canvas(rgba, name, origin)
        text = rest[0] if rest else None
        if text is not None:
            layer.text = replace(text, x=text.x + origin[0], y=text.y + origin[1])
        layers.append(layer)
    return layers


def picture_layers(arrays: Sequence[tuple]) -> list[Layer]:
    """The layers of a decomposition of the whole picture, bottom first: the bottom one
    (the photo's background) has its position locked, as Photoshop's Background."""
    layers = layers_from_arrays(arrays)
    if layers:
        layers[0].params = layers[0].params.with_(locked=True)
    return layers


def decompose_document_command(doc: Document, arrays, text: str = "Decompose") -> SetAllLayers:
    """Replace the whole stack by a decomposition of the picture, as one undo step."""
    return SetAllLayers(picture_layers(arrays), text)


def layer_input(doc: Document, layer_id: str) -> tuple[np.ndarray, tuple[int, int]]:
    """A layer's edited pixels (baked) as an RGBA array, and where it sits on the canvas.

    Recursive decomposition works on what the user sees of that layer.
    """
    layer = doc.layer(layer_id).copy()
    layer.params = layer.params.with_(visible=True)
    baked = bake_layers(doc, [layer], layer.name)
    return baked.pixels, baked.origin


def decompose_layer_command(
    doc: Document, layer_id: str, arrays, origin: tuple[int, int]
) -> ReplaceLayers:
    """Replace one layer by its sub-layers (arrays are the size of the layer's pixels); the
    parts are not locked, even the bottom one: they were asked for in order to move them."""
    name = doc.layer(layer_id).name
    parts = layers_from_arrays(arrays, origin)
    return ReplaceLayers([layer_id], parts, f"Decompose '{name}'")


def result_document(rgba: np.ndarray, result, **metadata) -> Document:
    """A document of a decomposition of the whole picture `rgba` (a `DecomposeResult`), with
    what the result says about itself in its metadata (what `decompose` and `batch` save)."""
    doc = Document.from_image(rgba)
    doc.layers = picture_layers(
        [(layer.rgba, layer.name, layer.text) for layer in result.layers]
    )
    doc.metadata.update(
        backend=result.backend,
        device=result.device,
        caption=result.caption,
        timings=dict(result.timings),
        reconstruction_db=result.reconstruction_db,
        warnings=list(result.warnings),
    )
    doc.metadata.update(metadata)
    return doc
