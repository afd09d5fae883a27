"""Small reusable widgets: a slider with a typed value, a colour button."""

from __future__ import annotations

import itertools

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import (
    QColorDialog,
    QDoubleSpinBox,
    QHBoxLayout,
    QPushButton,
    QSlider,
    QWidget,
)

_gestures = itertools.count(1)
_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class FieldSpinBox(QDoubleSpinBox):
    """A number field that is done with on Enter (the typed value applies) or Esc (the
    value shown before typing comes back); either way it emits `done`, and the window hands
    the focus back to the canvas."""

    done = Signal()

    def event(self, event: QEvent) -> bool:
        # Esc belongs to the field while it has the focus, not to the window's Esc shortcut
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Escape, *_ENTER)
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in _ENTER:
            super().keyPressEvent(event)  # applies the typed text
            self.done.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.setValue(self.value())  # the typed text is not applied until Enter
            self.done.emit()
            return
        super().keyPressEvent(event)


class SliderField(QWidget):
    """A number edited by a slider (live, one gesture per drag) or typed into a spin box.

    `edited(value, gesture)`: gesture is an id shared by every value of one slider drag,
    or None for a one-off change (typed value, arrow click, keyboard step).
    """

    edited = Signal(float, object)
    done = Signal()  # Enter or Esc in the typed field

    def __init__(
        self,
        minimum: float,
        maximum: float,
        decimals: int = 0,
        suffix: str = "",
        slider_range: tuple[float, float] | None = None,
        tooltip: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._factor = 10**decimals
        lo, hi = slider_range or (minimum, maximum)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(round(lo * self._factor), round(hi * self._factor))
        self.spin = FieldSpinBox()
        self.spin.setRange(minimum, maximum)
        self.spin.setDecimals(decimals)
        self.spin.setSuffix(suffix)
        self.spin.setKeyboardTracking(False)
        self.spin.setFixedWidth(78)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.setToolTip(tooltip)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self._gesture: int | None = None
        self.slider.sliderPressed.connect(self._begin)
        self.slider.sliderReleased.connect(self._end)
        self.slider.valueChanged.connect(self._slider_moved)
        self.spin.valueChanged.connect(self._typed)
        self.spin.done.connect(self.done)

    def value(self) -> float:
        return self.spin.value()

    def set_slider_range(self, low: float, high: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(round(low * self._factor), round(high * self._factor))
        self.slider.setValue(round(self.spin.value() * self._factor))
        self.slider.blockSignals(False)

    def set_value(self, value: float) -> None:
        """Show a value without emitting `edited`."""
        for w in (self.slider, self.spin):
            w.blockSignals(True)
        self.spin.setValue(value)
        self.slider.setValue(round(value * self._factor))
        for w in (self.slider, self.spin):
            w.blockSignals(False)

    def _begin(self) -> None:
        self._gesture = next(_gestures)

    def _end(self) -> None:
        self._gesture = None

    def _slider_moved(self, raw: int) -> None:
        value = raw / self._factor
        self.spin.blockSignals(True)
        self.spin.setValue(value)
        self.spin.blockSignals(False)
        self.edited.emit(value, self._gesture)

    def _typed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * self._factor))
        self.slider.blockSignals(False)
        self.edited.emit(value, None)


class ColorButton(QPushButton):
    """A swatch that opens a colour picker; `color_changed` fires when the user picks."""

    color_changed = Signal(QColor)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._color = QColor("#ffffff")
        self.setFixedSize(44, 22)
        self.setObjectName("colorSwatch")
        self.clicked.connect(self._pick)
        self._paint()

    def color(self) -> QColor:
        return QColor(self._color)

    def set_color(self, color: QColor) -> None:
        self._color = QColor(color)
        self._paint()

    def _paint(self) -> None:
        self.setStyleSheet(
            f"QPushButton#colorSwatch {{ background: {self._color.name()}; "
            "border: 1px solid #5a5a5a; border-radius: 3px; }"
        )

    def _pick(self) -> None:
        color = QColorDialog.getColor(self._color, self, "Tint colour")
        if color.isValid() and color != self._color:
            self.set_color(color)
            self.color_changed.emit(color)
