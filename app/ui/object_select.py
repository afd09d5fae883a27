"""The Object Select tool (W): Segment Anything in the editor.

The target layer's picture is embedded once, in the background with progress and a Cancel
button; then hovering shows the mask under the cursor, a click (or Shift-click) adds the
object under it, Alt-click removes a part, a dragged box asks for what it frames, Enter makes
the selection a layer (matted, the hole behind filled as Extract fills it; one undo step) and
Esc drops the selection. Without weights the tool says in one sentence how to get them and
hands over to Extract.

The tool sits on the canvas as an event filter (mouse and keys while it is active; the middle
button and Space still pan) and a transparent overlay widget that paints the masks.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QImage, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import QToolBar, QWidget

from app.core.layer import Layer
from app.ui.object_picker import (
    Prompts,
    layer_picture,
    object_command,
    picture_box,
    picture_point,
)
from app.ui.progress import ProgressWidget
from app.ui.resources import icon
from app.ui.tasks import run_in_background
from model.base import CancelToken, Progress
from model.segment.choice import matte_request, segment_request

DRAG_THRESHOLD = 3  # widget pixels: less is a click
HOVER_MS = 60  # decode the hover mask this long after the mouse stops
DISPLAY_SIDE = 512  # masks are shown at most this big (the layer is made at full size)
HOVER_COLOUR = (74, 158, 255, 80)
SELECTION_COLOUR = (74, 158, 255, 150)

_segmenters: dict[str, object] = {}  # loaded models by folder, kept for the session
_matters: dict[str, object] = {}


def weights_hint() -> str:
    from model.segment.catalogue import DEFAULT_SEGMENTER, known

    entry = known(DEFAULT_SEGMENTER)
    size = f" (about {entry.size})" if entry else ""
    return (f"Object Select needs Segment Anything weights: run `python main.py models download "
            f"{DEFAULT_SEGMENTER}`{size}, then choose the tool again; using Extract for now.")


def load_segmenter(folder: str, name: str):
    from model.segment.segmenter import Segmenter

    if folder not in _segmenters:
        _segmenters[folder] = Segmenter.load(folder, name)
    return _segmenters[folder]


def load_matter():
    """ViTMatte when its weights are there, else None (closed-form matting)."""
    from model.segment.weights import inspect

    report = inspect(matte_request())
    if not report.usable:
        return None
    key = str(report.path)
    if key not in _matters:
        from model.segment.matte import VitMatter

        _matters[key] = VitMatter(report.path)
    return _matters[key]


def mask_image(mask: np.ndarray, colour: tuple[int, int, int, int]) -> QImage:
    h, w = mask.shape
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[mask] = colour
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class _Relay(QObject):
    """Carries progress from a worker thread to the GUI thread."""

    progress = Signal(object)


class _Overlay(QWidget):
    def __init__(self, tool: ObjectSelectTool) -> None:
        super().__init__(tool.canvas)
        self.tool = tool
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.hide()

    def paintEvent(self, event) -> None:  # noqa: N802
        tool = self.tool
        layer = tool.target_layer()
        if layer is None:
            return
        view = tool.canvas.view
        x0, y0, x1, y1 = layer.bounds()
        (wx0, wy0), (wx1, wy1) = view.to_widget(x0, y0), view.to_widget(x1, y1)
        target = QRectF(QPointF(wx0, wy0), QPointF(wx1, wy1))
        painter = QPainter(self)
        for image in (tool.hover_image, tool.selection_image):
            if image is not None:
                painter.drawImage(target, image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for (cx, cy), label in zip(tool.canvas_points, tool.prompts.labels):
            wx, wy = view.to_widget(cx, cy)
            painter.setPen(QPen(QColor("#ffffff"), 1.5))
            painter.setBrush(QColor("#3fbf5f") if label else QColor("#e0483e"))
            painter.drawEllipse(QPointF(wx, wy), 4.5, 4.5)
        if tool.drag_box is not None:
            painter.setBrush(QColor(74, 158, 255, 30))
            painter.setPen(QPen(QColor("#ffffff"), 1, Qt.PenStyle.DashLine))
            painter.drawRect(tool.drag_box)
        painter.end()


class ObjectSelectTool(QObject):
    embedded = Signal()  # the target's embedding is ready
    shown = Signal()  # a hover or selection mask was drawn
    committed = Signal()  # the selection became a layer

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.canvas = window.canvas
        self.session = window.session
        self.overlay = _Overlay(self)
        self.progress = ProgressWidget()
        self.progress.cancel.setToolTip("Stop analysing the picture")
        self.progress.cancel_requested.connect(self.cancel_embedding)
        window.statusBar().addPermanentWidget(self.progress)
        self.active = False
        self.prompts = Prompts()
        self.canvas_points: list[tuple[float, float]] = []
        self.hover_image: QImage | None = None
        self.selection_image: QImage | None = None
        self.selection = None  # the Prediction of the prompts
        self.drag_box: QRectF | None = None
        self._press: QPointF | None = None
        self._press_modifiers = Qt.KeyboardModifier.NoModifier
        self._target_id: str | None = None
        self._segmenter = None
        self._embeddings: dict[tuple, object] = {}  # (layer id, pixels id) -> Embedding
        self._embedding_cancel: CancelToken | None = None
        self._busy = False  # one decode at a time (torch calls stay in one thread at a time)
        self._pending: tuple[str, Prompts] | None = None
        self._hover_point: tuple[float, float] | None = None
        self._hover_timer = QTimer(self)
        self._hover_timer.setSingleShot(True)
        self._hover_timer.setInterval(HOVER_MS)
        self._hover_timer.timeout.connect(self._hover_now)
        self._relay = _Relay()
        self._relay.progress.connect(self._show_progress)
        self.session.active_changed.connect(self._retarget)
        self.session.document_replaced.connect(self._document_replaced)

    # -- activation

    def set_active(self, on: bool) -> None:
        if on == self.active:
            return
        self.active = on
        if on:
            self.canvas.set_tool("object")
            self.canvas.installEventFilter(self)
            self.overlay.setGeometry(self.canvas.rect())
            self.overlay.show()
            self.overlay.raise_()
            self._retarget()
        else:
            self.canvas.removeEventFilter(self)
            self.clear()
            self.overlay.hide()

    def target_layer(self) -> Layer | None:
        doc = self.session.doc
        if doc is None or self._target_id is None:
            return None
        try:
            return doc.layer(self._target_id)
        except KeyError:
            return None

    def _retarget(self, *_args) -> None:
        if not self.active:
            return
        doc = self.session.doc
        layer = self.session.active_layer()
        if layer is None or not layer.params.visible:
            layer = doc.layers[0] if doc is not None and doc.layers else None
        if layer is None or layer.id == self._target_id:
            return
        self.clear()
        self._target_id = layer.id
        self._ensure_embedding()

    def _document_replaced(self) -> None:
        self.cancel_embedding()
        self._embeddings.clear()
        self._target_id = None
        self._retarget()

    def _key(self, layer: Layer) -> tuple:
        return (layer.id, id(layer.pixels))

    def embedding(self):
        layer = self.target_layer()
        return None if layer is None else self._embeddings.get(self._key(layer))

    # -- the embedding (once per picture, in the background)

    def _ensure_embedding(self) -> None:
        layer = self.target_layer()
        if layer is None or self._key(layer) in self._embeddings:
            if layer is not None:
                self.embedded.emit()
            return
        if self._embedding_cancel is not None:
            return  # one is running; it is for this layer or will be redone after it
        from model.segment.weights import first_usable

        report = first_usable(segment_request())
        if report is None:
            self._no_weights()
            return
        cancel = CancelToken()
        self._embedding_cancel = cancel
        key, picture = self._key(layer), layer_picture(layer)
        folder, name = str(report.path), report.name
        relay = self._relay

        def work():
            relay.progress.emit(Progress("loading", 0, 0, f"Loading {name}"))
            segmenter = load_segmenter(folder, name)
            cancel.check()
            return segmenter, segmenter.embed(picture, relay.progress.emit, cancel)

        def done(result) -> None:
            self._segmenter, embedding = result
            self._embeddings = {key: embedding}  # one picture's features (~4-16 MB) at a time
            self.window.status_message(
                "Object Select: hover to see an object, click to select it, Enter to make it "
                "a layer.")
            self.embedded.emit()
            if self._pending is None and not self.prompts.empty:
                self._request("select", self.prompts)

        def failed(message: str) -> None:
            if not cancel.cancelled:
                self.window.show_error("Object Select", message)

        def finished() -> None:
            self._embedding_cancel = None
            self.progress.stop()
            target = self.target_layer()
            if self.active and target is not None and self._key(target) != key:
                self._ensure_embedding()  # the target changed while this one ran

        self.progress.start(f"Object Select: loading {name}")
        run_in_background(work, "analyse the picture for Object Select", done,
                          lambda m: failed(m) if "cancelled" not in m else None, finished)

    def _show_progress(self, progress: Progress) -> None:
        if self._embedding_cancel is not None:
            self.progress.update_progress(progress)

    def cancel_embedding(self) -> None:
        if self._embedding_cancel is not None:
            self._embedding_cancel.cancel()
            self.window.status_message("Object Select: analysing the picture was cancelled.")

    def _no_weights(self) -> None:
        self.window.show_error("Object Select", weights_hint())
        self.window.act_extract_tool.trigger()

    # -- prompts -> masks (one decode at a time, the latest request wins)

    def _request(self, purpose: str, prompts: Prompts) -> None:
        if self.embedding() is None or self._segmenter is None:
            if self._embedding_cancel is None and purpose == "select":
                self._ensure_embedding()  # cancelled before: start again
            return
        if self._busy:
            if purpose == "select" or self._pending is None or self._pending[0] == "hover":
                self._pending = (purpose, prompts)
            return
        self._busy = True
        segmenter, embedding = self._segmenter, self.embedding()
        p = Prompts(list(prompts.points), list(prompts.labels), prompts.box)

        def work():
            pred = segmenter.predict(embedding, p.points, p.labels, p.box)
            h, w = embedding.size
            k = min(1.0, DISPLAY_SIDE / max(h, w))
            return pred, pred.mask((max(1, round(h * k)), max(1, round(w * k))))

        def done(result) -> None:
            pred, small = result
            if purpose == "select":
                self.selection = pred
                self.selection_image = mask_image(small, SELECTION_COLOUR)
                self.hover_image = None
            elif self._hover_point is not None:
                self.hover_image = mask_image(small, HOVER_COLOUR)
            self.overlay.update()
            self.shown.emit()

        def finished() -> None:
            self._busy = False
            pending, self._pending = self._pending, None
            if pending is not None and self.active:
                self._request(*pending)

        run_in_background(work, "select the object", done,
                          lambda m: self.window.status_message(m), finished)

    def _hover_now(self) -> None:
        layer = self.target_layer()
        if self._hover_point is None or layer is None:
            return
        point = picture_point(layer, *self._hover_point)
        self._request("hover", self.prompts.with_point(point))

    def click(self, cx: float, cy: float, positive: bool = True) -> None:
        """A click at canvas (cx, cy): add (or with `positive` False, remove) what is there."""
        layer = self.target_layer()
        if layer is None:
            return
        self.prompts.add(picture_point(layer, cx, cy), positive)
        self.canvas_points.append((cx, cy))
        self._request("select", self.prompts)
        self.overlay.update()

    def box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """A box dragged over canvas (x0, y0)-(x1, y1): select what it frames."""
        layer = self.target_layer()
        if layer is None:
            return
        self.prompts.box = picture_box(layer, x0, y0, x1, y1)
        self._request("select", self.prompts)

    def clear(self) -> None:
        self.prompts.clear()
        self.canvas_points.clear()
        self.selection = None
        self.selection_image = self.hover_image = None
        self.drag_box = None
        self._pending = None
        self.overlay.update()

    def commit(self) -> None:
        """Enter: the selection becomes a layer, one undo step."""
        doc, layer, pred = self.session.doc, self.target_layer(), self.selection
        if doc is None or layer is None or pred is None:
            self.window.status_message("Object Select: click on an object first, then Enter.")
            return
        self.clear()

        def work():
            return object_command(doc, layer, pred, load_matter())

        def done(command) -> None:
            if self.session.doc is not doc or layer not in doc.layers:
                return
            self.session.push(command)
            self._target_id = None  # follow the filled picture (the part below the object)
            self.session.set_active(command.new[0].id)
            self.window.status_message("Made the selection a layer; the hole behind was filled.")
            self.committed.emit()

        run_in_background(work, "make the object a layer", done,
                          lambda m: self.window.show_error("Object Select", m))
        self.window.status_message("Object Select: matting the object...")

    # -- events on the canvas

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if obj is not self.canvas or not self.active:
            return False
        kind = event.type()
        if kind == QEvent.Type.Resize:
            self.overlay.setGeometry(self.canvas.rect())
            return False
        if kind == QEvent.Type.MouseButtonPress:
            if event.button() != Qt.MouseButton.LeftButton or self.canvas._space:
                return False
            self._press = event.position()
            self._press_modifiers = event.modifiers()
            return True
        if kind == QEvent.Type.MouseMove:
            if self.canvas._drag is not None:  # panning
                return False
            pos = event.position()
            cx, cy = self.canvas.view.to_canvas(pos.x(), pos.y())
            self.canvas.cursor_moved.emit(cx, cy)
            if self._press is not None:
                moved = pos - self._press
                if abs(moved.x()) + abs(moved.y()) >= DRAG_THRESHOLD:
                    self.drag_box = QRectF(self._press, pos).normalized()
                    self.overlay.update()
                return True
            self.canvas.setCursor(Qt.CursorShape.CrossCursor)
            self._hover_point = (cx, cy)
            self._hover_timer.start()
            return True
        if kind == QEvent.Type.MouseButtonRelease:
            if event.button() != Qt.MouseButton.LeftButton or self._press is None:
                return False
            start, self._press = self._press, None
            view = self.canvas.view
            if self.drag_box is not None:
                self.drag_box = None
                a, b = view.to_canvas(start.x(), start.y()), view.to_canvas(
                    event.position().x(), event.position().y())
                self.box(a[0], a[1], b[0], b[1])
            else:
                alt = bool(self._press_modifiers & Qt.KeyboardModifier.AltModifier)
                self.click(*view.to_canvas(start.x(), start.y()), positive=not alt)
            return True
        if kind == QEvent.Type.Leave:
            self._hover_point = None
            self.hover_image = None
            self.overlay.update()
            return False
        if kind == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.commit()
                return True
            if event.key() == Qt.Key.Key_Escape:
                if self.prompts.empty and self._embedding_cancel is not None:
                    self.cancel_embedding()
                self.clear()
                return True
        return False


def install(window) -> ObjectSelectTool:
    """Add the tool to a MainWindow: its action (W) in the tools group, the Edit menu and the
    toolbar, next to Extract."""
    tool = ObjectSelectTool(window)
    act = QAction(icon("object-select"), "&Object Select Tool", window)
    act.setShortcut(QKeySequence("W"))
    act.setCheckable(True)
    tip = "Click an object to select it (Segment Anything); Enter makes it a layer"
    act.setToolTip(f"{tip} (W)")
    act.setStatusTip(tip)
    act.toggled.connect(tool.set_active)
    window.addAction(act)
    extract = window.act_extract_tool
    if extract.actionGroup() is not None:
        extract.actionGroup().addAction(act)
    bar = window.findChild(QToolBar, "mainToolbar")
    for container in [bar, *[m for m in (window.menuBar().actions()) if m.menu()]]:
        widget = container if isinstance(container, QToolBar) else container.menu()
        actions = widget.actions() if widget is not None else []
        if extract in actions:
            i = actions.index(extract)
            after = actions[i + 1] if i + 1 < len(actions) else None
            widget.insertAction(after, act) if after else widget.addAction(act)
    window.act_object_tool = act
    return tool
