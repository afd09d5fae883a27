"""The properties panel: position, scale, colour and opacity of the active layer.

Sliders preview live and push one undo step per drag; typed values are one step each.
Position and scale are disabled while the layer's position is locked.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core import commands
from app.core.layer import Recolor
from app.ui.canvas import locked_hint
from app.ui.session import EditorSession
from app.ui.widgets import ColorButton, SliderField


def set_active_opacity(session: EditorSession, percent: float, gesture=None) -> None:
    layer, doc = session.active_layer(), session.doc
    if layer is None or doc is None:
        return
    value = percent / 100
    if layer.params.opacity != value:
        session.push(commands.set_opacity(doc, layer.id, value, gesture))


class PropertiesPanel(QWidget):
    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.title = QLabel("No layer selected")
        self.title.setObjectName("panelTitle")
        self.x = SliderField(-100000, 100000, 0, " px", (-1000, 2000), "Left edge, canvas pixels")
        self.y = SliderField(-100000, 100000, 0, " px", (-1000, 2000), "Top edge, canvas pixels")
        self.scale = SliderField(1, 2000, 1, " %", (1, 400), "Scale about the layer's centre")
        self.hue = SliderField(-180, 180, 0, "°", tooltip="Hue shift in degrees")
        self.saturation = SliderField(0, 200, 0, " %", tooltip="Saturation: 0 grey, 100 unchanged")
        self.brightness = SliderField(-100, 100, 0, " %", tooltip="Darken (-) or lighten (+)")
        self.tint_color = ColorButton()
        self.tint_color.setToolTip("Tint colour")
        self.tint = SliderField(0, 100, 0, " %", tooltip="How strongly to tint with the colour")
        self.opacity = SliderField(0, 100, 0, " %", tooltip="Layer opacity")
        self.reset_color = QPushButton("Reset colour")
        self.reset_color.setToolTip("Undo all colour changes of this layer (one step)")
        self._tips = {field: field.toolTip() for field in (self.x, self.y, self.scale)}

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(6)
        form.addRow("X", self.x)
        form.addRow("Y", self.y)
        form.addRow("Scale", self.scale)
        form.addRow("Hue", self.hue)
        form.addRow("Saturation", self.saturation)
        form.addRow("Brightness", self.brightness)
        form.addRow("Tint", self.tint_color)
        form.addRow("Strength", self.tint)
        form.addRow("Opacity", self.opacity)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.title)
        layout.addLayout(form)
        layout.addWidget(self.reset_color, 0, Qt.AlignmentFlag.AlignRight)
        layout.addStretch(1)

        self.x.edited.connect(lambda v, g: self._move(x=v, gesture=g))
        self.y.edited.connect(lambda v, g: self._move(y=v, gesture=g))
        self.scale.edited.connect(self._scale)
        self.hue.edited.connect(lambda v, g: self._recolor(g, hue=v))
        self.saturation.edited.connect(lambda v, g: self._recolor(g, saturation=v / 100))
        self.brightness.edited.connect(lambda v, g: self._recolor(g, brightness=v / 100))
        self.tint.edited.connect(lambda v, g: self._recolor(g, tint_strength=v / 100))
        self.tint_color.color_changed.connect(self._tint_color)
        self.opacity.edited.connect(self._opacity)
        self.reset_color.clicked.connect(self._reset_color)

        session.active_changed.connect(self.refresh)
        session.layer_changed.connect(self._layer_changed)
        session.layers_changed.connect(self.refresh)
        session.document_replaced.connect(self._document_replaced)
        self.refresh()

    def _fields(self) -> list[QWidget]:
        return [
            self.x, self.y, self.scale, self.hue, self.saturation, self.brightness,
            self.tint_color, self.tint, self.opacity, self.reset_color,
        ]  # fmt: skip

    def _document_replaced(self) -> None:
        doc = self.session.doc
        if doc is not None:  # the position sliders span the canvas and as much again around it
            self.x.set_slider_range(-doc.width, 2 * doc.width)
            self.y.set_slider_range(-doc.height, 2 * doc.height)
        self.refresh()

    def _layer_changed(self, layer_id: str) -> None:
        if layer_id == self.session.active_id:
            self.refresh()

    def position_fields(self) -> list[SliderField]:
        """The fields a position lock disables."""
        return [self.x, self.y, self.scale]

    def slider_fields(self) -> list[SliderField]:
        return [f for f in self._fields() if isinstance(f, SliderField)]

    def refresh(self, *_args) -> None:
        layer = self.session.active_layer()
        for field in self._fields():
            field.setEnabled(layer is not None)
        for field in self.position_fields():
            locked = layer is not None and layer.locked
            field.setEnabled(layer is not None and not locked)
            field.setToolTip(locked_hint(layer.name) if locked else self._tips[field])
        if layer is None:
            self.title.setText("No layer selected")
            return
        self.title.setText(layer.name)
        p = layer.params
        x0, y0, _, _ = layer.bounds()
        self.x.set_value(round(x0))
        self.y.set_value(round(y0))
        self.scale.set_value(p.scale[0] * 100)
        self.hue.set_value(p.recolor.hue)
        self.saturation.set_value(p.recolor.saturation * 100)
        self.brightness.set_value(p.recolor.brightness * 100)
        self.tint.set_value(p.recolor.tint_strength * 100)
        self.tint_color.set_color(QColor(*p.recolor.tint))
        self.opacity.set_value(p.opacity * 100)

    # -- edits

    def _move(self, x: float | None = None, y: float | None = None, gesture=None) -> None:
        layer, doc = self.session.active_layer(), self.session.doc
        if layer is None or doc is None or layer.locked:
            return
        x0, y0, _, _ = layer.bounds()
        ox, oy = layer.params.offset
        dx = 0.0 if x is None else x - round(x0)
        dy = 0.0 if y is None else y - round(y0)
        if dx or dy:
            self.session.push(commands.set_offset(doc, layer.id, (ox + dx, oy + dy), gesture))

    def _scale(self, percent: float, gesture) -> None:
        layer, doc = self.session.active_layer(), self.session.doc
        if layer is None or doc is None or layer.locked:
            return
        s = percent / 100
        if layer.params.scale != (s, s):
            self.session.push(commands.set_scale(doc, layer.id, (s, s), gesture))

    def _recolor(self, gesture, **changes) -> None:
        layer, doc = self.session.active_layer(), self.session.doc
        if layer is None or doc is None:
            return
        recolor = replace(layer.params.recolor, **changes)
        if recolor != layer.params.recolor:
            self.session.push(commands.set_recolor(doc, layer.id, recolor, gesture))

    def _tint_color(self, color: QColor) -> None:
        layer = self.session.active_layer()
        if layer is None:
            return
        changes: dict = {"tint": (color.red(), color.green(), color.blue())}
        if layer.params.recolor.tint_strength == 0:
            changes["tint_strength"] = 0.5  # picking a colour should show it
        self._recolor(None, **changes)

    def _opacity(self, percent: float, gesture) -> None:
        set_active_opacity(self.session, percent, gesture)

    def _reset_color(self) -> None:
        layer, doc = self.session.active_layer(), self.session.doc
        if layer is not None and doc is not None and not layer.params.recolor.is_identity():
            self.session.push(commands.set_recolor(doc, layer.id, Recolor()))
