"""Edit > Preferences (the largest picture the editor opens, kept in QSettings) and the
words the window uses to count layers."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from test_gui_support import (  # noqa: F401 - the *_fixture names are fixtures
    design_image,
    isolated_settings_fixture,
    open_and_wait,
    wait_files,
    window_fixture,
    write_png,
)

from app.core.formats.limits import DEFAULT_MAX_PIXELS, max_pixels, set_max_pixels
from app.ui.decompose_controller import result_summary
from app.ui.preferences import MAX_PIXELS_KEY
from model.base import DecomposedLayer, DecomposeResult

pytestmark = pytest.mark.usefixtures("default_pixel_limit")


def test_the_pixel_limit_preference_is_kept_and_applies_to_opening(qtbot, window, tmp_path):
    big = write_png(tmp_path / "big.png", np.full((1000, 1001, 4), 200, np.uint8))
    dialog = window.show_preferences()
    assert dialog.max_pixels.value() == pytest.approx(DEFAULT_MAX_PIXELS / 1e6, abs=0.05)
    dialog.max_pixels.setValue(1.0)  # megapixels
    assert "1,000 \u00d7 1,000" in dialog.example.text()
    dialog.accept()
    assert max_pixels() == 1_000_000
    assert int(QSettings().value(MAX_PIXELS_KEY)) == 1_000_000
    window.open_file(big)
    wait_files(qtbot, window)
    assert window.session.doc is None
    assert "1001x1000" in window.last_error and "1,000,000" in window.last_error
    # a new window (the next start) puts the saved limit in force again
    set_max_pixels(None)
    from app.ui.main_window import MainWindow

    again = MainWindow(recovery_dir=str(tmp_path / "r2"), autosave_ms=3_600_000)
    try:
        assert max_pixels() == 1_000_000
        dialog = again.show_preferences()
        assert dialog.max_pixels.value() == 1.0
        dialog.max_pixels.setValue(2.0)
        dialog.accept()
    finally:
        again.close()
        again.deleteLater()
    open_and_wait(qtbot, window, big)
    assert window.session.doc.size == (1001, 1000)
    # "Default" forgets the choice
    dialog = window.show_preferences()
    dialog.default_button.click()
    dialog.accept()
    assert QSettings().value(MAX_PIXELS_KEY) is None and max_pixels() == DEFAULT_MAX_PIXELS


def test_a_cancelled_dialog_changes_nothing(window):
    dialog = window.show_preferences()
    dialog.max_pixels.setValue(3.0)
    dialog.reject()
    assert max_pixels() == DEFAULT_MAX_PIXELS and QSettings().value(MAX_PIXELS_KEY) is None


def test_layers_are_counted_in_words(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, write_png(tmp_path / "one.png", design_image()))
    assert window.statusBar().currentMessage().endswith(", 1 layer.")
    rgba = np.zeros((4, 4, 4), np.uint8)

    def result(n: int, warnings: list[str]) -> DecomposeResult:
        return DecomposeResult([DecomposedLayer(rgba, f"L{i}") for i in range(n)], "classic",
                               warnings=warnings)

    assert result_summary(result(1, []), 0.5) == "1 layer from classic on cpu in 0.5 s."
    text = result_summary(result(3, ["found 3 layers, not the 5 asked for"]), 2.04)
    assert text == "3 layers from classic on cpu in 2.0 s. Found 3 layers, not the 5 asked for."
