"""PSD files -> evaluation samples, as the paper builds its data from layered designs.

For each PSD (psd-tools): walk the layer tree bottom first and cut it into units that can be
stacked with plain "over" and still look like the document:
- hidden layers and groups (their own flag or a hidden parent) are dropped;
- a layer with clipping layers is rendered together with them (psd-tools' `composite()` of the
  base includes its clip layers); the clipped layers are not units of their own;
- a group that composites like its children (pass-through or normal blending, full opacity, no
  mask, no effects, no clipping) is opened; any other group is rendered whole, as one unit;
- empty and fully transparent units are dropped.
Then neighbours are merged until at most `max_layers` remain (the pair covering the fewest
pixels first), the canvas is resized to `short_side` on its short side, duplicates are removed
by a perceptual hash of the composite, and the sample is written. Blend modes other than normal
cannot be stacked with "over"; such layers are rendered as normal and the report says so, with
how far the stack's composite is from psd-tools' render of the whole document.

Bad or unsupported files are skipped with a reason in report.json; nothing stops the run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.fft import dctn

from model.evaluation.compose import flatten
from model.evaluation.dataset import write_sample

MIN_SIDE = 32  # below this the source is too small to be a meaningful sample


@dataclass
class _Unit:
    name: str
    rgba: np.ndarray  # full canvas, HxWx4 uint8


@dataclass
class _Converted:
    layers: list[np.ndarray]
    original_size: tuple[int, int]
    warnings: list[str] = field(default_factory=list)
    max_abs_diff: int = 0
    mean_abs_diff: float = 0.0


class SkipPsd(Exception):
    """This PSD cannot become a sample; the message is the reason in the report."""


def _render(layer, viewport: tuple[int, int, int, int]) -> np.ndarray | None:
    image = layer.composite(viewport=viewport)
    if image is None:
        return None
    rgba = np.asarray(image.convert("RGBA"))
    if rgba.shape[:2] != (viewport[3], viewport[2]) or not rgba[:, :, 3].any():
        return None
    return rgba


def _opens_cleanly(group) -> bool:
    from psd_tools.constants import BlendMode

    return (
        group.blend_mode in (BlendMode.PASS_THROUGH, BlendMode.NORMAL)
        and group.opacity == 255
        and not group.has_mask()
        and not group.has_effects()
        and not group.has_clip_layers()
    )


def _units(group, viewport, warnings: list[str]) -> list[_Unit]:
    from psd_tools.constants import BlendMode

    out: list[_Unit] = []
    for layer in group:  # psd-tools iterates bottom first
        if not layer.is_visible() or layer.clipping:
            continue
        if layer.is_group() and _opens_cleanly(layer):
            out.extend(_units(layer, viewport, warnings))
            continue
        if layer.kind == "adjustment":
            warnings.append(f"adjustment layer '{layer.name}' dropped: it is not a picture")
            continue
        if layer.blend_mode not in (BlendMode.NORMAL, BlendMode.PASS_THROUGH):
            warnings.append(
                f"'{layer.name}' uses blend mode {layer.blend_mode.name}; stacked as normal"
            )
        rgba = _render(layer, viewport)
        if rgba is not None:
            out.append(_Unit(layer.name, rgba))
    return out


def _coverage(rgba: np.ndarray) -> int:
    return int(np.count_nonzero(rgba[:, :, 3]))


def limit_layers(layers: list[np.ndarray], max_layers: int) -> list[np.ndarray]:
    """Merge neighbours (the pair covering the fewest pixels first) until at most max_layers."""
    layers = list(layers)
    covered = [_coverage(x) for x in layers]
    while len(layers) > max(1, max_layers):
        i = min(range(len(layers) - 1), key=lambda k: covered[k] + covered[k + 1])
        merged = flatten(layers[i : i + 2])
        layers[i : i + 2] = [merged]
        covered[i : i + 2] = [_coverage(merged)]
    return layers


def resize_layers(layers: list[np.ndarray], short_side: int) -> list[np.ndarray]:
    h, w = layers[0].shape[:2]
    scale = short_side / min(w, h)
    if scale == 1.0:
        return layers
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    method = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    # Pillow resizes RGBA with premultiplied alpha, so no dark fringes appear
    return [np.asarray(Image.fromarray(x, "RGBA").resize(size, method)) for x in layers]


def convert_psd(path: Path, max_layers: int = 20, short_side: int = 512) -> _Converted:
    """The sample's layers (bottom first) for one PSD; raises SkipPsd with the reason."""
    from psd_tools import PSDImage

    try:
        psd = PSDImage.open(path)
    except Exception as exc:  # noqa: BLE001 - any parser failure is a reason to skip
        raise SkipPsd(f"psd-tools cannot read it: {exc}".splitlines()[0]) from exc
    width, height = psd.size
    from app.core.formats.limits import check_size, max_pixels

    too_big = check_size(width, height, max_pixels())
    if too_big:
        raise SkipPsd(too_big)
    if min(width, height) < MIN_SIDE:
        raise SkipPsd(f"too small: {width}x{height} (the short side must be {MIN_SIDE} or more)")
    viewport = (0, 0, width, height)
    warnings: list[str] = []
    units = _units(psd, viewport, warnings)
    if len(units) < 2:
        raise SkipPsd(f"{len(units)} visible non-empty layer(s); a sample needs 2 or more")
    layers = [u.rgba for u in units]
    converted = _Converted([], (width, height), warnings)
    reference = psd.composite(ignore_preview=True)
    if reference is not None:
        diff = np.abs(
            flatten(layers).astype(np.int16) - np.asarray(reference.convert("RGBA"), np.int16)
        )
        visible = np.asarray(reference.convert("RGBA"))[:, :, 3:] > 0
        diff = diff * np.concatenate([visible] * 3 + [np.ones_like(visible)], axis=2)
        converted.max_abs_diff = int(diff.max())
        converted.mean_abs_diff = float(diff.mean())
    if len(layers) > max_layers:
        warnings.append(f"{len(layers)} layers merged down to {max_layers}")
        layers = limit_layers(layers, max_layers)
    layers = [x for x in resize_layers(layers, short_side) if x[:, :, 3].any()]
    if len(layers) < 2:
        raise SkipPsd("fewer than 2 layers remain after resizing")
    converted.layers = layers
    return converted


