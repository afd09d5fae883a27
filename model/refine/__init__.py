"""Full-resolution refinement of any layer stack against the picture it decomposes."""

from model.refine.core import ALPHA_MODES, MIN_ALPHA_FACTOR, Refined, RefineReport, refine_layers
from model.refine.inputs import RefineError

__all__ = [
    "ALPHA_MODES",
    "MIN_ALPHA_FACTOR",
    "RefineError",
    "RefineReport",
    "Refined",
    "refine_layers",
]
