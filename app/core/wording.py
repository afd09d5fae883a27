"""Counting words the way people write them: "1 layer", "3 layers"."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, singular for exactly one: count(1, "layer") == "1 layer"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
