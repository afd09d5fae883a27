"""Commands and history: every edit undoes and redoes exactly, and stores parameters only."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import commands
from app.core.commands import History
from app.core.document import Document
from app.core.layer import Layer, LayerParams, Recolor
from app.core.render import composite_reference

HYPO = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def state(doc: Document) -> list[tuple]:
    """Everything a command may change, with pixel arrays compared by identity."""
    return [(layer.id, layer.params, id(layer.pixels), layer.origin) for layer in doc.layers]


@pytest.fixture
def doc(random_document) -> Document:
    return random_document(7, n_layers=4)


def check_do_undo(doc: Document, cmd: commands.Command) -> tuple[list, list]:
    """Runs cmd through a History; undo restores the start, redo the result, exactly."""
    history = History(doc)
    before, before_img = state(doc), composite_reference(doc)
    history.push(cmd)
    after, after_img = state(doc), composite_reference(doc)
    assert history.undo()
    assert state(doc) == before
    np.testing.assert_array_equal(composite_reference(doc), before_img)
    assert history.redo()
    assert state(doc) == after
    np.testing.assert_array_equal(composite_reference(doc), after_img)
    return before, after


def _premul(straight: np.ndarray) -> np.ndarray:
    out = straight.astype(float)
    out[:, :, :3] *= out[:, :, 3:4] / 255.0
    return out


# --- Each command.


def test_add_layer(doc, rng):
    layer = Layer(rng.integers(0, 256, (5, 5, 4), dtype=np.uint8), (3, 3))
    before, after = check_do_undo(doc, commands.add_layer(doc, layer, 1))
    assert len(after) == len(before) + 1 and doc.layers[1] is layer
    top = Layer(layer.pixels)
    check_do_undo(doc, commands.add_layer(doc, top))
    assert doc.layers[-1] is top


def test_delete_layer(doc):
    victim = doc.layers[2].id
    before, after = check_do_undo(doc, commands.delete_layer(doc, victim))
    assert [e[0] for e in after] == [e[0] for e in before if e[0] != victim]


@pytest.mark.parametrize(("src", "dst"), [(0, 3), (3, 0), (1, 2), (2, 2), (1, 99)])
def test_reorder(doc, src, dst):
    ids = [layer.id for layer in doc.layers]
    check_do_undo(doc, commands.move_layer(doc, ids[src], dst))
    moved = ids.pop(src)
    ids.insert(min(dst, len(ids)), moved)
    assert [layer.id for layer in doc.layers] == ids


def test_rename(doc):
    lid = doc.layers[0].id
    check_do_undo(doc, commands.rename(doc, lid, "Sky ☁"))
    assert doc.layer(lid).name == "Sky ☁"


def test_visibility(doc):
    lid = doc.layers[1].id
    doc.layers[1].params = doc.layers[1].params.with_(visible=True)
    check_do_undo(doc, commands.set_visible(doc, lid, False))
    assert doc.layer(lid).params.visible is False


def test_opacity_is_clamped(doc):
    lid = doc.layers[1].id
    check_do_undo(doc, commands.set_opacity(doc, lid, 1.7))
    assert doc.layer(lid).params.opacity == 1.0
    check_do_undo(doc, commands.set_opacity(doc, lid, 0.25))
    assert doc.layer(lid).params.opacity == 0.25


def test_translate_adds_to_the_offset(doc):
    lid = doc.layers[3].id
    ox, oy = doc.layer(lid).params.offset
    check_do_undo(doc, commands.translate(doc, lid, 2.5, -4.0))
    assert doc.layer(lid).params.offset == (ox + 2.5, oy - 4.0)
    check_do_undo(doc, commands.set_offset(doc, lid, (1, 2)))
    assert doc.layer(lid).params.offset == (1.0, 2.0)


def test_scale_is_clamped_to_positive(doc):
    lid = doc.layers[0].id
    check_do_undo(doc, commands.set_scale(doc, lid, (2.0, 0.5)))
    assert doc.layer(lid).params.scale == (2.0, 0.5)
    check_do_undo(doc, commands.set_scale(doc, lid, (-1.0, 100.0)))
    assert doc.layer(lid).params.scale == (commands.MIN_SCALE, commands.MAX_SCALE)


def test_recolor(doc):
    lid = doc.layers[2].id
    recolor = Recolor(hue=45.0, saturation=0.5, brightness=0.1, tint=(9, 8, 7), tint_strength=0.3)
    check_do_undo(doc, commands.set_recolor(doc, lid, recolor))
    assert doc.layer(lid).params.recolor == recolor


def test_duplicate_shares_pixels_and_sits_above(doc):
    source = doc.layers[1]
    check_do_undo(doc, commands.duplicate_layer(doc, source.id))
    copy = doc.layers[2]
    assert copy.id != source.id and copy.pixels is source.pixels
    assert copy.name == f"{source.name} copy"
    assert dataclasses.replace(copy.params, name=source.name) == source.params


def test_merge_down_keeps_the_picture(doc):
    for layer in doc.layers:
        layer.params = layer.params.with_(visible=True)
    upper = doc.layers[2]
    lower = doc.layers[1]
    before_img = composite_reference(doc)
    before, after = check_do_undo(doc, commands.merge_down(doc, upper.id))
    assert len(after) == len(before) - 1
    merged = doc.layers[1]
    assert merged.id not in (upper.id, lower.id) and merged.name == lower.name
    assert merged.params == LayerParams(name=lower.name)
    # Baking stores straight uint8, so the picture may move by a rounding step
    # (compared premultiplied: a colour under alpha ~0 is not part of the picture).
    diff = np.abs(_premul(composite_reference(doc)) - _premul(before_img))
    assert diff.max() <= 2
    with pytest.raises(ValueError):
        commands.merge_down(doc, doc.layers[0].id)


def test_merge_down_keeps_pixels_moved_off_the_canvas():
    lower = Layer(np.full((10, 10, 4), 200, np.uint8), (0, 0), LayerParams(name="lower"))
    upper = Layer(np.full((10, 10, 4), 255, np.uint8), (20, 0), LayerParams(name="upper"))
    doc = Document(30, 10, [lower, upper])
    history = commands.History(doc)
    history.push(commands.translate(doc, upper.id, 15, 0))  # half of it now off the canvas
    history.push(commands.merge_down(doc, upper.id))
    merged = doc.layers[0]
    assert merged.source_rect == (0, 0, 45, 10)
    history.push(commands.translate(doc, merged.id, -15, 0))
    shown = composite_reference(doc)
    assert (shown[:, 20:30] == 255).all()  # the part that was off the canvas came back


def test_replace_one_layer_by_several(doc, rng):
    target = doc.layers[2]
    parts = [Layer(rng.integers(0, 256, (3, 4, 4), dtype=np.uint8), (i, i)) for i in range(3)]
    before, after = check_do_undo(doc, commands.replace_layer(doc, target.id, parts))
    assert [layer.id for layer in doc.layers[2:5]] == [p.id for p in parts]
    assert len(after) == len(before) + 2 and target.id not in [e[0] for e in after]


def test_replace_needs_adjacent_layers(doc):
    cmd = commands.ReplaceLayers([doc.layers[0].id, doc.layers[2].id], [])
    before = state(doc)
    with pytest.raises(ValueError):
        History(doc).push(cmd)
    assert state(doc) == before


def test_set_all_layers(doc, rng):
    new = [Layer(rng.integers(0, 256, (6, 6, 4), dtype=np.uint8)) for _ in range(2)]
    check_do_undo(doc, commands.SetAllLayers(new))
    assert doc.layers == new


# --- History behaviour.


def test_a_gesture_is_one_undo_step(doc):
    lid = doc.layers[1].id
    start = doc.layer(lid).params
    history = History(doc)
    for _ in range(10):
        history.push(commands.translate(doc, lid, 1.0, 0.5, gesture=1))
    assert len(history) == 1 and doc.layer(lid).params.offset == (
        start.offset[0] + 10,
        start.offset[1] + 5,
    )
    history.push(commands.translate(doc, lid, 1.0, 0.0, gesture=2))  # a new drag
    history.push(commands.set_opacity(doc, lid, 0.5, gesture=2))  # another property
    assert len(history) == 3
    history.undo()
    history.undo()
    history.undo()
    assert doc.layer(lid).params is start and not history.can_undo


def test_commands_without_gesture_never_merge(doc):
    lid = doc.layers[0].id
    history = History(doc)
    for i in range(3):
        history.push(commands.translate(doc, lid, 1.0, 0.0))
        history.push(commands.rename(doc, lid, f"n{i}"))
    assert len(history) == 6


def test_texts_and_listeners(doc):
    calls = []
    history = History(doc)
    history.listeners.append(lambda: calls.append(1))
    lid = doc.layers[0].id
    name = doc.layers[0].name
    history.push(commands.rename(doc, lid, "Other"))
    assert history.undo_text == f"Rename '{name}'" and history.redo_text == ""
    history.undo()
    assert history.redo_text == f"Rename '{name}'" and not history.undo()
    assert history.redo() and not history.redo()
    assert len(calls) == 3


def test_clean_state(doc):
    lid = doc.layers[0].id
    history = History(doc)
    assert history.is_clean
    history.push(commands.set_opacity(doc, lid, 0.1))
    assert not history.is_clean
    history.undo()
    assert history.is_clean
    history.redo()
    history.mark_clean()
    assert history.is_clean
    history.push(commands.set_opacity(doc, lid, 0.2))
    assert not history.is_clean
    history.undo()
    assert history.is_clean
    history.undo()
    assert not history.is_clean
    # A new edit here drops the branch holding the clean state: it is gone for good.
    history.push(commands.set_opacity(doc, lid, 0.3))
    history.undo()
    assert not history.is_clean
    history.redo()
    assert not history.is_clean


def test_a_gesture_does_not_merge_across_a_save(doc):
    lid = doc.layers[0].id
    history = History(doc)
    history.push(commands.translate(doc, lid, 1.0, 0.0, gesture="g"))
    history.mark_clean()
    saved = state(doc)
    history.push(commands.translate(doc, lid, 1.0, 0.0, gesture="g"))
    assert not history.is_clean and len(history) == 2
    history.undo()
    assert history.is_clean and state(doc) == saved


def test_merging_after_undo_forgets_a_clean_state_in_the_dropped_branch(doc):
    lid = doc.layers[0].id
    history = History(doc)
    history.push(commands.translate(doc, lid, 1.0, 0.0, gesture="g"))
    history.push(commands.rename(doc, lid, "saved"))
    history.mark_clean()
    history.undo()
    history.push(commands.translate(doc, lid, 1.0, 0.0, gesture="g"))  # merges, drops redo
    history.push(commands.rename(doc, lid, "not saved"))
    assert not history.is_clean


def test_history_is_bounded(doc):
    lid = doc.layers[0].id
    history = History(doc, limit=5)
    first = doc.layer(lid).params
    for i in range(8):
        history.push(commands.set_opacity(doc, lid, i / 10))
    assert len(history) == 5
    undone = 0
    while history.undo():
        undone += 1
    assert undone == 5
    assert doc.layer(lid).params.opacity == pytest.approx(0.2) and doc.layer(lid).params != first
    assert not history.is_clean  # the clean state fell off the bottom


def _arrays_in(obj, seen: set[int], found: list[np.ndarray]) -> None:
    """Every numpy array reachable from a command's fields (through lists and layers)."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        found.append(obj)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _arrays_in(item, seen, found)
    elif isinstance(obj, Layer):
        _arrays_in(obj.pixels, seen, found)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            _arrays_in(getattr(obj, f.name), seen, found)


