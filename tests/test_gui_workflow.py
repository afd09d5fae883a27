"""End to end through the real window: open, decompose with `classic` through the dialog,
edit on the canvas and panels, undo/redo everything exactly, export a PSD."""

from __future__ import annotations

import numpy as np
import pytest
from psd_tools import PSDImage
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QDialogButtonBox
from test_gui_support import (  # noqa: F401 - the *_fixture names are fixtures
    canvas_point,
    click,
    design_image,
    doc_composite,
    drag,
    isolated_settings_fixture,
    layer_named,
    open_and_wait,
    redo_all,
    undo_all,
    wait_files,
    window_fixture,
    write_png,
)  # fmt: skip


def decompose_through_dialog(qtbot, window, backend: str = "classic") -> None:
    window.act_decompose.trigger()
    dialog = window.decomposer.dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(dialog.is_ready, timeout=30_000)
    dialog.backend.setCurrentIndex(dialog.backend.findData(backend))
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled(), dialog.reason.text()
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert window.decomposer.running
    window.activateWindow()  # a window manager would give focus back after the dialog
    qtbot.waitUntil(lambda: not window.decomposer.running, timeout=120_000)


@pytest.mark.slow
def test_decompose_edit_undo_redo_export(qtbot, window, tmp_path):
    original = design_image()
    open_and_wait(qtbot, window, write_png(tmp_path / "design.png", original))
    session = window.session
    assert len(session.doc.layers) == 1
    assert np.array_equal(doc_composite(window), original)
    assert window.windowTitle().startswith("design.png")

    decompose_through_dialog(qtbot, window)
    doc = session.doc
    assert window.last_error is None
    assert len(doc.layers) >= 3, [layer.name for layer in doc.layers]
    assert session.undo_stack.count() == 1
    assert window.isWindowModified()
    assert "classic" in window.statusBar().currentMessage()
    decomposed = doc_composite(window)
    assert np.abs(decomposed.astype(int) - original).max() <= 3  # the layers rebuild the picture

    # click on the disc selects the layer that holds it
    click(window.canvas, canvas_point(window, 90, 110))
    disc = doc.topmost_at(90, 110)
    assert disc is not None and session.active_id == disc.id and disc.name != "Background"

    # drag it 40 px right, 20 px down: one undo step named after the layer
    zoom = window.canvas.view.zoom
    before = session.undo_stack.count()
    drag(window.canvas, canvas_point(window, 90, 110), canvas_point(window, 130, 130), steps=10)
    assert session.undo_stack.count() == before + 1
    assert session.undo_stack.undoText() == f"Move '{disc.name}'"
    assert window.act_undo.text() == f"Undo Move '{disc.name}'"
    assert disc.params.offset == (round(40 * zoom) / zoom, round(20 * zoom) / zoom) or (
        abs(disc.params.offset[0] - 40) <= 1 / zoom and abs(disc.params.offset[1] - 20) <= 1 / zoom
    )

    # select the square and scale it with its bottom-right handle
    square = doc.topmost_at(235, 115)
    click(window.canvas, canvas_point(window, 235, 115))
    assert session.active_id == square.id
    x0, y0, x1, y1 = square.bounds()
    drag(window.canvas, canvas_point(window, x1, y1), canvas_point(window, x1 + 30, y1 + 30))
    sx, sy = square.params.scale
    assert sx == pytest.approx(sy) and sx > 1.2
    assert session.undo_stack.undoText() == f"Scale '{square.name}'"

    # recolour it with the hue slider: a slider drag is one undo step
    count = session.undo_stack.count()
    hue = window.properties.hue.slider
    hue.setSliderDown(True)
    for value in (10, 40, 90, 120):
        hue.setValue(value)
    hue.setSliderDown(False)
    assert session.undo_stack.count() == count + 1
    assert square.params.recolor.hue == 120

    # delete the background with the Delete key
    background = layer_named(doc, "Background")
    session.set_active(background.id)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Delete)
    assert all(layer.id != background.id for layer in doc.layers)
    edited = doc_composite(window)
    assert edited[5, 5, 3] == 0  # the background is gone: transparent corner

    steps = undo_all(window)
    assert steps == 5
    assert len(doc.layers) == 1
    assert np.array_equal(doc_composite(window), original)

    assert redo_all(window) == 5
    assert np.array_equal(doc_composite(window), edited)

    out = tmp_path / "edited.psd"
    window.files.export(str(out))
    wait_files(qtbot, window)
    assert window.last_error is None
    psd = PSDImage.open(out)
    names = [layer.name for layer in psd]
    assert names == [layer.name for layer in doc.layers]
    assert psd.size == (doc.width, doc.height)
    merged = np.asarray(psd.composite(ignore_preview=True).convert("RGBA"))
    diff = np.abs(merged.astype(int) - edited.astype(int))
    assert np.percentile(diff[edited[:, :, 3] == 255], 99) <= 2
    moved = psd[names.index(disc.name)]
    bx0, by0, _, _ = disc.bounds()
    assert abs(moved.left - bx0) <= 1 and abs(moved.top - by0) <= 1


def test_canvas_drag_left_click_threshold_makes_no_step(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, write_png(tmp_path / "design.png", design_image()))
    click(window.canvas, canvas_point(window, 90, 110))
    assert window.session.undo_stack.count() == 0
    assert not window.isWindowModified()
    drag(window.canvas, canvas_point(window, 90, 110), QPointF(canvas_point(window, 90, 110)))
    assert window.session.undo_stack.count() == 0
