"""The embedded CPU decomposer (no downloaded weights)."""

from model.classic.decomposer import ClassicDecomposer

__all__ = ["ClassicDecomposer"]