def test_parameter_edits_store_parameters_not_pixels(doc):
    originals = {id(layer.pixels) for layer in doc.layers}
    history = History(doc)
    for i, layer in enumerate(doc.layers):
        history.push(commands.translate(doc, layer.id, 1.0, 2.0))
        history.push(commands.set_scale(doc, layer.id, (1.5, 1.5)))
        history.push(commands.set_recolor(doc, layer.id, Recolor(hue=10.0 * i)))
        history.push(commands.set_opacity(doc, layer.id, 0.5))
        history.push(commands.set_visible(doc, layer.id, False))
        history.push(commands.rename(doc, layer.id, f"n{i}"))
    for cmd in history._done:
        assert isinstance(cmd, commands.SetParams)
        found: list[np.ndarray] = []
        _arrays_in(cmd, set(), found)
        assert found == []
    history.push(commands.duplicate_layer(doc, doc.layers[0].id))
    assert {id(layer.pixels) for layer in doc.layers} == originals
    while history.undo():
        pass
    assert {id(layer.pixels) for layer in doc.layers} == originals
    assert all(not layer.pixels.flags.writeable for layer in doc.layers)


# --- Any sequence of commands undoes and redoes exactly.

OPS = [
    "add", "delete", "reorder", "rename", "visible", "opacity", "translate", "scale",
    "recolor", "duplicate", "merge_down", "replace", "drag", "undo", "redo", "save",
]  # fmt: skip


