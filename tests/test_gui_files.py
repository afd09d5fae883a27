"""Sessions, autosave and crash recovery, export failures, the unsaved-changes prompt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from test_gui_support import (  # noqa: F401 - the *_fixture names are fixtures
    design_image,
    doc_composite,
    isolated_settings_fixture,
    open_and_wait,
    wait_files,
    window_fixture,
    write_png,
)

from app.core import commands
from app.core.compositor import composite
from app.core.formats.recovery import find_recovery
from app.core.layer import Recolor
from app.ui.main_window import MainWindow


def edit_a_little(session) -> None:
    doc = session.doc
    layer = doc.layers[0]  # the opened picture: locked against moving, as in Photoshop
    session.push(commands.set_locked(doc, layer.id, False))
    session.push(commands.translate(doc, layer.id, 12, -7))
    session.push(commands.set_locked(doc, layer.id, True))  # the session keeps the lock
    session.push(commands.set_recolor(doc, layer.id, Recolor(hue=45.0, brightness=0.1)))
    session.push(commands.duplicate_layer(doc, layer.id))
    session.push(commands.set_opacity(doc, doc.layers[-1].id, 0.5))


def same_layers(a, b) -> None:
    assert [layer.params for layer in a.layers] == [layer.params for layer in b.layers]
    for x, y in zip(a.layers, b.layers):
        assert x.origin == y.origin and np.array_equal(x.pixels, y.pixels)


def answer_next_box(button_text: str) -> None:
    """Click a button of the next modal message box once it shows."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        for button in box.buttons():
            if button.text().replace("&", "") == button_text:
                button.click()
                return
        raise AssertionError(f"no button {button_text}: {[b.text() for b in box.buttons()]}")

    QTimer.singleShot(20, click)


def test_save_and_reopen_session(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, write_png(tmp_path / "d.png", design_image()))
    session = window.session
    edit_a_little(session)
    assert window.isWindowModified()
    edited = session.doc
    path = str(tmp_path / "work.strata")
    window.files.save_to(path)
    wait_files(qtbot, window)
    assert window.last_error is None
    assert not window.isWindowModified() and session.path == path
    assert window.windowTitle().startswith("work.strata")
    assert str(Path(path).resolve()) == window.files.recent()[0]

    window.open_file(path)
    qtbot.waitUntil(lambda: session.doc is not edited and not window.files.busy)
    same_layers(session.doc, edited)
    assert np.array_equal(doc_composite(window), composite(edited))
    assert not window.isWindowModified() and session.undo_stack.count() == 0


def test_autosave_then_recover_after_a_crash(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, write_png(tmp_path / "d.png", design_image()))
    session = window.session
    edit_a_little(session)
    edited_pixels = doc_composite(window)
    window.files.autosave()
    wait_files(qtbot, window)
    found = find_recovery(tmp_path / "recovery")
    assert len(found) == 1 and found[0].path == window.files.recovery_file
    # autosaving again without changes writes nothing new; after a change it replaces the copy
    window.files.autosave()
    assert not window.files.busy
    session.push(commands.rename(session.doc, session.doc.layers[0].id, "Renamed"))
    window.files.autosave()
    wait_files(qtbot, window)
    assert len(find_recovery(tmp_path / "recovery")) == 1
    edited = session.doc
    edited_pixels = doc_composite(window)

    # "crash": a new window starts while the old one never closed cleanly
    second = MainWindow(recovery_dir=str(tmp_path / "recovery"), autosave_ms=3_600_000)
    second.show()
    try:
        answer_next_box("Restore")
        assert second.offer_recovery()
        qtbot.waitUntil(lambda: second.session.doc is not None and not second.files.busy)
        same_layers(second.session.doc, edited)
        assert np.array_equal(doc_composite(second), edited_pixels)
        assert second.isWindowModified()
        assert second.session.doc.layers[0].name == "Renamed"
    finally:
        second.session.undo_stack.setClean()
        second.close()


def test_clean_close_leaves_no_recovery(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, write_png(tmp_path / "d.png", design_image()))
    edit_a_little(window.session)
    window.files.autosave()
    wait_files(qtbot, window)
    assert find_recovery(tmp_path / "recovery")
    window.files.save_to(str(tmp_path / "saved.strata"))
    wait_files(qtbot, window)
    assert find_recovery(tmp_path / "recovery") == []


def test_export_failure_is_reported_and_the_session_survives(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, write_png(tmp_path / "d.png", design_image()))
    edit_a_little(window.session)
    before = doc_composite(window)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    window.files.export(str(blocker / "out.psd"))
    wait_files(qtbot, window)
    assert window.last_error is not None and "out.psd" in window.last_error
    assert "\n" not in window.last_error
    assert window.isWindowModified() and window.session.undo_stack.count() == 6
    assert np.array_equal(doc_composite(window), before)


def test_open_failure_keeps_the_open_document(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, write_png(tmp_path / "d.png", design_image()))
    doc = window.session.doc
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    window.open_file(str(bad))
    wait_files(qtbot, window)
    assert window.last_error is not None and "broken.png" in window.last_error
    assert window.session.doc is doc


def test_unsaved_changes_prompt(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, write_png(tmp_path / "d.png", design_image()))
    assert window.confirm_discard()  # nothing to lose: no question
    edit_a_little(window.session)
    answer_next_box("Cancel")
    assert not window.confirm_discard()
    answer_next_box("Discard")
    assert window.confirm_discard()
    window.session.mark_saved(str(tmp_path / "x.strata"))
    edit_a_little(window.session)
    answer_next_box("Save")
    assert window.confirm_discard()
    assert (tmp_path / "x.strata").exists() and not window.isWindowModified()


def test_recent_files_menu(qtbot, window, tmp_path):
    a = write_png(tmp_path / "a.png", design_image())
    b = write_png(tmp_path / "b.png", design_image())
    open_and_wait(qtbot, window, a)
    open_and_wait(qtbot, window, b)
    qtbot.waitUntil(lambda: window.files.display_name == "b.png")
    window._fill_recent()
    names = [act.text() for act in window.recent_menu.actions() if act.text()]
    assert names[:2] == ["b.png", "a.png"]


def test_file_open_offers_layers_json_and_opens_its_folder(qtbot, window, tmp_path, monkeypatch):
    from test_formats_support import make_doc

    from app.core.formats import save_document
    from app.ui import window_files

    doc = make_doc(seed=4, layers=4, size=(120, 90))
    folder = tmp_path / "poster layers"
    save_document(doc, folder)
    asked = {}

    def pick(_parent, _title, _start, filters):
        asked["filters"] = filters
        return str(folder / "layers.json"), ""

    monkeypatch.setattr(window_files.QFileDialog, "getOpenFileName", pick)
    window.act_open.trigger()
    qtbot.waitUntil(lambda: window.session.doc is not None and not window.files.busy,
                    timeout=60_000)
    assert "layers.json" in asked["filters"].split(";;")[0]
    assert window.last_error is None
    opened = window.session.doc
    assert [la.name for la in opened.layers] == [la.name for la in doc.layers]
    assert [la.params.visible for la in opened.layers] == [la.params.visible for la in doc.layers]
    assert window.files.display_name == "poster layers" and window.session.path is None
    assert window.files.recent()[0] == str(folder.resolve())

    # the folder itself (a path on the command line, a drop, a recent file) opens too
    window.open_file(str(folder))
    qtbot.waitUntil(lambda: window.session.doc is not opened and not window.files.busy,
                    timeout=60_000)
    assert len(window.session.doc.layers) == 4 and window.last_error is None
