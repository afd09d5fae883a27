"""Object Select in the real editor (offscreen Qt) with a tiny random Segment Anything model
loaded by the real loader: prompts land on the right pixels at any zoom, a click and Enter make
exactly one undoable layer without changing the picture, the embedding can be cancelled, and
without weights the tool says how to get them and falls back to Extract. The tiny model's
masks are arbitrary; these tests check the plumbing, not quality."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from segment_fixtures import tiny_sam
from test_gui_extract import scene
from test_gui_support import (  # noqa: F401 - the *_fixture names are fixtures
    canvas_point,
    doc_composite,
    drag,
    isolated_settings_fixture,
    send_mouse,
    undo_all,
    window_fixture,
)

from app.core import commands
from app.core.document import Document
from app.core.layer import LayerParams
from app.ui.object_select import weights_hint
from model.segment.choice import ENV_MATTER, ENV_MODEL


@pytest.fixture(scope="module")
def sam_folder(tmp_path_factory):
    return tiny_sam(tmp_path_factory.mktemp("weights") / "tiny-sam")


@pytest.fixture(autouse=True)
def offline_weights(monkeypatch, tmp_path):
    from huggingface_hub import constants as hub

    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.delenv(ENV_MODEL, raising=False)
    monkeypatch.setenv(ENV_MATTER, str(tmp_path / "no-vitmatte"))  # closed-form matting


def click_at(canvas, pos: QPointF, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    left = Qt.MouseButton.LeftButton
    send_mouse(canvas, QEvent.Type.MouseButtonPress, pos, left, left, modifiers)
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, pos, Qt.MouseButton.NoButton, left,
               modifiers)


def start_tool(qtbot, window, picture):
    window.session.set_document(Document.from_image(picture))
    tool = window.object_select
    with qtbot.waitSignal(tool.embedded, timeout=120_000):
        window.act_object_tool.trigger()
    assert window.canvas.tool == "object" and tool.embedding() is not None
    return tool


def test_without_weights_the_tool_says_how_to_get_them_and_extracts(qtbot, window):
    window.session.set_document(Document.from_image(scene()))
    window.act_object_tool.trigger()
    assert window.last_error == weights_hint()
    assert "`python main.py models download edgetam`" in weights_hint()
    assert window.canvas.tool == "extract" and window.act_extract_tool.isChecked()


@pytest.mark.parametrize("zoom", [0.5, 1.0, 3.0])
def test_clicks_and_boxes_land_on_the_picture_pixels_at_any_zoom(
        qtbot, window, sam_folder, monkeypatch, zoom):
    monkeypatch.setenv(ENV_MODEL, str(sam_folder))
    picture = scene()  # 300 x 200: not square
    tool = start_tool(qtbot, window, picture)
    canvas = window.canvas
    canvas.view.center(300, 200, canvas.width(), canvas.height(), zoom)
    canvas.update()
    targets = [(150.5, 100.5), (20.5, 180.5), (290.5, 10.5)]
    with qtbot.waitSignal(tool.shown, timeout=30_000):
        click_at(canvas, canvas_point(window, *targets[0]))
    click_at(canvas, canvas_point(window, *targets[1]), Qt.KeyboardModifier.ShiftModifier)
    click_at(canvas, canvas_point(window, *targets[2]), Qt.KeyboardModifier.AltModifier)
    assert tool.prompts.labels == [1, 1, 0]
    tolerance = 0.5 / zoom + 1e-6  # mouse positions are widget pixels
    for (px, py), (x, y) in zip(tool.prompts.points, targets):
        assert abs(px - (x - 0.5)) <= tolerance and abs(py - (y - 0.5)) <= tolerance
    drag(canvas, canvas_point(window, 100, 50), canvas_point(window, 200, 150))
    x0, y0, x1, y1 = tool.prompts.box
    assert abs(x0 - 99.5) <= tolerance and abs(y1 - 149.5) <= tolerance
    qtbot.waitUntil(lambda: not tool._busy and tool._pending is None, timeout=30_000)
    assert tool.selection is not None and tool.selection.mask().shape == (200, 300)
    assert len(window.session.doc.layers) == 1  # nothing changes before Enter


def test_prompts_follow_a_moved_and_scaled_layer(qtbot, window, sam_folder, monkeypatch):
    monkeypatch.setenv(ENV_MODEL, str(sam_folder))
    doc = Document.from_image(scene())
    layer = doc.layers[0]
    layer.params = LayerParams(name="Photo", offset=(30.0, -12.0), scale=(0.5, 0.5))
    window.session.set_document(doc)
    tool = window.object_select
    with qtbot.waitSignal(tool.embedded, timeout=120_000):
        window.act_object_tool.trigger()
    # the layer's pixel (200, 60) is drawn at the canvas point the scale and offset put it
    cx, cy = layer.center
    x = cx + 0.5 * (200.5 - cx) + 30
    y = cy + 0.5 * (60.5 - cy) - 12
    click_at(window.canvas, canvas_point(window, x, y))
    px, py = tool.prompts.points[0]
    tolerance = 0.5 / window.canvas.view.zoom / 0.5 + 1e-6
    assert abs(px - 200) <= tolerance and abs(py - 60) <= tolerance


def test_click_and_enter_make_one_undoable_layer_and_keep_the_picture(
        qtbot, window, sam_folder, monkeypatch):
    monkeypatch.setenv(ENV_MODEL, str(sam_folder))
    picture = scene()
    tool = start_tool(qtbot, window, picture)
    steps = window.session.undo_stack.count()
    with qtbot.waitSignal(tool.shown, timeout=30_000):
        click_at(window.canvas, canvas_point(window, 150, 100))
    assert tool.selection is not None
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: bool(window.session.undo_stack.count() > steps or window.last_error),
        timeout=240_000)
    assert window.last_error is None, window.last_error
    doc = window.session.doc
    assert window.session.undo_stack.count() == steps + 1
    assert window.session.undo_stack.undoText() == "Object to Layer"
    assert len(doc.layers) == 2 and doc.layers[1].name == "Object"
    obj = doc.layers[1]
    assert not obj.locked
    after = doc_composite(window).astype(int)
    assert np.abs(after - picture).max() <= 1  # the picture is unchanged (8-bit rounding)
    window.session.push(commands.set_offset(doc, obj.id, (40.0, 0.0)))
    assert np.abs(doc_composite(window).astype(int) - picture).max() > 10  # until it moves
    assert undo_all(window) == 2
    assert len(window.session.doc.layers) == 1
    assert np.array_equal(doc_composite(window), picture)


def test_escape_drops_the_selection(qtbot, window, sam_folder, monkeypatch):
    monkeypatch.setenv(ENV_MODEL, str(sam_folder))
    tool = start_tool(qtbot, window, scene())
    with qtbot.waitSignal(tool.shown, timeout=30_000):
        click_at(window.canvas, canvas_point(window, 150, 100))
    QTest.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert tool.prompts.empty and tool.selection is None
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)  # nothing selected: nothing happens
    assert len(window.session.doc.layers) == 1
    assert window.session.undo_stack.count() == 0


def test_the_embedding_can_be_cancelled_and_restarts_on_a_click(
        qtbot, window, sam_folder, monkeypatch):
    monkeypatch.setenv(ENV_MODEL, str(sam_folder))
    window.session.set_document(Document.from_image(scene()))
    tool = window.object_select
    window.act_object_tool.trigger()
    assert tool.progress.isVisible() or tool._embedding_cancel is not None
    tool.progress.cancel.click()  # the Cancel button in the status bar
    qtbot.waitUntil(lambda: tool._embedding_cancel is None, timeout=60_000)
    assert tool.embedding() is None and window.last_error is None
    assert "cancelled" in window.statusBar().currentMessage()
    with qtbot.waitSignal(tool.embedded, timeout=120_000):
        click_at(window.canvas, canvas_point(window, 150, 100))
    assert tool.embedding() is not None


def test_hover_shows_the_mask_under_the_cursor(qtbot, window, sam_folder, monkeypatch):
    monkeypatch.setenv(ENV_MODEL, str(sam_folder))
    tool = start_tool(qtbot, window, scene())
    with qtbot.waitSignal(tool.shown, timeout=30_000):
        send_mouse(window.canvas, QEvent.Type.MouseMove, canvas_point(window, 150, 100),
                   Qt.MouseButton.NoButton)
    assert tool.hover_image is not None and tool.selection is None
    h, w = tool.hover_image.height(), tool.hover_image.width()
    assert (h, w) == (200, 300)  # the layer's aspect, at most DISPLAY_SIDE
    QApplication.sendEvent(window.canvas, QEvent(QEvent.Type.Leave))
    assert tool.hover_image is None
