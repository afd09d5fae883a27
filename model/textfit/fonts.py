"""The fonts installed on this machine, as fontconfig lists them, with cheap per-face features.

The inventory (file, family, style, weight, slant, the characters each face covers) and each
face's unit features (stroke width and x-height per em, measured once from a render) are cached
on disk under the user's cache folder (`~/.cache/strata/textfit/`), keyed by the font files and
their modification times, so a later run costs one `fc-list` call and one small JSON read.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import ImageFont

CACHE_VERSION = 1
FEATURE_SIZE = 200  # em size in px of the render the unit features are measured on
FEATURE_TEXT = "HIlnoe"  # stems, bowls and a cap: a face's typical stroke
# fontconfig weights -> CSS weights (fontconfig.h: FC_WEIGHT_THIN 0 ... FC_WEIGHT_BLACK 210)
FC_WEIGHTS = ((0, 100), (40, 200), (50, 300), (55, 350), (75, 380), (80, 400), (100, 500),
              (180, 600), (200, 700), (205, 800), (210, 900))  # fmt: skip
_FIELDS = ("file", "index", "family[0]", "style[0]", "weight", "slant", "fontformat", "charset")
_FORMAT = "\t".join("%{" + name + "}" for name in _FIELDS) + "\n"
_lock = threading.Lock()


@dataclass(frozen=True)
class Face:
    file: str
    index: int
    family: str
    style: str
    weight: int  # CSS 100-900
    italic: bool
    ranges: tuple[tuple[int, int], ...]  # covered code points, inclusive ranges, sorted
    stroke: float = 0.0  # stroke width per em (2 x ink area / ink perimeter, measured)
    x_height: float = 0.0  # height of "x" per em

    def covers(self, text: str) -> bool:
        return all(_in_ranges(self.ranges, ord(c)) for c in set(text) if not c.isspace())


def _in_ranges(ranges: tuple[tuple[int, int], ...], code: int) -> bool:
    lo, hi = 0, len(ranges)
    while lo < hi:
        mid = (lo + hi) // 2
        if ranges[mid][1] < code:
            lo = mid + 1
        else:
            hi = mid
    return lo < len(ranges) and ranges[lo][0] <= code


def css_weight(fc_weight: float) -> int:
    return min(FC_WEIGHTS, key=lambda pair: abs(pair[0] - fc_weight))[1]


def _parse_charset(text: str) -> tuple[tuple[int, int], ...]:
    ranges = []
    for part in text.split():
        lo, _, hi = part.partition("-")
        try:
            ranges.append((int(lo, 16), int(hi or lo, 16)))
        except ValueError:
            continue
    return tuple(sorted(ranges))


def _list_fonts() -> list[list[str]]:
    if shutil.which("fc-list") is None:
        return []
    done = subprocess.run(["fc-list", "--format", _FORMAT], capture_output=True, text=True)
    return [row.split("\t") for row in done.stdout.splitlines() if row.count("\t") == 7]


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "strata" / "textfit"


def ink_stroke(alpha: np.ndarray) -> float:
    """Mean stroke width of a soft matte: twice its area over its perimeter (the perimeter
    from the matte's gradient, so anti-aliased edges count as they look)."""
    if min(alpha.shape) < 3:
        return 0.0
    gy, gx = np.gradient(alpha.astype(np.float32))
    perimeter = float(np.hypot(gx, gy).sum())
    return 2.0 * float(alpha.sum()) / perimeter if perimeter > 0 else 0.0


def _unit_features(file: str, index: int) -> tuple[float, float]:
    font = ImageFont.truetype(file, FEATURE_SIZE, index=index)
    core = font.getmask(FEATURE_TEXT, mode="L")
    mask = np.asarray(core, np.float32).reshape(core.size[::-1]) / 255.0
    box = font.getbbox("x", anchor="ls")
    return ink_stroke(mask) / FEATURE_SIZE, -box[1] / FEATURE_SIZE


def _face_of(row: list[str]) -> Face | None:
    file, index, family, style, weight, slant, fmt, charset = row
    if fmt not in ("TrueType", "CFF") or not family:
        return None  # Type 1 copies duplicate URW's OpenType faces; bitmap fonts do not scale
    try:
        return Face(
            file=file,
            index=int(index),
            family=family,
            style=style or "Regular",
            weight=css_weight(float(weight or 80)),
            italic=int(float(slant or 0)) > 0,
            ranges=_parse_charset(charset),
        )
    except ValueError:
        return None


def _key(rows: list[list[str]]) -> str:
    digest = hashlib.sha256(str(CACHE_VERSION).encode())
    for row in sorted(rows):
        try:
            stamp = os.stat(row[0]).st_mtime_ns
        except OSError:
            stamp = 0
        digest.update(f"{row[0]}\t{row[1]}\t{stamp}\n".encode())
    return digest.hexdigest()[:16]


def _measure(faces: list[Face]) -> list[Face]:
    measured = []
    for face in faces:
        try:
            stroke, x_height = _unit_features(face.file, face.index)
        except OSError:
            continue  # a file fontconfig lists but FreeType cannot open
        measured.append(Face(**{**asdict(face), "stroke": stroke, "x_height": x_height}))
    return measured


def _from_json(items: list[dict]) -> list[Face]:
    return [Face(**{**d, "ranges": tuple(tuple(r) for r in d["ranges"])}) for d in items]


@functools.cache
def installed_faces() -> tuple[Face, ...]:
    """Every scalable face installed, one per (family, style), with its unit features."""
    with _lock:
        rows = _list_fonts()
        path = cache_dir() / f"faces-{_key(rows)}.json"
        try:
            return tuple(_from_json(json.loads(path.read_text())))
        except (OSError, ValueError, TypeError, KeyError):
            pass
        seen: set[tuple[str, str]] = set()
        faces = []
        for row in sorted(rows, key=lambda r: (r[6] != "TrueType", r[0])):
            face = _face_of(row)
            if face is not None and (face.family, face.style) not in seen:
                seen.add((face.family, face.style))
                faces.append(face)
        faces = sorted(_measure(faces), key=lambda f: (f.family, f.weight, f.italic, f.style))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps([asdict(f) for f in faces]))
            tmp.replace(path)
        except OSError:
            pass  # a read-only cache only costs the measuring again next time
        return tuple(faces)