def _command(doc: Document, op: str, rng: np.random.Generator, step: int):
    """A command for `op` on a random layer, or None when the op does not apply."""
    if op == "add" or not doc.layers:
        w, h = (int(v) for v in rng.integers(1, 12, 2))
        px = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        layer = Layer(px, (int(rng.integers(-3, 20)), int(rng.integers(-3, 16))))
        return [commands.add_layer(doc, layer, int(rng.integers(len(doc.layers) + 1)))]
    i = int(rng.integers(len(doc.layers)))
    lid = doc.layers[i].id
    if op == "delete":
        return [commands.delete_layer(doc, lid)]
    if op == "reorder":
        return [commands.move_layer(doc, lid, int(rng.integers(len(doc.layers))))]
    if op == "rename":
        return [commands.rename(doc, lid, f"name {step}")]
    if op == "visible":
        return [commands.set_visible(doc, lid, not doc.layers[i].params.visible)]
    if op == "opacity":
        return [commands.set_opacity(doc, lid, float(rng.random()))]
    if op == "translate":
        return [commands.translate(doc, lid, *(float(v) for v in rng.uniform(-5, 5, 2)))]
    if op == "scale":
        return [commands.set_scale(doc, lid, tuple(float(v) for v in rng.uniform(0.3, 2, 2)))]
    if op == "recolor":
        recolor = Recolor(hue=float(rng.uniform(-180, 180)), brightness=float(rng.uniform(-1, 1)))
        return [commands.set_recolor(doc, lid, recolor)]
    if op == "duplicate":
        return [commands.duplicate_layer(doc, lid)]
    if op == "merge_down":
        return [commands.merge_down(doc, lid)] if i > 0 else None
    if op == "replace":
        n = int(rng.integers(1, 4))
        parts = [
            Layer(rng.integers(0, 256, (4, 5, 4), dtype=np.uint8), (int(rng.integers(0, 20)), 2))
            for _ in range(n)
        ]
        return [commands.replace_layer(doc, lid, parts)]
    if op == "drag":  # a gesture: several pushes that history merges into one step
        return "drag", lid
    return None


