"""Decomposition in the window: cancel, failure, and "Decompose further" on one layer."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from test_gui_support import (  # noqa: F401 - the *_fixture names are fixtures
    design_image,
    doc_composite,
    isolated_settings_fixture,
    open_and_wait,
    window_fixture,
    write_png,
)

from model.base import DecomposeOptions


def test_cancel_returns_at_once_and_leaves_the_document(qtbot, window, tmp_path):
    original = design_image(640, 480)
    open_and_wait(qtbot, window, write_png(tmp_path / "big.png", original))
    doc = window.session.doc
    layers_before = list(doc.layers)
    window.decomposer.start("classic", DecomposeOptions())
    job = window.decomposer.job
    assert window.decomposer.running and window.progress.isVisible()
    qtbot.waitUntil(lambda: window.progress.label.text() != "", timeout=5_000)
    started = time.monotonic()
    qtbot.mouseClick(window.progress.cancel, Qt.MouseButton.LeftButton)
    assert time.monotonic() - started < 1.0
    assert not window.decomposer.running
    assert not window.progress.isVisible()
    assert "cancelled" in window.statusBar().currentMessage()
    job.thread.join(timeout=30)  # the backend polls the token and stops
    assert not job.thread.is_alive()
    qtbot.wait(50)  # anything the worker still sent is delivered and must be ignored
    assert window.session.doc is doc and doc.layers == layers_before
    assert window.session.undo_stack.count() == 0
    assert window.last_error is None
    assert np.array_equal(doc_composite(window), original)


def test_unavailable_backend_reports_and_leaves_the_document(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, write_png(tmp_path / "d.png", design_image()))
    doc = window.session.doc
    window.decomposer.start("qwen", DecomposeOptions())
    qtbot.waitUntil(lambda: not window.decomposer.running, timeout=60_000)
    assert window.last_error  # one sentence saying why qwen cannot run here
    assert "\n" not in window.last_error
    assert len(doc.layers) == 1 and window.session.undo_stack.count() == 0
    assert "unchanged" in window.statusBar().currentMessage()


def test_dialog_shows_why_a_backend_cannot_run(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, write_png(tmp_path / "d.png", design_image()))
    dialog = window.decomposer.ask()
    qtbot.waitUntil(dialog.is_ready, timeout=60_000)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    qwen = dialog.availability["qwen"]
    dialog.backend.setCurrentIndex(dialog.backend.findData("qwen"))
    assert ok.isEnabled() == qwen.ok
    assert dialog.reason.text() == qwen.reason
    dialog.backend.setCurrentIndex(dialog.backend.findData("classic"))
    assert ok.isEnabled()
    dialog.layers.setValue(3)
    dialog.seed.setValue(7)
    dialog.reject()
    # accepted options are remembered for the next dialog
    dialog = window.decomposer.ask()
    dialog.backend.setCurrentIndex(dialog.backend.findData("classic"))
    dialog.layers.setValue(3)
    dialog.seed.setValue(7)
    assert dialog.refine.isChecked()  # refinement is on unless turned off
    dialog.refine.setChecked(False)
    dialog.save_settings()
    dialog.reject()
    again = window.decomposer.ask()
    assert again.backend_name() == "classic"
    assert again.options().layers == 3 and again.options().seed == 7
    assert again.options().refine == "off"
    # whether qwen can run depends on the device: choosing one checks again
    again.device.setCurrentIndex(again.device.findData("cpu"))
    assert not again.is_ready()
    qtbot.waitUntil(again.is_ready, timeout=60_000)
    assert again.options().device == "cpu"
    assert again.availability["classic"].ok
    again.reject()


@pytest.mark.slow
def test_decompose_further_replaces_one_layer_in_one_step(qtbot, window, tmp_path):
    original = design_image()
    open_and_wait(qtbot, window, write_png(tmp_path / "d.png", original))
    session = window.session
    layer = session.doc.layers[0]
    window.act_decompose_layer.trigger()
    dialog = window.decomposer.dialog
    qtbot.waitUntil(dialog.is_ready, timeout=60_000)
    dialog.backend.setCurrentIndex(dialog.backend.findData("classic"))
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.decomposer.running, timeout=120_000)
    assert window.last_error is None
    assert len(session.doc.layers) >= 3
    assert session.undo_stack.count() == 1
    assert session.undo_stack.undoText() == f"Decompose '{layer.name}'"
    assert np.abs(doc_composite(window).astype(int) - original).max() <= 3
    window.act_undo.trigger()
    assert session.doc.layers == [layer]
    assert np.array_equal(doc_composite(window), original)


@pytest.mark.slow
def test_window_stays_responsive_while_decomposing(qtbot, window, tmp_path):
    from PySide6.QtCore import QTimer

    open_and_wait(qtbot, window, write_png(tmp_path / "big.png", design_image(640, 480)))
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    window.decomposer.start("classic", DecomposeOptions())
    qtbot.waitUntil(lambda: not window.decomposer.running, timeout=120_000)
    timer.stop()
    assert window.last_error is None and len(window.session.doc.layers) >= 3
    gaps = np.diff(ticks)
    assert len(ticks) > 10
    print(f"longest event-loop gap {gaps.max() * 1000:.0f} ms over {len(ticks)} ticks")
    assert gaps.max() < 1.0, f"the event loop stalled for {gaps.max():.2f} s"


def test_dialog_offers_quality_presets_with_the_plan(qtbot, window, tmp_path):
    pytest.importorskip("diffusers")
    open_and_wait(qtbot, window, write_png(tmp_path / "d.png", design_image()))
    dialog = window.decomposer.ask()
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    assert [dialog.quality.itemData(i) for i in range(dialog.quality.count())] == [
        "exact", "fast", "draft"]
    qtbot.waitUntil(lambda: bool(dialog.plans), timeout=60_000)
    assert set(dialog.plans) == {"exact", "fast", "draft"}
    dialog.quality.setCurrentIndex(dialog.quality.findData("draft"))
    assert dialog.plan.text().startswith("Plan: all on the CPU")
    assert dialog.memory.findData("group") >= 0
    dialog.names.setChecked(False)
    options = dialog.options()
    assert options.quality == "draft" and options.names is False
    dialog.save_settings()
    dialog.reject()
    again = window.decomposer.ask()
    assert again.options().quality == "draft" and not again.options().names
    again.reject()
