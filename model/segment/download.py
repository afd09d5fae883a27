"""`models download NAME` for segmentation and matting weights: the same resumable,
safetensors-only, cancellable path as the Qwen weights (model/qwen/download.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from model.base import CancelToken, Progress
from model.segment.catalogue import Known
from model.segment.weights import SegmentWeights, check_path


def download(
    entry: Known,
    to: str | Path | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
    show_bars: bool = True,
    announce: Callable[[int], None] | None = None,
) -> SegmentWeights:
    from model.qwen import download as hub

    def check(folder: Path, _repo: str, source: str) -> SegmentWeights:
        return check_path(folder, entry.name, source, str(to) if to else entry.name,
                          catalogued=True)

    return hub.download(entry.repo, to, progress, cancel, show_bars, check=check,
                        announce=announce)