@settings(HYPO, max_examples=100)
@given(seed=st.integers(0, 2**31), ops=st.lists(st.sampled_from(OPS), min_size=1, max_size=25))
def test_any_sequence_undoes_and_redoes_exactly(random_document, seed, ops):
    rng = np.random.default_rng(seed)
    doc = random_document(rng, n_layers=3)
    history = History(doc)
    initial_state, initial_img = state(doc), composite_reference(doc)
    saved = initial_state
    for step, op in enumerate(ops):
        if op == "undo":
            history.undo()
        elif op == "redo":
            history.redo()
        elif op == "save":
            history.mark_clean()
            saved = state(doc)
        else:
            made = _command(doc, op, rng, step)
            if made is None:
                continue
            if made[0] == "drag":
                depth = len(history._done)
                for _ in range(int(rng.integers(2, 6))):
                    dx, dy = (float(v) for v in rng.uniform(-3, 3, 2))
                    history.push(commands.translate(doc, made[1], dx, dy, gesture=step))
                assert len(history._done) == depth + 1  # one undo step per gesture
            else:
                for cmd in made:
                    history.push(cmd)
        if history.is_clean:
            assert state(doc) == saved
    while history.redo():
        pass
    final_state, final_img = state(doc), composite_reference(doc)
    while history.undo():
        pass
    assert state(doc) == initial_state
    np.testing.assert_array_equal(composite_reference(doc), initial_img)
    while history.redo():
        pass
    assert state(doc) == final_state
    np.testing.assert_array_equal(composite_reference(doc), final_img)


