"""Where the canvas sits in the widget: zoom, pan, and what to render for a frame.

widget point = canvas point * zoom + pan. Pure arithmetic, no Qt, so it is easy to test.
The composite is rendered at `render_scale = min(zoom, 1)` (never more pixels than the screen
shows) and only for the visible part of the canvas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ZOOM_LEVELS = (
    1 / 32, 1 / 24, 1 / 16, 1 / 12, 1 / 8, 1 / 6, 1 / 4, 1 / 3, 1 / 2, 2 / 3,
    1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0,
)  # fmt: skip
MIN_ZOOM, MAX_ZOOM = ZOOM_LEVELS[0], ZOOM_LEVELS[-1]

Rect = tuple[int, int, int, int]
WHOLE_CANVAS_AREA = 1.5  # render all of the canvas when it is at most this many widgets big


@dataclass(frozen=True)
class FramePlan:
    render_scale: float
    clip: Rect  # the part of the composite to render, in render pixels
    target: tuple[float, float, float, float]  # where it lands in the widget: x, y, w, h


@dataclass
class Viewport:
    zoom: float = 1.0
    pan_x: float = 0.0
    pan_y: float = 0.0

    def to_canvas(self, wx: float, wy: float) -> tuple[float, float]:
        return (wx - self.pan_x) / self.zoom, (wy - self.pan_y) / self.zoom

    def to_widget(self, cx: float, cy: float) -> tuple[float, float]:
        return cx * self.zoom + self.pan_x, cy * self.zoom + self.pan_y

    def _round_pan(self) -> None:
        # Whole-pixel pan keeps the composite's pixels aligned with the screen's at zoom <= 1.
        self.pan_x, self.pan_y = float(round(self.pan_x)), float(round(self.pan_y))

    def zoom_at(self, zoom: float, wx: float, wy: float) -> None:
        """Set the zoom, keeping the canvas point under widget (wx, wy) where it is."""
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        cx, cy = self.to_canvas(wx, wy)
        self.zoom = zoom
        self.pan_x, self.pan_y = wx - cx * zoom, wy - cy * zoom
        self._round_pan()

    def step_zoom(self, steps: int, wx: float, wy: float) -> None:
        """Move `steps` zoom levels in or out (negative) from the current zoom."""
        if steps > 0:
            larger = [z for z in ZOOM_LEVELS if z > self.zoom * 1.0001]
            target = larger[min(steps, len(larger)) - 1] if larger else MAX_ZOOM
        else:
            smaller = [z for z in ZOOM_LEVELS if z < self.zoom / 1.0001]
            target = smaller[max(steps, -len(smaller))] if smaller else MIN_ZOOM
        self.zoom_at(target, wx, wy)

    def pan_by(self, dx: float, dy: float) -> None:
        self.pan_x += dx
        self.pan_y += dy
        self._round_pan()

    def fit(self, doc_w: int, doc_h: int, widget_w: int, widget_h: int, margin: int = 24) -> None:
        """Zoom so that the whole canvas shows, centred (never above 100%)."""
        avail_w, avail_h = max(widget_w - 2 * margin, 1), max(widget_h - 2 * margin, 1)
        zoom = min(avail_w / doc_w, avail_h / doc_h, 1.0)
        self.center(doc_w, doc_h, widget_w, widget_h, max(zoom, MIN_ZOOM))

    def center(self, doc_w: int, doc_h: int, widget_w: int, widget_h: int, zoom: float) -> None:
        self.zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        self.pan_x = (widget_w - doc_w * self.zoom) / 2
        self.pan_y = (widget_h - doc_h * self.zoom) / 2
        self._round_pan()

    def plan(self, doc_w: int, doc_h: int, widget_w: int, widget_h: int) -> FramePlan | None:
        """What to render for a frame, or None when the canvas is out of sight.

        When the whole canvas at the render scale is not much bigger than the widget, all of
        it is rendered, so that panning never needs a new render.
        """
        rs = min(self.zoom, 1.0)
        full_w, full_h = math.ceil(doc_w * rs - 1e-9), math.ceil(doc_h * rs - 1e-9)
        if rs < 1.0 and full_w * full_h <= WHOLE_CANVAS_AREA * widget_w * widget_h:
            if (self.pan_x >= widget_w or self.pan_y >= widget_h
                    or self.pan_x + full_w <= 0 or self.pan_y + full_h <= 0):
                return None
            target = (self.pan_x, self.pan_y, float(full_w), float(full_h))
            return FramePlan(rs, (0, 0, full_w, full_h), target)
        # visible widget rectangle expressed in render pixels
        k = rs / self.zoom
        x0 = max(0, math.floor(-self.pan_x * k))
        y0 = max(0, math.floor(-self.pan_y * k))
        x1 = min(full_w, math.ceil((widget_w - self.pan_x) * k))
        y1 = min(full_h, math.ceil((widget_h - self.pan_y) * k))
        if x1 <= x0 or y1 <= y0:
            return None
        s = self.zoom / rs
        target = (x0 * s + self.pan_x, y0 * s + self.pan_y, (x1 - x0) * s, (y1 - y0) * s)
        return FramePlan(rs, (x0, y0, x1 - x0, y1 - y0), target)
