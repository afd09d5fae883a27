"""The layer panel (model adapter, selection sync, reorder, rename, visibility, context
actions) and the properties panel (live sliders, typed values)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QModelIndex, Qt
from test_gui_canvas import make_doc
from test_gui_support import (  # noqa: F401 - the *_fixture names are fixtures
    doc_composite,
    isolated_settings_fixture,
    undo_all,
    window_fixture,
)

from app.core.layer import Recolor


@pytest.fixture
def loaded(window):
    window.session.set_document(make_doc())
    return window


def names_top_first(window) -> list[str]:
    model = window.layer_panel.model
    return [model.index(r).data() for r in range(model.rowCount())]


def test_rows_are_top_first_with_thumbnails_and_eyes(loaded):
    model = loaded.layer_panel.model
    assert names_top_first(loaded) == ["Ring", "Square", "Background"]
    index = model.index(0)
    assert not index.data(Qt.ItemDataRole.DecorationRole).isNull()
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked


def test_selection_follows_the_session_both_ways(loaded):
    panel, session = loaded.layer_panel, loaded.session
    square = session.doc.layers[1]
    session.set_active(square.id)
    assert panel.view.currentIndex().row() == 1
    panel.view.setCurrentIndex(panel.model.index(2))
    assert session.active_id == session.doc.layers[0].id
    assert loaded.properties.title.text() == "Background"


def test_rename_and_hide_through_the_model_are_undoable(loaded):
    model, session = loaded.layer_panel.model, loaded.session
    assert model.setData(model.index(1), "Red box", Qt.ItemDataRole.EditRole)
    assert session.doc.layers[1].name == "Red box"
    assert session.undo_stack.undoText() == "Rename 'Square'"
    model.setData(model.index(0), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert not session.doc.layers[2].params.visible
    assert model.index(0).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    assert undo_all(loaded) == 2
    assert names_top_first(loaded) == ["Ring", "Square", "Background"]
    assert session.doc.layers[2].params.visible


@pytest.mark.parametrize(("source", "drop_row", "expected"), [
    (2, 0, ["Background", "Ring", "Square"]),  # bottom to the top
    (0, 3, ["Square", "Background", "Ring"]),  # top to below the last row
    (0, 2, ["Square", "Ring", "Background"]),  # top to between the second and third
])  # fmt: skip
def test_drag_and_drop_reorders_in_one_step(loaded, source, drop_row, expected):
    model = loaded.layer_panel.model
    data = model.mimeData([model.index(source)])
    model.dropMimeData(data, Qt.DropAction.MoveAction, drop_row, 0, QModelIndex())
    assert names_top_first(loaded) == expected
    assert loaded.session.undo_stack.count() == 1
    loaded.act_undo.trigger()
    assert names_top_first(loaded) == ["Ring", "Square", "Background"]


def test_layer_actions_duplicate_merge_delete_raise(loaded):
    session = loaded.session
    before = doc_composite(loaded)
    session.set_active(session.doc.layers[1].id)  # Square
    loaded.act_duplicate.trigger()
    assert names_top_first(loaded) == ["Ring", "Square copy", "Square", "Background"]
    assert session.active_layer().name == "Square copy"
    loaded.act_merge.trigger()
    assert names_top_first(loaded) == ["Ring", "Square", "Background"]
    assert np.abs(doc_composite(loaded).astype(int) - before).max() <= 1
    loaded.act_raise.trigger()
    assert names_top_first(loaded) == ["Square", "Ring", "Background"]
    assert not loaded.act_raise.isEnabled()
    loaded.act_delete.trigger()
    assert names_top_first(loaded) == ["Ring", "Background"]
    assert undo_all(loaded) == 4
    assert np.array_equal(doc_composite(loaded), before)
    session.set_active(session.doc.layers[0].id)
    assert not loaded.act_merge.isEnabled() and not loaded.act_lower.isEnabled()


def test_context_menu_holds_the_layer_actions(loaded):
    texts = [a.text() for a in loaded.layer_context_actions() if a is not None]
    for wanted in ("Decompose &Further...", "D&uplicate Layer", "&Merge Down", "&Delete Layer",
                   "&Rename Layer...", "Export Layer as &PNG..."):
        assert wanted in texts


def test_slider_drag_previews_live_and_is_one_step(loaded):
    session, props = loaded.session, loaded.properties
    ring = session.doc.layers[2]
    session.set_active(ring.id)
    start = doc_composite(loaded)
    slider = props.opacity.slider
    slider.setSliderDown(True)
    seen = []
    for value in (90, 70, 50, 30):
        slider.setValue(value)
        seen.append(ring.params.opacity)
    slider.setSliderDown(False)
    assert seen == [0.9, 0.7, 0.5, 0.3]  # the document follows the slider while dragging
    assert session.undo_stack.count() == 1
    assert props.opacity.spin.value() == 30
    faded = doc_composite(loaded)
    assert faded[120, 230, 1] < start[120, 230, 1]  # the ring's green is weaker
    loaded.act_undo.trigger()
    assert ring.params.opacity == 1.0 and props.opacity.value() == 100


def test_typed_values_are_one_step_each(loaded):
    session, props = loaded.session, loaded.properties
    square = session.doc.layers[1]
    session.set_active(square.id)
    assert props.x.value() == 30 and props.y.value() == 40
    props.x.spin.setValue(50)
    assert square.params.offset == (20.0, 0.0)
    props.scale.spin.setValue(50)
    assert square.params.scale == (0.5, 0.5)
    props.saturation.spin.setValue(0)
    props.brightness.spin.setValue(20)
    assert square.params.recolor == Recolor(saturation=0.0, brightness=0.2)
    assert session.undo_stack.count() == 4
    props.reset_color.click()
    assert square.params.recolor.is_identity()
    assert session.undo_stack.count() == 5


def test_properties_follow_undo(loaded):
    session, props = loaded.session, loaded.properties
    square = session.doc.layers[1]
    session.set_active(square.id)
    props.hue.spin.setValue(90)
    assert square.params.recolor.hue == 90
    loaded.act_undo.trigger()
    assert props.hue.value() == 0
    loaded.act_redo.trigger()
    assert props.hue.value() == 90


def test_thumbnails_follow_recolouring(loaded):
    from app.core import commands

    session, model = loaded.session, loaded.layer_panel.model
    square = session.doc.layers[1]

    def centre_colour():
        icon = model.index(1).data(Qt.ItemDataRole.DecorationRole)
        image = icon.pixmap(40, 40).toImage()
        colour = image.pixelColor(20, 20)
        return colour.red(), colour.green(), colour.blue()

    assert centre_colour() == (220, 30, 30)
    session.push(commands.set_recolor(session.doc, square.id, Recolor(hue=120.0)))
    r, g, b = centre_colour()
    assert g > 150 and r < 60  # red turned green


def test_thumbnail_shrinking_keeps_colours_at_soft_edges():
    from app.ui.layer_model import shrink_for_thumbnail

    pixels = np.zeros((400, 400, 4), np.uint8)
    pixels[100:300, 100:300] = (200, 40, 40, 255)
    small = shrink_for_thumbnail(pixels)
    assert small.shape == (40, 40, 4)
    edge = small[9:11, 10:30]  # straddles the square's top edge: partly transparent
    visible = edge[edge[:, :, 3] > 0]
    assert visible.size and np.all(np.abs(visible[:, :3].astype(int) - (200, 40, 40)) <= 1)
