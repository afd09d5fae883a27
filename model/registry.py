"""Backends by name, and the `auto` choice (qwen when it can run here, else classic).

Every backend handed out here is wrapped in `model.layers.CheckedDecomposer`, so each result
holds only meaningful layers, whoever asks (CLI, editor, evaluation).
"""

from __future__ import annotations

import importlib

from model.base import DecomposeError, DecomposeOptions, Decomposer
from model.layers import CheckedDecomposer

# name -> "module:Class"; modules import lazily so that torch is only loaded for qwen.
BACKENDS: dict[str, str] = {
    "classic": "model.classic:ClassicDecomposer",
    "qwen": "model.qwen:QwenDecomposer",
}

_instances: dict[str, Decomposer] = {}


def backend_names() -> list[str]:
    return list(BACKENDS)


def get_backend(name: str) -> Decomposer:
    """The (cached) backend instance; a loaded qwen pipeline stays loaded between runs."""
    if name not in BACKENDS:
        raise DecomposeError(f"unknown backend '{name}'; choose one of: {', '.join(BACKENDS)}")
    if name not in _instances:
        module_name, class_name = BACKENDS[name].split(":")
        backend = getattr(importlib.import_module(module_name), class_name)()
        _instances[name] = CheckedDecomposer(backend)
    return _instances[name]


def choose_backend(name: str, options: DecomposeOptions) -> tuple[Decomposer, str]:
    """Resolve `auto` (or check a named backend); returns the backend and why it was chosen."""
    if name != "auto":
        backend = get_backend(name)
        available = backend.availability(options)
        if not available.ok:
            raise DecomposeError(available.reason)
        return backend, f"{name} (as asked)"
    qwen = get_backend("qwen")
    available = qwen.availability(options)
    if available.ok:
        return qwen, f"qwen: {available.reason}"
    return get_backend("classic"), f"classic, because qwen cannot run here: {available.reason}"
