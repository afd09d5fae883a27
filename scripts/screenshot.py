"""Render the editor with a decomposed sample picture and save docs/screenshot.png.

Runs offscreen (or under Xvfb: `xvfb-run python scripts/screenshot.py`). The sample is a
small poster drawn here; the built-in `classic` decomposer splits it, then one layer is
moved and recoloured so the window shows an edit in progress.

    python scripts/screenshot.py [-o docs/screenshot.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if "DISPLAY" not in os.environ:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.core import commands  # noqa: E402
from app.core.document import Document  # noqa: E402
from app.core.layer import Recolor  # noqa: E402
from app.ui.editor import configure_app  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from model.base import DecomposeOptions  # noqa: E402


def sample_poster(w: int = 1200, h: int = 800) -> np.ndarray:
    """A flat poster: sky gradient, a sun, hills, a card with a title."""
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    sky = np.empty((h, w, 3), np.float32)
    sky[..., 0] = 250 - 60 * y
    sky[..., 1] = 214 - 90 * y
    sky[..., 2] = 160 - 40 * y
    image = Image.fromarray(sky.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.ellipse((760, 120, 1040, 400), fill=(246, 110, 60))
    draw.polygon([(0, 640), (300, 470), (620, 620), (900, 500), (1200, 640), (1200, 800),
                  (0, 800)], fill=(52, 92, 110))
    draw.rounded_rectangle((90, 120, 600, 380), radius=28, fill=(255, 250, 240))
    font = ImageFont.load_default(size=72)
    draw.text((130, 170), "STRATA", font=font, fill=(40, 44, 60))
    small = ImageFont.load_default(size=34)
    draw.text((134, 280), "layers from one picture", font=small, fill=(200, 90, 60))
    return np.dstack([np.asarray(image), np.full((h, w), 255, np.uint8)])


def wait(app: QApplication, done, timeout: float = 180.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end:
            raise TimeoutError("the window did not finish in time")
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(ROOT / "docs" / "screenshot.png"))
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    configure_app(app)
    QCoreApplication.setOrganizationName("StrataScreenshot")  # leave the user's settings alone
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    window = MainWindow(recovery_dir=None)
    window.resize(1440, 900)
    window.show()
    window.files.display_name = "poster.png"
    window.session.set_document(Document.from_image(sample_poster()))
    window.decomposer.start("classic", DecomposeOptions())
    wait(app, lambda: not window.decomposer.running)
    if window.last_error:
        print(f"error: {window.last_error}", file=sys.stderr)
        return 1
    session = window.session
    doc = session.doc
    sun = doc.topmost_at(900, 260)
    if sun is not None and sun.name != "Background":
        session.set_active(sun.id)
        session.push(commands.translate(doc, sun.id, -40, 30))
        session.push(commands.set_recolor(doc, sun.id, Recolor(hue=22.0, saturation=1.1)))
    window.canvas.fit()
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    names = ", ".join(layer.name for layer in reversed(doc.layers))
    print(f"{out}: {len(doc.layers)} layers ({names})")
    session.undo_stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