SYMBOL_WORDS = ("Symbol", "Math", "Keyboard", "Dingbat", "D050000L", "Nushu")


def text_faces(text: str) -> list[Face]:
    """The installed faces that can set `text` (every character covered), symbol fonts left
    out (their letters' code points hold pictures, not letters)."""
    return [
        face
        for face in installed_faces()
        if face.covers(text) and not any(word in face.family for word in SYMBOL_WORDS)
    ]


def find_face(family: str, style: str = "Regular", file: str | None = None) -> Face | None:
    """The installed face of that family and style (else that file, else the family's face
    nearest to that style), or None when the family is not installed."""
    faces = installed_faces()
    for face in faces:
        if face.family == family and face.style == style:
            return face
    if file:
        for face in faces:
            if face.file == file:
                return face
    same = [f for f in faces if f.family == family]
    bold, italic = "Bold" in style, "Italic" in style or "Oblique" in style
    same.sort(key=lambda f: (f.weight >= 600) != bold or f.italic != italic)
    return same[0] if same else None


def families() -> list[str]:
    return sorted({face.family for face in installed_faces()})


@functools.lru_cache(maxsize=4096)
def font(file: str, index: int, size: float) -> ImageFont.FreeTypeFont:
    """A face at a size (sizes are rounded to 1/64 px, FreeType's unit)."""
    return ImageFont.truetype(file, round(size * 64) / 64, index=index)
