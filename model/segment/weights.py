"""Where segmentation and matting weights are, offline, and whether they are complete.

A name from the catalogue, a Hub id (the local Hub cache only) or a folder. Complete means:
config.json parses and every safetensors file (or every shard its index lists) has a header
that parses and is as long as that header says. Pickle files are never opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.base import DecomposeError
from model.qwen.weights import FolderChecker, human_size, locate
from model.segment.catalogue import known


class WeightsMissing(DecomposeError):
    """The weights are not there or not complete; the message is one sentence."""


@dataclass
class SegmentWeights:
    request: str  # what was asked for: a name, a Hub id or a folder
    name: str  # the catalogue name, or the request
    path: Path | None
    source: str  # "folder", "hub cache" or "not found"
    total_bytes: int = 0
    problem: str | None = None  # one sentence, None when the weights are usable

    @property
    def usable(self) -> bool:
        return self.path is not None and self.problem is None

    def summary(self) -> str:
        if self.path is None:
            return "not downloaded"
        state = "complete" if self.problem is None else "INCOMPLETE"
        return f"{self.path} ({self.source}), {human_size(self.total_bytes)}, {state}"


def download_hint(name: str) -> str:
    return f"`python main.py models download {name}`"


def not_found_sentence(request: str) -> str:
    entry = known(request)
    if entry is not None:
        return (
            f"The {entry.name} weights ({entry.repo}) are not downloaded; get them with "
            f"{download_hint(entry.name)}."
        )
    return (
        f"No weights were found at {request} (neither a folder nor a downloaded Hub id); "
        f"pass a folder that holds config.json and model.safetensors."
    )


def inspect(request: str) -> SegmentWeights:
    """Locate `request` offline and check its files; never loads a tensor."""
    entry = known(request)
    name = entry.name if entry else request
    path, source = locate(entry.repo if entry else request)
    if path is None:
        return SegmentWeights(request, name, None, "not found", problem=not_found_sentence(request))
    return check_path(path, name, source, request, catalogued=entry is not None)


def check_path(path: Path, name: str, source: str, request: str = "",
               catalogued: bool = True) -> SegmentWeights:
    """Check the files of a weights folder (config.json, safetensors headers and lengths)."""
    checker = FolderChecker(path)
    checker.json_file("model", path / "config.json")
    checker.weights("model", path)
    problem = None
    if checker.problems:
        if catalogued:
            problem = (f"The {name} weights in {path} are incomplete: {checker.problems[0]}; "
                       f"run {download_hint(name)} again to resume.")
        else:
            problem = (f"The weights in {path} are incomplete: {checker.problems[0]}; "
                       "use a complete copy.")
    return SegmentWeights(request or name, name, path, source, sum(checker.sizes.values()),
                          problem)


def find(request: str) -> SegmentWeights:
    """Like `inspect`, for callers that need usable weights: raises WeightsMissing."""
    report = inspect(request)
    if not report.usable:
        raise WeightsMissing(report.problem or not_found_sentence(request))
    return report


def first_usable(names: list[str]) -> SegmentWeights | None:
    """The first of `names` whose weights are present and complete."""
    for name in names:
        report = inspect(name)
        if report.usable:
            return report
    return None
