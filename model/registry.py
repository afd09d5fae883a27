"""Backends by name, and the `auto` choice (qwen when it can run here, else classic)."""

from __future__ import annotations

import importlib

from model.base import DecomposeError, DecomposeOptions, Decomposer

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
        _instances[name] = getattr(importlib.import_module(module_name), class_name)()
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
