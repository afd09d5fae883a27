"""Text layers in the window: the Properties panel's text section, double-click to edit the
words (canvas and layer panel), and the layer actions Edit Text, Rasterize and Convert to
Text. Attached to a MainWindow by `TextTools(window)`, so the window itself changes little.

"Convert to text" runs `model.textfit.fit_layer(rgba) -> TextSpec | None` (OCR and a font
fit on one layer's pixels) in a worker thread; when that module is not installed the action
is disabled and its tooltip says why.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from app.core.decomposition import layer_input
from app.core.text_layer import convert_to_text, rasterize
from app.ui.tasks import run_in_background
from app.ui.text_properties import TextProperties

NO_TEXTFIT = "Needs the font fit (model.textfit), which this installation does not have"


def load_fit_layer() -> Callable[[Any], Any] | None:
    """`model.textfit.fit_layer`, imported on first use; None when it is not available."""
    try:
        module = importlib.import_module("model.textfit")
    except ImportError:
        return None
    fit = getattr(module, "fit_layer", None)
    return fit if callable(fit) else None


class TextTools(QObject):
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.panel = TextProperties(self.session)
        window.properties.layout().insertWidget(2, self.panel)
        self.act_edit = self._action("Edit &Text", self.edit_words, "Edit the words (double-click)")
        self.act_rasterize = self._action("Rasteri&ze Text", self.rasterize,
                                          "Turn the text into plain pixels")
        self.act_convert = self._action("Convert to Te&xt", self.convert,
                                        "Read the words and find the font (OCR + font fit)")
        actions: list[QAction | None] = [None, self.act_edit, self.act_rasterize, self.act_convert]
        window.layer_panel.context_actions.extend(actions)
        menu = self._layer_menu()
        if menu is not None:
            for act in actions:
                menu.addSeparator() if act is None else menu.addAction(act)
        window.canvas.text_edit_requested.connect(self.edit_words)
        window.layer_panel.view.viewport().installEventFilter(self)
        self.session.active_changed.connect(self.update_actions)
        self.session.changed.connect(self.update_actions)
        self.update_actions()

    SCALE_TIP = "A text layer scales by its font size: use Size below or the handles"

    def _action(self, text: str, slot, tip: str) -> QAction:
        action = QAction(text, self.window)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _layer_menu(self) -> QMenu | None:
        for action in self.window.menuBar().actions():
            if action.text().replace("&", "") == "Layer" and action.menu() is not None:
                return action.menu()
        return None

    def update_actions(self, *_args) -> None:
        layer = self.session.active_layer()
        is_text = layer is not None and layer.is_text
        self.act_edit.setEnabled(is_text)
        self.act_rasterize.setEnabled(is_text)
        available = load_fit_layer() is not None
        self.act_convert.setEnabled(available and layer is not None and not is_text)
        self.act_convert.setToolTip(
            "Read the words and find the font (OCR + font fit)" if available else NO_TEXTFIT
        )
        if is_text:  # its Scale field would resample pixels; the size is the text's scale
            self.window.properties.scale.setEnabled(False)
            self.window.properties.scale.setToolTip(self.SCALE_TIP)

    # -- double-click in the layer panel: a text layer's words, not its name

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.MouseButtonDblClick:
            view = self.window.layer_panel.view
            index = view.indexAt(event.position().toPoint())
            layer = view.model().layer_at(index.row()) if index.isValid() else None
            if layer is not None and layer.is_text and event.button() == Qt.MouseButton.LeftButton:
                self.session.set_active(layer.id)
                self.edit_words()
                return True
        return super().eventFilter(watched, event)

    # -- actions

    def edit_words(self, layer_id: str | None = None) -> None:
        if layer_id is not None:
            self.session.set_active(layer_id)
        self.window.dock_properties.show()
        self.window.dock_properties.raise_()
        self.panel.refresh()
        self.panel.begin_words()

    def rasterize(self) -> None:
        self.window._push(rasterize)

    def convert(self) -> None:
        fit = load_fit_layer()
        doc, layer = self.session.doc, self.session.active_layer()
        if fit is None or doc is None or layer is None:
            return
        rgba, origin = layer_input(doc, layer.id)
        target = layer.id

        def done(spec) -> None:
            if self.session.doc is not doc or all(la.id != target for la in doc.layers):
                return
            if spec is None:
                self.window.status_message("No text was found in that layer that fits a font.")
                return
            from dataclasses import replace

            # fitted on what the user sees; the words live in the layer's own coordinates
            dx, dy = doc.layer(target).params.offset
            spec = replace(spec, x=spec.x + origin[0] - dx, y=spec.y + origin[1] - dy)
            self.session.push(convert_to_text(doc, target, spec))
            self.window.status_message(f"'{doc.layer(target).name}' is a text layer now.")

        run_in_background(lambda: fit(rgba), "read the text", done,
                          lambda message: self.window.show_error("Convert to Text", message))
        self.window.status_message("Reading the text...")
