"""The window's actions, menus and toolbar (a mixin of MainWindow): every command a user can
give, with its shortcut, icon and tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from app.ui.resources import icon


class ActionsMixin:
    def _action(
        self, text: str, slot, shortcut=None, icon_name: str = "", tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            if isinstance(shortcut, list):
                action.setShortcuts(shortcut)
            else:
                action.setShortcut(shortcut)
        hint = tip or text.replace("...", "").replace("&", "")
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{hint} ({keys})" if keys else hint)
        action.setStatusTip(hint)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        a = self._action
        K = QKeySequence
        self.act_open = a("&Open...", self.open_dialog, K.StandardKey.Open, "open",
                          "Open an image, PSD, ORA or session")
        self.act_save = a("&Save", self.save, K.StandardKey.Save, "save", "Save the session")
        self.act_save_as = a("Save &As...", self.save_as, K.StandardKey.SaveAs, "",
                             "Save the session under a new name")
        self.act_export = {
            "psd": a("Photoshop (PSD)...", lambda: self.export_dialog("psd"), K("Ctrl+Shift+E"),
                     "export", "Export layers as a PSD"),
            "ora": a("OpenRaster (ORA)...", lambda: self.export_dialog("ora")),
            "dir": a("Layer PNGs (folder)...", lambda: self.export_dialog("dir")),
            "png": a("Flattened PNG...", lambda: self.export_dialog("png")),
            "jpg": a("Flattened JPEG...", lambda: self.export_dialog("jpg")),
        }
        self.act_quit = a("&Quit", self.close, K.StandardKey.Quit)
        stack = self.session.undo_stack
        self.act_undo = stack.createUndoAction(self, "Undo")
        self.act_undo.setShortcut(K.StandardKey.Undo)
        self.act_undo.setIcon(icon("undo"))
        self.act_redo = stack.createRedoAction(self, "Redo")
        self.act_redo.setShortcuts([K("Ctrl+Shift+Z"), K("Ctrl+Y")])
        self.act_redo.setIcon(icon("redo"))
        for act in (self.act_undo, self.act_redo):
            self.addAction(act)
        self.act_delete = a("&Delete Layer", self.delete_layer, K(Qt.Key.Key_Delete), "delete")
        self.act_duplicate = a("D&uplicate Layer", self.duplicate_layer, K("Ctrl+J"),
                               "duplicate")
        self.act_merge = a("&Merge Down", self.merge_down, K("Ctrl+E"), "merge",
                           "Merge the layer into the one below")
        self.act_rename = a("&Rename Layer...", self.rename_layer, K(Qt.Key.Key_F2))
        self.act_raise = a("Move Layer &Up", lambda: self.restack(1), K("Ctrl+]"), "up")
        self.act_lower = a("Move Layer Do&wn", lambda: self.restack(-1), K("Ctrl+["), "down")
        self.act_export_layer = a("Export Layer as &PNG...", self.export_layer_dialog)
        self.act_lock = a("&Lock Position", self.toggle_lock, K("Ctrl+/"), "lock",
                          "Lock the layer's position (the lock in the Layers panel)")
        self.act_lock.setCheckable(True)
        self.act_decompose = a("&Decompose...", lambda: self.decomposer.ask(), K("Ctrl+D"),
                               "decompose", "Split the picture into layers")
        self.act_decompose_layer = a(
            "Decompose &Further...", self.decompose_active, K("Ctrl+Shift+D"), "decompose-layer",
            "Split the selected layer into more layers",
        )
        self.act_cancel = a("Cancel Decomposition", self.decomposer.cancel, K(Qt.Key.Key_Escape))
        tools = QActionGroup(self)
        self.act_move_tool = a("&Move Tool", lambda: self.canvas.set_tool("move"), K("V"),
                               "move", "Select, move and scale layers")
        self.act_extract_tool = a("E&xtract Tool", lambda: self.canvas.set_tool("extract"),
                                  K("E"), "extract",
                                  "Drag a box around an object to lift it onto its own layer")
        self.act_brush_tool = a("Extract &Brush", lambda: self.canvas.set_tool("brush"), K("B"),
                                "extract-brush",
                                "Paint roughly over an object to lift it onto its own layer")
        for act in (self.act_move_tool, self.act_extract_tool, self.act_brush_tool):
            act.setCheckable(True)
            tools.addAction(act)
        self.act_move_tool.setChecked(True)
        self.act_zoom_in = a("Zoom &In", self.canvas.zoom_in,
                             [K("Ctrl+="), K("Ctrl++")], "zoom-in")
        self.act_zoom_out = a("Zoom &Out", self.canvas.zoom_out, K("Ctrl+-"), "zoom-out")
        self.act_fit = a("&Fit to Window", self.canvas.fit, K("Ctrl+0"), "zoom-fit")
        self.act_actual = a("&Actual Pixels (100%)", self.canvas.actual_size, K("Ctrl+1"),
                            "zoom-actual")
        self.act_models = a("&Models...", self.show_models, None, "", "Decomposers and weights")
        self.act_preferences = a("&Preferences...", self.show_preferences,
                                 K("Ctrl+,"), "",
                                 "Largest picture the editor opens")
        self.act_preferences.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.act_about = a("&About Strata", self.show_about)

    def _make_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addAction(self.act_open)
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        file.addAction(self.act_save)
        file.addAction(self.act_save_as)
        export = file.addMenu("&Export")
        export.setIcon(icon("export"))
        for act in self.act_export.values():
            export.addAction(act)
        file.addSeparator()
        file.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        edit.addAction(self.act_undo)
        edit.addAction(self.act_redo)
        edit.addSeparator()
        edit.addAction(self.act_move_tool)
        edit.addAction(self.act_extract_tool)
        edit.addAction(self.act_brush_tool)
        edit.addSeparator()
        edit.addAction(self.act_preferences)
        layer = bar.addMenu("&Layer")
        for act in self.layer_context_actions():
            if act is None:
                layer.addSeparator()
            else:
                layer.addAction(act)
        image = bar.addMenu("&Image")
        image.addAction(self.act_decompose)
        image.addAction(self.act_decompose_layer)
        image.addAction(self.act_cancel)
        self.view_menu = bar.addMenu("&View")
        for act in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual):
            self.view_menu.addAction(act)
        self.view_menu.addSeparator()
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_models)
        help_menu.addAction(self.act_about)

    def layer_context_actions(self) -> list[QAction | None]:
        return [
            self.act_decompose_layer, None, self.act_duplicate, self.act_merge,
            self.act_delete, self.act_rename, self.act_lock, None, self.act_raise,
            self.act_lower, None, self.act_export_layer,
        ]  # fmt: skip

    def _make_toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        for act in (self.act_open, self.act_save, self.act_export["psd"], None,
                    self.act_undo, self.act_redo, None, self.act_move_tool,
                    self.act_extract_tool, self.act_brush_tool, None, self.act_decompose, None,
                    self.act_zoom_out, self.act_zoom_in, self.act_fit, self.act_actual):
            if act is None:
                bar.addSeparator()
            else:
                bar.addAction(act)

