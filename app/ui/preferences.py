"""Edit > Preferences: the largest picture the editor opens, kept in QSettings.

The limit guards memory against huge or hostile files; a designer with big scans can raise it.
It applies to every reader (flat images, PSD, ORA, sessions, folders) through
`app.core.formats.limits.set_max_pixels`.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.formats.limits import DEFAULT_MAX_PIXELS, MAX_SIDE, max_pixels, set_max_pixels

MAX_PIXELS_KEY = "limits/maxPixels"
MEGA = 1_000_000
MIN_MEGAPIXELS, MAX_MEGAPIXELS = 1.0, 4000.0  # 4000 MP is 16 GB as RGBA


def saved_max_pixels() -> int | None:
    """The limit the user chose, or None (the default applies)."""
    value = QSettings().value(MAX_PIXELS_KEY)
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if n > 0 else None


def save_max_pixels(n: int | None) -> None:
    settings = QSettings()
    if n is None:
        settings.remove(MAX_PIXELS_KEY)
    else:
        settings.setValue(MAX_PIXELS_KEY, int(n))
    set_max_pixels(n)


def apply_saved_preferences() -> None:
    """At start-up: put the saved limit in force for every reader."""
    set_max_pixels(saved_max_pixels())


def describe_pixels(n: int) -> str:
    side = min(math.isqrt(n), MAX_SIDE)
    wide = min(math.isqrt(2 * n), MAX_SIDE)
    return (
        f"{n / MEGA:,.1f} megapixels, e.g. {side:,} \u00d7 {side:,} "
        f"or {wide:,} \u00d7 {n // wide:,}"
    )


class PreferencesDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.max_pixels = QDoubleSpinBox()
        self.max_pixels.setObjectName("maxPixels")
        self.max_pixels.setRange(MIN_MEGAPIXELS, MAX_MEGAPIXELS)
        self.max_pixels.setDecimals(1)
        self.max_pixels.setSingleStep(10.0)
        self.max_pixels.setSuffix(" MP")
        self.max_pixels.setToolTip(
            "Pictures with more pixels than this are refused when opened, to keep memory safe"
        )
        self.max_pixels.setValue(max_pixels() / MEGA)
        self._initial = self.max_pixels.value()
        self.example = QLabel()
        self.example.setObjectName("hint")
        self.max_pixels.valueChanged.connect(self._show_example)
        self._show_example()
        self.default_button = default = QPushButton("Default")
        default.setToolTip(f"Back to {describe_pixels(DEFAULT_MAX_PIXELS)}")
        default.clicked.connect(lambda: self.max_pixels.setValue(DEFAULT_MAX_PIXELS / MEGA))
        form = QFormLayout()
        form.addRow("Largest picture", self.max_pixels)
        form.addRow("", self.example)
        form.addRow("", default)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def chosen_pixels(self) -> int:
        return round(self.max_pixels.value() * MEGA)

    def _show_example(self, *_args) -> None:
        self.example.setText(describe_pixels(self.chosen_pixels()))

    def accept(self) -> None:
        value = self.max_pixels.value()
        if value != self._initial:  # the field shows 0.1 MP steps: untouched keeps the limit
            default = value == round(DEFAULT_MAX_PIXELS / MEGA, 1)
            save_max_pixels(None if default else self.chosen_pixels())
        super().accept()
