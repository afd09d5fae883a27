"""Strata: a layer editor whose layers come from an image decomposer."""

__version__ = "0.1.0"
