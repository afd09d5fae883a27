"""Text layers as live text: the font, size, weight, tracking, baseline and colour of a text
layer's pixels, fitted against the fonts installed on this machine (see notes/textfit.md)."""

from model.textfit.fit import MIN_IOU, FitOutcome, fit_lines, fit_outcome
from model.textfit.fonts import Face, families, find_face, installed_faces
from model.textfit.layer import fit_layer, fit_layer_outcome
from model.textfit.render import render_spec

__all__ = [
    "MIN_IOU",
    "Face",
    "FitOutcome",
    "families",
    "find_face",
    "fit_layer",
    "fit_layer_outcome",
    "fit_lines",
    "fit_outcome",
    "installed_faces",
    "render_spec",
]
