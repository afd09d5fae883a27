"""Full-resolution refinement of any layer stack against the picture it decomposes.

`refine_layers` (model/refine/core.py) loads numba's compiled kernels: it is imported on first
use, so that importing `model.refine.results` (the editor, the CLI) stays cheap.
"""

from typing import Any

from model.refine.inputs import RefineError

__all__ = ["ALPHA_MODES", "RefineError", "RefineReport", "Refined", "refine_layers"]


def __getattr__(name: str) -> Any:
    if name in ("ALPHA_MODES", "RefineReport", "Refined", "refine_layers"):
        from model.refine import core

        return getattr(core, name)
    raise AttributeError(f"module 'model.refine' has no attribute {name!r}")