def phash(rgba: np.ndarray) -> int:
    """64-bit perceptual hash (DCT of a 32x32 grey thumbnail over white, above/below median)."""
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    grey = (rgba[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)).mean(axis=2)
    thumb = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L")
    small = np.asarray(thumb.resize((32, 32), Image.Resampling.BOX), np.float64)
    low = dctn(small, norm="ortho")[:8, :8].reshape(-1)
    bits = low > np.median(low[1:])
    return int("".join("1" if b else "0" for b in bits), 2)


def _sample_name(path: Path, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem).strip("._") or "psd"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def find_psds(psd_dir: Path) -> list[Path]:
    psd_dir = Path(psd_dir)
    if not psd_dir.is_dir():
        raise FileNotFoundError(f"{psd_dir} is not a folder")
    return sorted(p for p in psd_dir.rglob("*") if p.suffix.lower() in (".psd", ".psb"))


def build_dataset(
    psd_dir: Path,
    out_dir: Path,
    max_layers: int = 20,
    short_side: int = 512,
    dedupe_bits: int = 2,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> dict:
    """Convert every PSD under psd_dir; writes the samples and report.json, returns the report."""
    psds = find_psds(psd_dir)
    if not psds:
        raise FileNotFoundError(f"no .psd files under {psd_dir}")
    if on_start is not None:
        on_start(len(psds))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {"source": str(psd_dir), "written": [], "skipped": [], "duplicates": []}
    hashes: list[tuple[int, str]] = []
    taken: set[str] = set()
    for path in psds:
        try:
            converted = convert_psd(path, max_layers, short_side)
            composite = flatten(converted.layers)
            digest = phash(composite)
            twin = next((n for h, n in hashes if bin(h ^ digest).count("1") <= dedupe_bits), None)
            if twin is not None:
                report["duplicates"].append({"source": str(path), "duplicate_of": twin})
            else:
                name = _sample_name(path, taken)
                write_sample(out_dir / name, composite, converted.layers)
                hashes.append((digest, name))
                h, w = composite.shape[:2]
                report["written"].append(
                    {
                        "name": name,
                        "source": str(path),
                        "layers": len(converted.layers),
                        "size": [w, h],
                        "original_size": list(converted.original_size),
                        "max_abs_diff_to_psd_render": converted.max_abs_diff,
                        "mean_abs_diff_to_psd_render": round(converted.mean_abs_diff, 4),
                        "warnings": converted.warnings,
                    }
                )
        except SkipPsd as exc:
            report["skipped"].append({"source": str(path), "reason": str(exc)})
        except MemoryError:
            report["skipped"].append({"source": str(path), "reason": "out of memory"})
        except Exception as exc:  # noqa: BLE001 - a bad file is reported, the run goes on
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            report["skipped"].append({"source": str(path), "reason": reason})
        if progress is not None:
            progress(1)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    return report
