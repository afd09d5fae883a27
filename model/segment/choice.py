"""Which segmentation and matting weights to use: the environment's choice, or the first
complete catalogue model (the default first). Offline; never loads a tensor."""

from __future__ import annotations

import os

from model.segment.catalogue import DEFAULT_MATTER, DEFAULT_SEGMENTER, names

ENV_MODEL = "STRATA_SEGMENT_MODEL"  # a catalogue name, Hub id or folder
ENV_MATTER = "STRATA_MATTE_MODEL"


def segment_request() -> list[str]:
    """What to look for, in order: the environment's choice alone, or the catalogue's
    segmentation models with the default first."""
    chosen = os.environ.get(ENV_MODEL, "").strip()
    if chosen:
        return [chosen]
    rest = [n for n in names("segment") if n != DEFAULT_SEGMENTER]
    return [DEFAULT_SEGMENTER, *rest]


def matte_request() -> str:
    return os.environ.get(ENV_MATTER, "").strip() or DEFAULT_MATTER
