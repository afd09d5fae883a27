"""The fonts installed on this machine, through fontconfig (`fc-list`, `fc-match`), cached.

A text layer names its font by family and style, as a designer does; this module turns that
into a font file, lists what is installed (the editor's font list) and says, for a font that
is not installed, which installed one is closest (fontconfig's own substitution).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

# CSS weight -> fontconfig weight (fontconfig.h: FC_WEIGHT_THIN 0 ... FC_WEIGHT_BLACK 210)
_FC_WEIGHTS = {100: 0, 200: 40, 300: 50, 400: 80, 500: 100, 600: 180, 700: 200, 800: 205, 900: 210}
_STYLE_WEIGHTS = (
    ("thin", 100), ("hairline", 100), ("extralight", 200), ("ultralight", 200), ("light", 300),
    ("book", 400), ("regular", 400), ("normal", 400), ("medium", 500), ("semibold", 600),
    ("demibold", 600), ("extrabold", 800), ("ultrabold", 800), ("bold", 700), ("black", 900),
    ("heavy", 900),
)  # fmt: skip


@dataclass(frozen=True)
class FontMatch:
    file: str
    family: str  # the installed family fontconfig chose (its first name)
    style: str
    postscript: str = ""  # its PostScript name (what a PSD type layer names)


def weight_italic(style: str) -> tuple[int, bool]:
    """CSS weight and italic flag named by a style ("Bold Italic" -> 700, True)."""
    key = style.lower().replace(" ", "").replace("-", "")
    weight = 400
    for word, value in _STYLE_WEIGHTS:  # longer names first where one contains another
        if word in key:
            weight = value
            break
    return weight, ("italic" in key or "oblique" in key)


def style_name(weight: int, italic: bool) -> str:
    """A conventional style name for a weight and slant (700, True -> "Bold Italic")."""
    names = {100: "Thin", 200: "ExtraLight", 300: "Light", 400: "Regular", 500: "Medium",
             600: "SemiBold", 700: "Bold", 800: "ExtraBold", 900: "Black"}  # fmt: skip
    base = names[min(names, key=lambda w: abs(w - weight))]
    if italic:
        return "Italic" if base == "Regular" else f"{base} Italic"
    return base


def _run(args: list[str]) -> str:
    if shutil.which(args[0]) is None:
        return ""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


def _pattern(family: str, style: str, weight: int, italic: bool) -> str:
    family = family.replace("\\", "\\\\").replace("-", "\\-").replace(":", "\\:")
    family = family.replace(",", "\\,")
    if style:
        return f"{family}:style={style}"
    fc_weight = _FC_WEIGHTS[min(_FC_WEIGHTS, key=lambda w: abs(w - weight))]
    return f"{family}:weight={fc_weight}:slant={100 if italic else 0}"


_FORMAT = "%{file}\n%{family}\n%{style}\n%{postscriptname}\n"


def _found(parts: list[str]) -> FontMatch:
    return FontMatch(parts[0], parts[1].split(",")[0], parts[2].split(",")[0], parts[3])


@lru_cache(maxsize=256)
def by_postscript(name: str) -> FontMatch | None:
    """The installed font with this PostScript name ("NimbusSans-Bold"), or None."""
    if not name or any(c in name for c in ":\\,="):
        return None
    out = _run(["fc-list", f":postscriptname={name}", "--format", _FORMAT])
    lines = out.split("\n")
    candidates = [lines[i : i + 4] for i in range(0, len(lines) - 3, 4)]
    # prefer OpenType/TrueType files to Type 1 ones (Pillow draws those best)
    candidates.sort(key=lambda p: not p[0].lower().endswith((".otf", ".ttf", ".ttc")))
    return _found(candidates[0]) if candidates and candidates[0][0] else None


@lru_cache(maxsize=512)
def match(
    family: str, style: str = "", weight: int = 400, italic: bool = False
) -> FontMatch | None:
    """The font file fontconfig picks for a family and style (or weight and slant); it
    substitutes the closest installed family when `family` is not installed. None when
    fontconfig is missing."""
    pattern = _pattern(family, style, weight, italic)
    out = _run(["fc-match", "-f", _FORMAT, pattern])
    parts = out.split("\n")
    if len(parts) < 4 or not parts[0]:
        if style:  # a style this family does not have: by weight and slant instead
            return match(family, "", *weight_italic(style))
        return None
    found = _found(parts)
    if style and found.family.lower() == family.lower() and found.style.lower() != style.lower():
        by_weight = match(family, "", *weight_italic(style))
        if by_weight is not None:
            return by_weight
    return found


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, tuple[str, ...]]:
    """Installed family -> its style names, from one `fc-list` call."""
    styles: dict[str, set[str]] = {}
    for line in _run(["fc-list", "--format", "%{family}\t%{style}\n"]).splitlines():
        if "\t" not in line:
            continue
        fams, stys = line.split("\t", 1)
        for fam in fams.split(","):
            fam = fam.strip()
            if fam:
                styles.setdefault(fam, set()).update(s.strip() for s in stys.split(",")[:1])
    ordered = sorted(styles.items(), key=lambda kv: kv[0].lower())
    return {fam: tuple(sorted(s)) for fam, s in ordered}


def installed_families() -> list[str]:
    """Every installed font family, sorted (the editor's font list)."""
    return list(_catalogue())


def family_styles(family: str) -> tuple[str, ...]:
    """The style names installed for a family ("Regular", "Bold", ...), empty if none."""
    cat = _catalogue()
    if family in cat:
        return cat[family]
    lowered = {k.lower(): v for k, v in cat.items()}
    return lowered.get(family.lower(), ())


def is_installed(family: str) -> bool:
    return bool(family_styles(family))


def closest_family(family: str) -> str | None:
    """The installed family fontconfig substitutes for `family` (itself when installed)."""
    if is_installed(family):
        return family
    found = match(family)
    return None if found is None else found.family


def missing_font_note(family: str) -> str | None:
    """One sentence for a text layer whose font is not installed, or None when it is."""
    if is_installed(family):
        return None
    closest = closest_family(family)
    alternative = f"; the closest installed font is {closest}" if closest else ""
    return (f"The font {family} is not installed: the layer shows its stored pixels"
            f"{alternative}.")
