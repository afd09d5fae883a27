"""INPUT... -> the pictures of a batch, each with the relative path its output keeps.

A file keeps its own name; a folder's pictures keep their path below that folder; a glob's
matches keep their path below the glob's fixed part (`shots/**/*.jpg` -> below `shots`).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from app.core.formats import IMPORT_EXTENSIONS

_MAGIC = ("*", "?", "[")


class InputError(ValueError):
    """An INPUT that names nothing to decompose (one sentence)."""


@dataclass(frozen=True)
class Picture:
    path: Path  # absolute
    rel: PurePosixPath  # the relative path its output keeps (with the input's extension)


def is_picture(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMPORT_EXTENSIONS


def _fixed_part(pattern: str) -> Path:
    """The folder of a glob before its first wildcard."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if any(ch in part for ch in _MAGIC):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _walk(folder: Path, recursive: bool, skip: Path | None) -> list[Path]:
    found = []
    if recursive:
        for root, dirs, files in os.walk(folder):
            here = Path(root)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                             and (skip is None or (here / d).resolve() != skip))
            found += [here / f for f in sorted(files) if not f.startswith(".")]
    else:
        found = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    return [p for p in found if is_picture(p)]


def find_pictures(
    inputs: list[str], recursive: bool = False, skip: str | os.PathLike[str] | None = None
) -> list[Picture]:
    """Every picture the INPUTs name, in a stable order, each once; `skip` (the output
    folder) is never entered. InputError when an INPUT names nothing, or when two pictures
    would keep the same relative path."""
    skip_dir = Path(skip).resolve() if skip is not None else None
    found: list[Picture] = []
    for given in inputs:
        path = Path(given)
        if any(ch in given for ch in _MAGIC) and not path.exists():
            base = _fixed_part(given)
            matches = sorted(Path(m) for m in glob.glob(given, recursive=True))
            files = [m for m in matches if is_picture(m)]
            for folder in (m for m in matches if m.is_dir()):
                files += _walk(folder, recursive, skip_dir)
            if not files:
                raise InputError(f"'{given}' matches no picture")
            found += [Picture(f.resolve(), PurePosixPath(f.relative_to(base).as_posix()))
                      for f in files]
        elif path.is_dir():
            files = _walk(path, recursive, skip_dir)
            if not files:
                how = "" if recursive else " (add --recursive to look in its subfolders)"
                raise InputError(f"the folder '{given}' holds no picture{how}")
            found += [Picture(f.resolve(), PurePosixPath(f.relative_to(path).as_posix()))
                      for f in files]
        elif path.is_file():
            found.append(Picture(path.resolve(), PurePosixPath(path.name)))
        else:
            raise InputError(f"'{given}' does not exist")
    return _unique(found)


def _unique(pictures: list[Picture]) -> list[Picture]:
    seen: dict[Path, Picture] = {}
    by_rel: dict[PurePosixPath, Path] = {}
    for picture in pictures:
        if picture.path in seen:
            continue  # named twice (a file and its folder): decomposed once
        other = by_rel.get(picture.rel)
        if other is not None:
            raise InputError(f"{other} and {picture.path} would both be written as "
                             f"'{picture.rel}'; give them in separate batches")
        seen[picture.path] = picture
        by_rel[picture.rel] = picture.path
    return list(seen.values())
