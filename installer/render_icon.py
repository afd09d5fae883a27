"""Render resources/icons/strata.svg to a square PNG with Qt's SVG renderer.

    .venv/bin/python installer/render_icon.py [SIZE]    writes resources/icons/strata.png (256 px)

The PNG is committed (the desktop entry and the PyInstaller build use it); a test re-renders the
SVG and checks the committed PNG still matches it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "strata.svg"
PNG = ROOT / "resources" / "icons" / "strata.png"


def render_svg(svg: Path, size: int):
    """The SVG drawn into a transparent size x size QImage (ARGB32)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG file")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main(argv: list[str]) -> int:
    size = int(argv[0]) if argv else 256
    image = render_svg(SVG, size)
    if not image.save(str(PNG)):
        print(f"error: could not write {PNG}", file=sys.stderr)
        return 1
    print(f"wrote {PNG} ({size}x{size})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
