"""Text layers: making them, and the undoable edits of their words and type.

A text layer is a `Layer` whose `text` holds a `TextSpec`; its pixels are that spec rendered
at document scale (`text_render`), or the pixels it was found with until its text is first
edited (a decomposition's unmixed ink, the pixels Photoshop stored in a PSD, which also
covers a font that is not installed here). An edit renders once, when the command is made;
the command keeps both renders, so undo and redo swap references and never re-render.
Scaling a text layer changes its size in px (about the centre of its pixels), not its pixels.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace

import numpy as np

from app.core.commands import Command
from app.core.document import Document
from app.core.layer import Layer, LayerParams
from app.core.text_render import render_text
from model.text_spec import TextSpec

MIN_SIZE_PX, MAX_SIZE_PX = 1.0, 4000.0
ALIGNMENTS = ("left", "center", "right")


@dataclass(frozen=True)
class TextState:
    """What a text edit changes: the spec (None: pixels only), its pixels, and the params
    (the name follows the words when it was the words)."""

    text: TextSpec | None
    pixels: np.ndarray
    origin: tuple[int, int]
    params: LayerParams


def _state(layer: Layer) -> TextState:
    return TextState(layer.text, layer.pixels, layer.origin, layer.params)


def words(spec: TextSpec) -> str:
    return " ".join(line.strip() for line in spec.lines if line.strip())


def text_layer(spec: TextSpec, name: str | None = None, rgba: np.ndarray | None = None,
               origin: tuple[int, int] | None = None, **params) -> Layer:
    """A text layer: `rgba` at `origin` are the pixels it was found with (kept as they
    are), or without them its render."""
    if rgba is None:
        rendered = render_text(spec)
        rgba, origin = rendered.rgba, rendered.origin
    elif origin is None:
        origin = (0, 0)
    return Layer(rgba, origin, LayerParams(name=name or words(spec) or "Text", **params),
                 text=spec)


@dataclass
class SetText(Command):
    """Replace a layer's text, pixels and (for a rename that follows the words) params."""

    layer_id: str
    old: TextState
    new: TextState
    text: str = "Edit Text"
    merge_key: Hashable | None = None

    def _apply(self, doc: Document, state: TextState) -> None:
        layer = doc.layer(self.layer_id)
        layer.text, layer.pixels, layer.origin, layer.params = (
            state.text, state.pixels, state.origin, state.params,
        )

    def do(self, doc: Document) -> None:
        self._apply(doc, self.new)

    def undo(self, doc: Document) -> None:
        self._apply(doc, self.old)

    def merge(self, later: Command) -> bool:
        if not isinstance(later, SetText) or later.layer_id != self.layer_id:
            return False
        self.new = later.new
        return True


def _clean(changes: dict) -> dict:
    out = dict(changes)
    if "lines" in out:
        lines = out["lines"]
        if isinstance(lines, str):
            lines = lines.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        out["lines"] = tuple(lines)
    if "size_px" in out:
        out["size_px"] = float(np.clip(out["size_px"], MIN_SIZE_PX, MAX_SIZE_PX))
    if "align" in out and out["align"] not in ALIGNMENTS:
        raise ValueError(f"alignment must be one of {', '.join(ALIGNMENTS)}")
    if "color" in out:
        out["color"] = tuple(int(np.clip(c, 0, 255)) for c in out["color"])
    return out


_VERBS = {"lines": "Edit Words", "family": "Font", "style": "Font Style", "weight": "Font Style",
          "italic": "Font Style", "size_px": "Font Size", "color": "Text Colour",
          "align": "Align Text", "tracking": "Tracking", "line_spacing": "Line Spacing"}


def _require_text(doc: Document, layer_id: str) -> Layer:
    layer = doc.layer(layer_id)
    if layer.text is None:
        raise ValueError(f"'{layer.name}' is not a text layer")
    return layer


def _rendered(layer: Layer, spec: TextSpec, rename: bool = True) -> TextState:
    rendered = render_text(spec)
    params = layer.params
    if rename and layer.text is not None and layer.name == words(layer.text) and words(spec):
        params = params.with_(name=words(spec))
    spec = replace(spec, font_file=rendered.font_file)
    return TextState(spec, rendered.rgba, rendered.origin, params)


def edit_text(doc: Document, layer_id: str, gesture: Hashable = None, **changes) -> SetText:
    """Change a text layer's words or type (any TextSpec field: lines, family, style, weight,
    italic, size_px, color, tracking, line_spacing, align, x, y); it re-renders. A gesture
    (a slider drag) folds into one undo step."""
    layer = _require_text(doc, layer_id)
    changes = _clean(changes)
    if "style" in changes and "weight" not in changes:
        from app.core.fonts import weight_italic

        changes["weight"], changes["italic"] = weight_italic(changes["style"])
    spec = replace(layer.text, **changes)
    verb = _VERBS.get(next(iter(changes), ""), "Edit Text")
    key = None if gesture is None else ("text", tuple(sorted(changes)), layer_id, gesture)
    return SetText(layer_id, _state(layer), _rendered(layer, spec), f"{verb} '{layer.name}'", key)


def scale_base(layer: Layer) -> tuple[TextSpec, tuple[float, float]]:
    """What a scale gesture starts from: the spec and the centre of the pixels."""
    assert layer.text is not None
    return layer.text, layer.center


def scale_text(doc: Document, layer_id: str, factor: float, gesture: Hashable = None,
               base: tuple[TextSpec, tuple[float, float]] | None = None) -> SetText:
    """Scale a text layer by `factor` from `base` (`scale_base` of the layer when the
    gesture began; now when None): its size changes (tracking is in em, so it follows),
    about the centre of its pixels."""
    layer = _require_text(doc, layer_id)
    spec, (cx, cy) = base if base is not None else scale_base(layer)
    size = float(np.clip(spec.size_px * factor, MIN_SIZE_PX, MAX_SIZE_PX))
    f = size / spec.size_px
    scaled = replace(spec, size_px=size, x=cx + (spec.x - cx) * f, y=cy + (spec.y - cy) * f)
    key = None if gesture is None else ("text-scale", layer_id, gesture)
    return SetText(layer_id, _state(layer), _rendered(layer, scaled, rename=False),
                   f"Scale '{layer.name}'", key)


def rasterize(doc: Document, layer_id: str) -> SetText:
    """Text -> pixels: the layer keeps what it shows and forgets its words."""
    layer = _require_text(doc, layer_id)
    new = TextState(None, layer.pixels, layer.origin, layer.params)
    return SetText(layer_id, _state(layer), new, f"Rasterize '{layer.name}'")


def convert_to_text(doc: Document, layer_id: str, spec: TextSpec, render: bool = False) -> SetText:
    """Pixels -> text: the layer becomes a text layer with `spec`, keeping its pixels (they
    are what the words were read from) unless `render`."""
    layer = doc.layer(layer_id)
    if render:
        new = _rendered(layer, spec, rename=False)
    else:
        new = TextState(spec, layer.pixels, layer.origin, layer.params)
    return SetText(layer_id, _state(layer), new, f"Convert '{layer.name}' to Text")


def rerender(doc: Document, layer_id: str) -> SetText:
    """Render a text layer's spec again (after its font was installed or replaced)."""
    layer = _require_text(doc, layer_id)
    return SetText(layer_id, _state(layer), _rendered(layer, layer.text, rename=False),
                   f"Render '{layer.name}'")
