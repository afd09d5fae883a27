"""Canvas frame rate while dragging a layer: the real Canvas widget, offscreen.

A 4096x4096 document with 20 layers; synthetic mouse events drag one large layer. Each
frame is measured in full: the mouse event, the command it pushes, the render and the
paint (`repaint()` paints synchronously). Then a middle-button pan, and the one render
after the pan ends. Prints JSON.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_canvas.py [--frames 60]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.core.document import Document  # noqa: E402
from app.core.layer import Layer  # noqa: E402
from app.ui.canvas import Canvas  # noqa: E402
from app.ui.session import EditorSession  # noqa: E402

SIZE = 4096
LAYERS = 20
BIG, SMALL = LAYERS - 2, LAYERS - 1  # the dragged layers: 1600x1600 and 400x400 (a logo)


def make_document(rng: np.random.Generator) -> Document:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    bg = np.empty((SIZE, SIZE, 4), np.uint8)
    bg[:, :, 0] = 40 + 150 * xx
    bg[:, :, 1] = 60 + 120 * yy
    bg[:, :, 2] = 140
    bg[:, :, 3] = 255
    doc = Document(SIZE, SIZE, [Layer(bg, (0, 0))])
    for i in range(1, LAYERS):
        side = {BIG: 1600, SMALL: 400}.get(i, int(rng.integers(300, 1200)))
        y, x = np.mgrid[0:side, 0:side].astype(np.float32)
        r = np.hypot(x - side / 2, y - side / 2) / (side / 2)
        pixels = np.zeros((side, side, 4), np.uint8)
        pixels[:, :, :3] = rng.integers(0, 256, 3)
        pixels[:, :, 3] = np.clip((1.0 - r) * 6.0, 0, 1) * 255  # a disc with a soft edge
        origin = (int(rng.integers(0, SIZE - side)), int(rng.integers(0, SIZE - side)))
        layer = Layer(pixels, origin)
        layer.params = layer.params.with_(name=f"Layer {i}")
        doc.layers.append(layer)
    return doc


def send(widget, kind, pos: QPointF, buttons) -> None:
    moving = kind == QEvent.Type.MouseMove
    button = Qt.MouseButton.NoButton if moving else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, pos, QPointF(widget.mapToGlobal(pos.toPoint())), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag_frames(canvas: Canvas, layer: Layer, frames: int) -> list[float]:
    """Drag `layer` in a circle; returns each frame's time in seconds."""
    x0, y0, x1, y1 = layer.bounds()
    if canvas.session.doc.topmost_at((x0 + x1) / 2, (y0 + y1) / 2) is not layer:
        raise RuntimeError("the dragged layer must be the one a click at its centre selects")
    cx, cy = canvas.view.to_widget((x0 + x1) / 2, (y0 + y1) / 2)
    start = QPointF(cx, cy)
    canvas.session.set_active(layer.id)
    canvas.repaint()  # the first frame after selecting builds the cached planes
    send(canvas, QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    times = []
    for i in range(frames + 3):
        angle = 2 * np.pi * i / 40
        pos = QPointF(cx + 60 * np.cos(angle) + 10, cy + 60 * np.sin(angle))
        t = time.perf_counter()
        send(canvas, QEvent.Type.MouseMove, pos, Qt.MouseButton.LeftButton)
        canvas.repaint()
        if i >= 3:  # the first moves start the gesture and build caches
            times.append(time.perf_counter() - t)
    send(canvas, QEvent.Type.MouseButtonRelease, pos, Qt.MouseButton.NoButton)
    return times


def pan_frames(canvas: Canvas, frames: int) -> tuple[list[float], float]:
    """Middle-button pan; returns each frame's time and the time of the render after release."""
    start = QPointF(canvas.width() / 2, canvas.height() / 2)
    mid = Qt.MouseButton.MiddleButton

    def send_pan(kind, pos, button, buttons) -> None:
        event = QMouseEvent(kind, pos, QPointF(canvas.mapToGlobal(pos.toPoint())), button,
                            buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(canvas, event)

    canvas.repaint()
    send_pan(QEvent.Type.MouseButtonPress, start, mid, mid)
    times = []
    for i in range(1, frames + 1):
        pos = QPointF(start.x() + 4 * i, start.y() + 3 * i)
        t = time.perf_counter()
        send_pan(QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, mid)
        canvas.repaint()
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    send_pan(QEvent.Type.MouseButtonRelease, pos, mid, Qt.MouseButton.NoButton)
    canvas.repaint()
    return times, time.perf_counter() - t


def summary(times: list[float]) -> dict:
    median = statistics.median(times)
    ordered = sorted(times)
    return {
        "frames": len(times),
        "fps": round(len(times) / sum(times), 1),
        "median_ms": round(median * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(7)
    doc = make_document(rng)
    session = EditorSession(doc)
    canvas = Canvas(session)
    canvas.resize(args.width, args.height)
    canvas.show()
    app.processEvents()
    dragged = doc.layers[BIG]
    results = {}
    canvas.fit()
    fit_times = drag_frames(canvas, dragged, args.frames)
    results["fit"] = {"zoom": round(canvas.view.zoom, 4), **summary(fit_times)}
    canvas.actual_size()
    x0, y0, x1, y1 = dragged.bounds()
    canvas.view.pan_x = args.width / 2 - (x0 + x1) / 2
    canvas.view.pan_y = args.height / 2 - (y0 + y1) / 2
    results["100%"] = {"zoom": 1.0, **summary(drag_frames(canvas, dragged, args.frames))}
    canvas.view.zoom_at(4.0, args.width / 2, args.height / 2)
    results["400%"] = {"zoom": 4.0, **summary(drag_frames(canvas, dragged, args.frames))}
    small = doc.layers[SMALL]
    canvas.actual_size()
    x0, y0, x1, y1 = small.bounds()
    canvas.view.pan_x = args.width / 2 - (x0 + x1) / 2
    canvas.view.pan_y = args.height / 2 - (y0 + y1) / 2
    results["100% small layer"] = {"zoom": 1.0, "layer_px": list(small.size),
                                   **summary(drag_frames(canvas, small, args.frames))}
    for label, setup in (("pan fit", canvas.fit), ("pan 100%", canvas.actual_size)):
        setup()
        times, settle = pan_frames(canvas, args.frames)
        results[label] = {"zoom": round(canvas.view.zoom, 4), **summary(times),
                          "render_after_release_ms": round(settle * 1000, 1)}
    steps = session.undo_stack.count()
    print(json.dumps({
        "benchmark": "canvas drag",
        "canvas": [SIZE, SIZE],
        "layers": LAYERS,
        "dragged_layer_px": list(dragged.size),
        "widget": [args.width, args.height],
        "undo_steps": steps,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "cases": results,
    }, indent=2))


if __name__ == "__main__":
    main()
