"""The canvas: shows the composite, selects, moves and scales layers, pans and zooms.

A drag pushes one core command per mouse move, all with the same gesture id, so the undo
stack holds one step per drag while the document (and the picture) follow the mouse.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QCursor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QRegion,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from app.core import commands
from app.core.layer import Layer
from app.core.text_layer import scale_base, scale_text
from app.ui.compositing import premul_to_qimage
from app.ui.session import EditorSession
from app.ui.viewport import Viewport

HANDLE_SIZE = 8  # widget pixels
DRAG_THRESHOLD = 3
# handle index -> (x, y) position on the bounds as fractions; corners scale uniformly
HANDLES = ((0, 0), (0.5, 0), (1, 0), (1, 0.5), (1, 1), (0.5, 1), (0, 1), (0, 0.5))
HANDLE_CURSORS = (
    Qt.CursorShape.SizeFDiagCursor, Qt.CursorShape.SizeVerCursor, Qt.CursorShape.SizeBDiagCursor,
    Qt.CursorShape.SizeHorCursor, Qt.CursorShape.SizeFDiagCursor, Qt.CursorShape.SizeVerCursor,
    Qt.CursorShape.SizeBDiagCursor, Qt.CursorShape.SizeHorCursor,
)  # fmt: skip
BRUSH_RADIUS = 12  # widget pixels, of the extract brush
SETTLE_MS = 120  # re-render this long after the last pan or wheel step
BACKGROUND = QColor("#282828")
ACCENT = QColor("#4a9eff")
HOVER = QColor(74, 158, 255, 170)


def locked_hint(name: str) -> str:
    """Why a layer did not move, for the status bar."""
    return f"'{name}' is locked \u2014 click the lock in the Layers panel to move it"


def _checker_brush() -> QBrush:
    tile = QPixmap(16, 16)
    tile.fill(QColor("#ffffff"))
    p = QPainter(tile)
    p.fillRect(0, 0, 8, 8, QColor("#d0d0d0"))
    p.fillRect(8, 8, 8, 8, QColor("#d0d0d0"))
    p.end()
    return QBrush(tile)


class Canvas(QWidget):
    zoom_changed = Signal(float)
    cursor_moved = Signal(float, float)  # canvas coordinates under the mouse
    extract_requested = Signal(QRectF)  # a canvas rectangle dragged with the extract tool
    extract_painted = Signal(list, float)  # canvas points and brush radius of a painted region
    message = Signal(str)  # a line for the status bar (why a layer did not move)
    text_edit_requested = Signal(str)  # a text layer double-clicked: edit its words

    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.view = Viewport()
        self.tool = "move"  # or "extract" (a box) or "brush" (paint a rough region)
        self.frames_rendered = 0
        # the last rendered frame: key, image, and where it lies (render scale, clip)
        self._frame: tuple[tuple, QImage, float, tuple] | None = None
        # while panning or wheel-zooming, the last frame is redrawn moved or scaled and the
        # composite is re-rendered once the view settles (a full render can take 0.1-1 s)
        self._interacting = False
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._settled)
        self._needs_fit = True
        self._space = False
        self._hover_id: str | None = None
        self._last_bounds: dict[str, tuple] = {}  # canvas bounds of the layer edited last
        self._drag: dict | None = None
        self._checker = _checker_brush()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(200, 150)
        session.layers_changed.connect(self.update)
        session.layer_changed.connect(self._layer_changed)
        session.active_changed.connect(self._active_changed)
        session.document_replaced.connect(self._on_document_replaced)

    def _active_changed(self, layer_id: object) -> None:
        layer = self.session.active_layer()
        self._last_bounds = {} if layer is None else {layer.id: layer.bounds()}
        self.update()

    def _layer_changed(self, layer_id: str) -> None:
        """Repaint only where the layer was and is now (a drag touches little of the view)."""
        doc = self.session.doc
        try:
            layer = None if doc is None else doc.layer(layer_id)
        except KeyError:
            layer = None
        before = self._last_bounds.get(layer_id)
        self._last_bounds = {} if layer is None else {layer_id: layer.bounds()}
        if layer is None or before is None:
            self.update()
            return
        self.update(self._bounds_widget_rect(before).united(
            self._bounds_widget_rect(layer.bounds())))

    def _bounds_widget_rect(self, bounds: tuple[float, float, float, float]) -> QRect:
        x0, y0 = self.view.to_widget(bounds[0], bounds[1])
        x1, y1 = self.view.to_widget(bounds[2], bounds[3])
        m = HANDLE_SIZE + 4  # the outline and handles around the layer
        return QRectF(QPointF(x0, y0), QPointF(x1, y1)).adjusted(-m, -m, m, m).toAlignedRect()

    # -- view

    def _on_document_replaced(self) -> None:
        self._frame = None
        self._needs_fit = True
        if self.isVisible():
            self.fit()

    def fit(self) -> None:
        doc = self.session.doc
        if doc is None or self.width() <= 0:
            return
        self.view.fit(doc.width, doc.height, self.width(), self.height())
        self._needs_fit = False
        self._zoomed()

    def actual_size(self) -> None:
        doc = self.session.doc
        if doc is not None:
            self.view.center(doc.width, doc.height, self.width(), self.height(), 1.0)
            self._zoomed()

    def zoom_in(self) -> None:
        self.view.step_zoom(1, self.width() / 2, self.height() / 2)
        self._zoomed()

    def zoom_out(self) -> None:
        self.view.step_zoom(-1, self.width() / 2, self.height() / 2)
        self._zoomed()

    def _zoomed(self) -> None:
        self.zoom_changed.emit(self.view.zoom)
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802
        if self._needs_fit and self.isVisible():
            self.fit()
        super().resizeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802
        if self._needs_fit:
            self.fit()
        super().showEvent(event)

    # -- painting

    def _frame_key(self, plan) -> tuple:
        return (self.session.revision, id(self.session.doc), plan.render_scale, plan.clip)

    def _composite(self, plan) -> QImage:
        key = self._frame_key(plan)
        if self._frame is None or self._frame[0] != key:
            buf = self.session.compositor.render(
                view_scale=plan.render_scale, clip=plan.clip, active_id=self.session.active_id
            )
            self._frame = (key, premul_to_qimage(buf), plan.render_scale, plan.clip)
            self.frames_rendered += 1
        return self._frame[1]

    def _stale_frame(self, plan) -> tuple[QImage, QRectF] | None:
        """The last frame and where it lands now, if it shows the same document state."""
        if not self._interacting or self._frame is None:
            return None
        key, image, rs, (cx, cy, cw, ch) = self._frame
        if key[:2] != self._frame_key(plan)[:2]:
            return None
        x, y = self.view.to_widget(cx / rs, cy / rs)
        k = self.view.zoom / rs
        return image, QRectF(x, y, cw * k, ch * k)

    def _begin_interaction(self) -> None:
        self._interacting = True
        self._settle.start()

    def _settled(self) -> None:
        if self._drag is not None and self._drag["kind"] == "pan":
            self._settle.start()  # still panning
            return
        self._interacting = False
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        doc = self.session.doc
        if doc is None or self.session.compositor is None:
            painter.fillRect(self.rect(), BACKGROUND)
            painter.end()
            return
        v = self.view
        doc_rect = QRectF(v.pan_x, v.pan_y, doc.width * v.zoom, doc.height * v.zoom)
        visible = doc_rect.intersected(QRectF(self.rect()))
        # the grey surround only where the canvas does not cover the widget
        surround = QRegion(self.rect()).subtracted(QRegion(visible.toAlignedRect()))
        for rect in surround:
            painter.fillRect(rect, BACKGROUND)
        if not surround.isEmpty():
            shadow = doc_rect.adjusted(2, 2, 2, 2)
            painter.fillRect(shadow.intersected(QRectF(self.rect())), QColor(0, 0, 0, 90))
        painter.setBrushOrigin(QPointF(v.pan_x, v.pan_y))
        painter.fillRect(visible, self._checker)
        plan = v.plan(doc.width, doc.height, self.width(), self.height())
        if plan is not None:
            stale = self._stale_frame(plan)
            if stale is not None and self._frame_key(plan) != self._frame[0]:
                image, target = stale
            else:
                image, target = self._composite(plan), QRectF(*plan.target)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, v.zoom < 1.0)
            painter.drawImage(target, image)
        self._paint_overlay(painter)
        painter.end()

    def _layer_widget_rect(self, layer: Layer) -> QRectF:
        x0, y0, x1, y1 = layer.bounds()
        wx0, wy0 = self.view.to_widget(x0, y0)
        wx1, wy1 = self.view.to_widget(x1, y1)
        return QRectF(QPointF(wx0, wy0), QPointF(wx1, wy1))

    def _handle_rects(self, layer: Layer) -> list[QRectF]:
        r = self._layer_widget_rect(layer)
        s = HANDLE_SIZE
        return [
            QRectF(r.left() + fx * r.width() - s / 2, r.top() + fy * r.height() - s / 2, s, s)
            for fx, fy in HANDLES
        ]

    def _paint_overlay(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        hover = self._hover_layer()
        if hover is not None and hover.id != self.session.active_id and self._drag is None:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(HOVER, 1, Qt.PenStyle.DashLine))
            painter.drawRect(self._layer_widget_rect(hover))
        layer = self.session.active_layer()
        if layer is not None and layer.params.visible and self.tool == "move":
            rect = self._layer_widget_rect(layer)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(0, 0, 0, 140), 3))
            painter.drawRect(rect)
            # a locked layer: a dashed outline and no handles, nothing to grab
            style = Qt.PenStyle.DashLine if layer.locked else Qt.PenStyle.SolidLine
            painter.setPen(QPen(ACCENT, 1, style))
            painter.drawRect(rect)
            painter.setBrush(QColor("#ffffff"))
            painter.setPen(QPen(ACCENT, 1))
            for handle in [] if layer.locked else self._handle_rects(layer):
                painter.drawRect(handle)
        if self._drag is not None and self._drag["kind"] == "brush":
            points = [QPointF(*self.view.to_widget(x, y)) for x, y in self._drag["points"]]
            pen = QPen(QColor(74, 158, 255, 110), 2 * BRUSH_RADIUS)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPolyline(points)
        if self._drag is not None and self._drag["kind"] == "extract":
            rect = QRectF(self._drag["start"], self._drag["now"]).normalized()
            painter.setBrush(QColor(74, 158, 255, 40))
            painter.setPen(QPen(QColor("#ffffff"), 1, Qt.PenStyle.DashLine))
            painter.drawRect(rect)

    # -- mouse

    def _canvas_point(self, pos: QPointF) -> tuple[float, float]:
        return self.view.to_canvas(pos.x(), pos.y())

    def handle_at(self, pos: QPointF) -> int | None:
        layer = self.session.active_layer()
        if layer is None or not layer.params.visible or self.tool != "move" or layer.locked:
            return None
        for i, rect in enumerate(self._handle_rects(layer)):
            if rect.adjusted(-3, -3, 3, 3).contains(pos):
                return i
        return None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        """Double-click on a text layer: edit its words (the Properties panel's field)."""
        if event.button() == Qt.MouseButton.LeftButton and self.session.doc is not None:
            hit = self.pick(*self._canvas_point(event.position()))
            if hit is not None and hit.is_text:
                self.session.set_active(hit.id)
                self._drag = None
                self.text_edit_requested.emit(hit.id)
                return
        super().mouseDoubleClickEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        button = event.button()
        self.setFocus()
        if self.session.doc is None:
            return
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space
        ):
            self._drag = {"kind": "pan", "start": pos, "pan0": (self.view.pan_x, self.view.pan_y)}
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if button != Qt.MouseButton.LeftButton:
            return
        if self.tool == "extract":
            self._drag = {"kind": "extract", "start": pos, "now": pos}
            return
        if self.tool == "brush":
            self._drag = {"kind": "brush", "points": [self._canvas_point(pos)]}
            self.update()
            return
        handle = self.handle_at(pos)
        layer = self.session.active_layer()
        if handle is not None and layer is not None:
            cx, cy = layer.center
            ox, oy = layer.params.offset
            self._drag = {
                "kind": "scale", "handle": handle, "layer": layer.id, "start": pos,
                "centre": (cx + ox, cy + oy), "scale0": layer.params.scale,
                "p0": self._canvas_point(pos), "gesture": self.session.new_gesture(),
                "started": False, "text0": scale_base(layer) if layer.is_text else None,
            }  # fmt: skip
            return
        cx, cy = self._canvas_point(pos)
        hit = self.pick(cx, cy)
        self.session.set_active(hit.id if hit is not None else None)
        if hit is not None and hit.locked:  # selected, to recolour it; dragging says why not
            self._drag = {"kind": "locked", "layer": hit.id, "start": pos, "told": False}
        elif hit is not None:
            self._drag = {
                "kind": "move", "layer": hit.id, "start": pos, "p0": (cx, cy),
                "offset0": hit.params.offset, "gesture": self.session.new_gesture(),
                "started": False,
            }  # fmt: skip

    def pick(self, x: float, y: float) -> Layer | None:
        """What a click at canvas (x, y) selects: the topmost visible layer with a pixel there,
        passing over layers whose position is locked when an unlocked one lies below."""
        doc = self.session.doc
        if doc is None:
            return None
        hit = doc.topmost_at(x, y)
        if hit is not None and hit.locked:
            hit = doc.topmost_at(x, y, unlocked=True) or hit
        return hit

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        cx, cy = self._canvas_point(pos)
        self.cursor_moved.emit(cx, cy)
        drag = self._drag
        if drag is None:
            self._update_hover_cursor(pos)
            return
        kind = drag["kind"]
        if kind == "pan":
            self._begin_interaction()
            delta = pos - drag["start"]
            self.view.pan_x, self.view.pan_y = drag["pan0"]
            self.view.pan_by(delta.x(), delta.y())
            self.update()
        elif kind == "extract":
            drag["now"] = pos
            self.update()
        elif kind == "brush":
            drag["points"].append((cx, cy))
            self.update()
        elif kind == "locked":
            moved = pos - drag["start"]
            if not drag["told"] and abs(moved.x()) + abs(moved.y()) >= DRAG_THRESHOLD:
                drag["told"] = True
                self._tell_locked(drag["layer"])
        elif kind in ("move", "scale"):
            if not drag["started"]:
                moved = pos - drag["start"]
                if abs(moved.x()) + abs(moved.y()) < DRAG_THRESHOLD:
                    return
                drag["started"] = True
            try:
                if kind == "move":
                    self._drag_move(drag, cx, cy)
                else:
                    self._drag_scale(drag, cx, cy, event.modifiers())
            except KeyError:  # the layer went away mid-drag (a decomposition finished)
                self._drag = None
            except commands.LayerLocked as exc:  # locked mid-drag (Ctrl+/)
                self._drag = None
                self.message.emit(locked_hint(exc.name))

    def _drag_move(self, drag: dict, cx: float, cy: float) -> None:
        doc = self.session.doc
        ox, oy = drag["offset0"]
        # whole canvas pixels: an unscaled layer then stays an exact copy of its pixels
        new = (ox + round(cx - drag["p0"][0]), oy + round(cy - drag["p0"][1]))
        if doc is None or doc.layer(drag["layer"]).params.offset == new:
            return
        self.session.push(commands.set_offset(doc, drag["layer"], new, drag["gesture"]))

    def _drag_scale(self, drag: dict, cx: float, cy: float, modifiers) -> None:
        doc = self.session.doc
        if doc is None:
            return
        mx, my = drag["centre"]
        px0, py0 = drag["p0"][0] - mx, drag["p0"][1] - my
        px, py = cx - mx, cy - my
        sx0, sy0 = drag["scale0"]
        fx_frac, fy_frac = HANDLES[drag["handle"]]
        corner = fx_frac != 0.5 and fy_frac != 0.5
        if corner:
            norm = px0 * px0 + py0 * py0
            f = (px * px0 + py * py0) / norm if norm > 0 else 1.0
            free = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
            fx = px / px0 if free and px0 else f
            fy = py / py0 if free and py0 else f
        else:
            fx = px / px0 if fx_frac != 0.5 and px0 else 1.0
            fy = py / py0 if fy_frac != 0.5 and py0 else 1.0
        new = (max(sx0 * fx, commands.MIN_SCALE), max(sy0 * fy, commands.MIN_SCALE))
        new = (round(new[0], 4), round(new[1], 4))
        if drag.get("text0") is not None:  # a text layer's size changes, not its pixels
            factor = round(max(fy if fy_frac != 0.5 else fx, commands.MIN_SCALE), 4)
            if drag.get("factor") != factor:
                drag["factor"] = factor
                self.session.push(
                    scale_text(doc, drag["layer"], factor, drag["gesture"], drag["text0"])
                )
            return
        if doc.layer(drag["layer"]).params.scale == new:
            return
        self.session.push(commands.set_scale(doc, drag["layer"], new, drag["gesture"]))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        drag, self._drag = self._drag, None
        if drag is None:
            return
        if drag["kind"] == "pan":
            self._interacting = False
            self.update()
            self.setCursor(
                Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.ArrowCursor
            )
        elif drag["kind"] == "extract":
            a = self._canvas_point(drag["start"])
            b = self._canvas_point(event.position())
            rect = QRectF(QPointF(*a), QPointF(*b)).normalized()
            self.update()
            if rect.width() >= 2 and rect.height() >= 2:
                self.extract_requested.emit(rect)
        elif drag["kind"] == "brush":
            self.update()
            self.extract_painted.emit(drag["points"], BRUSH_RADIUS / self.view.zoom)

    def _hover_layer(self) -> Layer | None:
        doc = self.session.doc
        if self._hover_id is None or doc is None:
            return None
        try:
            return doc.layer(self._hover_id)
        except KeyError:
            return None

    def _update_hover_cursor(self, pos: QPointF) -> None:
        if self._space:
            return
        if self.tool in ("extract", "brush"):
            self.setCursor(Qt.CursorShape.CrossCursor)
            return
        hit = self.pick(*self._canvas_point(pos))
        hover_id = None if hit is None else hit.id
        if hover_id != self._hover_id:  # outline what a click would select
            self._hover_id = hover_id
            self.update()
        handle = self.handle_at(pos)
        self.setCursor(
            QCursor(HANDLE_CURSORS[handle]) if handle is not None else Qt.CursorShape.ArrowCursor
        )

    def leaveEvent(self, event) -> None:  # noqa: N802
        if self._hover_id is not None:
            self._hover_id = None
            self.update()
        super().leaveEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        delta = event.angleDelta().y()
        if delta == 0 or self.session.doc is None:
            return
        pos = event.position()
        self._begin_interaction()
        self.view.zoom_at(self.view.zoom * math.pow(1.25, delta / 120), pos.x(), pos.y())
        self._zoomed()

    # -- keyboard

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            return
        arrows = {
            Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0),
            Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1),
        }  # fmt: skip
        if key in arrows and self.session.active_layer() is not None:
            step = 10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
            dx, dy = arrows[key]
            self.nudge(dx * step, dy * step, event.isAutoRepeat())
            return
        if key == Qt.Key.Key_Escape and self._drag is not None:
            self._drag = None
            self.update()
            return
        super().keyPressEvent(event)

    def nudge(self, dx: int, dy: int, repeat: bool = False) -> None:
        """Move the active layer by whole pixels; a held key is one undo step."""
        layer = self.session.active_layer()
        if layer is None or self.session.doc is None:
            return
        if layer.locked:
            if not repeat:
                self._tell_locked(layer.id)
            return
        if not repeat or not hasattr(self, "_nudge_gesture"):
            self._nudge_gesture = self.session.new_gesture()
        self.session.push(
            commands.translate(self.session.doc, layer.id, dx, dy, self._nudge_gesture)
        )

    def _tell_locked(self, layer_id: str) -> None:
        doc = self.session.doc
        if doc is not None and any(layer.id == layer_id for layer in doc.layers):
            self.message.emit(locked_hint(doc.layer(layer_id).name))

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setCursor(Qt.CursorShape.ArrowCursor)
            return
        super().keyReleaseEvent(event)

    def set_tool(self, tool: str) -> None:
        self.tool = tool
        self.setCursor(
            Qt.CursorShape.ArrowCursor if tool == "move" else Qt.CursorShape.CrossCursor
        )
        self.update()