# --- the position lock


def test_lock_toggle_is_one_undoable_step_and_only_the_position_is_locked(doc):
    layer = doc.layers[2]
    original = layer.params
    history = History(doc)
    history.push(commands.set_locked(doc, layer.id, True))
    assert layer.locked and history.undo_text == f"Lock '{layer.name}'"
    for move in (
        lambda: commands.set_offset(doc, layer.id, (3.0, 4.0)),
        lambda: commands.translate(doc, layer.id, 1, 0),
        lambda: commands.set_scale(doc, layer.id, (2.0, 2.0)),
    ):
        with pytest.raises(commands.LayerLocked, match=f"'{layer.name}' is locked"):
            move()
    # colour, opacity, visibility and name stay editable
    for edit in (
        lambda: commands.set_opacity(doc, layer.id, 0.25),
        lambda: commands.set_recolor(doc, layer.id, Recolor(hue=30.0)),
        lambda: commands.set_visible(doc, layer.id, False),
        lambda: commands.rename(doc, layer.id, "Kept"),
    ):
        history.push(edit())
    assert layer.locked and layer.params.opacity == 0.25 and layer.name == "Kept"
    history.push(commands.set_locked(doc, layer.id, False))
    assert history.undo_text == "Unlock 'Kept'"
    history.push(commands.translate(doc, layer.id, 1, 0))
    while history.undo():
        pass
    assert layer.params == original and not layer.locked
    history.redo()
    assert layer.locked


def test_lock_command_undoes_exactly(doc):
    check_do_undo(doc, commands.set_locked(doc, doc.layers[0].id, True))


def test_a_flat_picture_opens_locked():
    doc = Document.from_image(np.full((6, 8, 4), 200, np.uint8))
    assert [layer.locked for layer in doc.layers] == [True]


def test_topmost_at_can_pass_over_locked_layers():
    full = np.full((4, 4, 4), 255, np.uint8)
    bottom = Layer(full, (0, 0), LayerParams(name="bottom"))
    middle = Layer(full, (0, 0), LayerParams(name="middle"))
    top = Layer(full, (0, 0), LayerParams(name="top", locked=True))
    doc = Document(4, 4, [bottom, middle, top])
    assert doc.topmost_at(1, 1) is top
    assert doc.topmost_at(1, 1, unlocked=True) is middle
    middle.params = middle.params.with_(locked=True)
    assert doc.topmost_at(1, 1, unlocked=True) is bottom
    bottom.params = bottom.params.with_(locked=True)
    assert doc.topmost_at(1, 1, unlocked=True) is None


def test_duplicate_of_a_locked_layer_is_free_merge_down_keeps_the_lower_lock(doc):
    bottom = doc.layers[0]
    doc.layers[0].params = bottom.params.with_(locked=True)
    history = History(doc)
    history.push(commands.duplicate_layer(doc, bottom.id))
    copy = doc.layers[1]
    assert copy.name.endswith("copy") and not copy.locked and bottom.locked
    history.push(commands.merge_down(doc, copy.id))
    assert doc.layers[0].locked
    history.push(commands.merge_down(doc, doc.layers[1].id))  # an unlocked layer onto it
    assert doc.layers[0].locked
    unlocked = doc.layers[1]
    assert not unlocked.locked


def test_decomposition_locks_the_bottom_of_the_picture_not_of_a_layer():
    from app.core.decomposition import decompose_document_command, decompose_layer_command

    rgba = np.zeros((10, 12, 4), np.uint8)
    background = rgba.copy()
    background[:] = (200, 200, 200, 255)
    blob = rgba.copy()
    blob[2:6, 3:8] = (255, 0, 0, 255)
    doc = Document(12, 10, [Layer.from_canvas(background, "Picture")])
    history = History(doc)
    history.push(decompose_document_command(doc, [(background, "Background"), (blob, "Shape")]))
    assert [layer.locked for layer in doc.layers] == [True, False]
    parts = [(background[:4, :5], "Under"), (blob[:4, :5], "Over")]
    history.push(decompose_layer_command(doc, doc.layers[0].id, parts, (0, 0)))
    assert [layer.locked for layer in doc.layers] == [False, False, False]
