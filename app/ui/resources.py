"""Icons and the stylesheet shipped in `resources/` (next to the package, or in a bundle)."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon


def resource_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller unpacks data files here
    base = Path(bundle) if bundle else Path(__file__).resolve().parents[2]
    return base / "resources"


@cache
def icon(name: str) -> QIcon:
    path = resource_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


def stylesheet() -> str:
    path = resource_dir() / "style.qss"
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    # url() paths in the stylesheet are relative to resources/
    return text.replace("url(icons/", f"url({(resource_dir() / 'icons').as_posix()}/")
