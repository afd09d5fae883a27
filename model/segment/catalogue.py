"""The segmentation and matting weights Strata knows by name: what `models download NAME`
fetches and what `models` lists. Sizes are approximate (fp32 safetensors; the download asks
the Hub for the exact size first)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Known:
    name: str  # what the user types: `python main.py models download NAME`
    repo: str  # Hub repository id
    kind: str  # "segment" or "matte"
    size: str  # roughly, shown before a download starts
    note: str


KNOWN: tuple[Known, ...] = (
    Known("edgetam", "yonigozlan/EdgeTAM-hf", "segment", "40 MB",
          "default: the fastest embedding on a CPU (31x faster than ViT-B measured on 2 cores; "
          "needs the timm package)"),
    Known("sam-vit-base", "facebook/sam-vit-base", "segment", "375 MB",
          "Segment Anything ViT-B, the original; slow to embed on a CPU"),
    Known("sam2.1-hiera-tiny", "facebook/sam2.1-hiera-tiny", "segment", "156 MB",
          "SAM 2.1, finer masks than ViT-B, slower embedding"),
    Known("sam-hq-vit-base", "syscv-community/sam-hq-vit-base", "segment", "380 MB",
          "HQ-SAM: finer boundaries (hair, thin parts)"),
    Known("sam-vit-huge", "facebook/sam-vit-huge", "segment", "2.6 GB",
          "the largest, best masks; a GPU recommended"),
    Known("vitmatte", "hustvl/vitmatte-small-composition-1k", "matte", "100 MB",
          "ViTMatte: learned alpha along mask edges (hair, fur)"),
)
DEFAULT_SEGMENTER = "edgetam"
DEFAULT_MATTER = "vitmatte"


def known(name: str) -> Known | None:
    """The entry for a short name or a Hub id."""
    for entry in KNOWN:
        if name in (entry.name, entry.repo):
            return entry
    return None


def names(kind: str | None = None) -> list[str]:
    return [k.name for k in KNOWN if kind is None or k.kind == kind]
