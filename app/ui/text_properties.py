"""The Properties panel's text section: the words, font family (a searchable list of the
installed fonts), style, size, colour, alignment and tracking of the active text layer.

Every change re-renders the layer at once through an undoable core command; typing the words
or dragging a slider is one undo step per gesture (focus in to focus out, press to release).
A text layer whose font is not installed says so and offers the closest installed one.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSignalBlocker, QStringListModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core import fonts
from app.core.layer import Layer
from app.core.text_layer import ALIGNMENTS, MAX_SIZE_PX, MIN_SIZE_PX, edit_text, rerender
from app.ui.session import EditorSession
from app.ui.widgets import ColorButton, SliderField


def text_tooltip(layer: Layer) -> str:
    """The lines a text layer adds to its tooltip (empty for other layers)."""
    spec = layer.text
    if spec is None:
        return ""
    out = f"\nText: {spec.family} {spec.style}, {spec.size_px:.1f} px"
    if spec.fit_iou is not None:
        out += f" (fit {spec.fit_iou:.2f})"
    note = fonts.missing_font_note(spec.family)
    return out + (f"\n{note}" if note else "")


class _WordsEdit(QPlainTextEdit):
    """The words, one line per line; a typing session (focus in to out) is one undo step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.gesture: object = None
        self.setTabChangesFocus(True)
        self.setFixedHeight(64)
        self.setPlaceholderText("The words of the text layer")


class TextProperties(QWidget):
    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.words = _WordsEdit()
        self.family = QComboBox()
        self.family.setEditable(True)
        self.family.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.family.setToolTip("Font family: type to search the installed fonts")
        self._families = fonts.installed_families()
        self.family.addItems(self._families)
        completer = QCompleter(QStringListModel(self._families, self), self.family)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.family.setCompleter(completer)
        self.style = QComboBox()
        self.style.setToolTip("Weight and style of the font")
        self.size = SliderField(MIN_SIZE_PX, MAX_SIZE_PX, 1, " px", (4, 300), "Font size in px")
        self.color = ColorButton()
        self.color.setToolTip("Text colour")
        self.align = QComboBox()
        self.align.addItems([a.capitalize() for a in ALIGNMENTS])
        self.align.setToolTip("Alignment of the lines")
        self.tracking = SliderField(-500, 2000, 0, " ‰", (-200, 800),
                                    "Letter spacing in 1/1000 em")
        self.missing = QLabel()
        self.missing.setWordWrap(True)
        self.missing.setObjectName("missingFont")
        self.use_closest = QPushButton("Use closest font")
        self.use_closest.setToolTip("Render the layer with the closest installed font")

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("Text", self.words)
        form.addRow("Font", self.family)
        form.addRow("Style", self.style)
        form.addRow("Size", self.size)
        form.addRow("Colour", self.color)
        form.addRow("Align", self.align)
        form.addRow("Tracking", self.tracking)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addLayout(form)
        layout.addWidget(self.missing)
        layout.addWidget(self.use_closest, 0, Qt.AlignmentFlag.AlignRight)

        self.words.textChanged.connect(self._words_changed)
        self.words.installEventFilter(self)
        self.family.activated.connect(lambda _i: self._family_chosen())
        self.family.lineEdit().editingFinished.connect(self._family_chosen)
        self.style.activated.connect(lambda _i: self._edit(style=self.style.currentText()))
        self.size.edited.connect(lambda v, g: self._edit(g, size_px=float(v)))
        self.tracking.edited.connect(lambda v, g: self._edit(g, tracking=float(v)))
        self.color.color_changed.connect(
            lambda c: self._edit(color=(c.red(), c.green(), c.blue()))
        )
        self.align.activated.connect(lambda i: self._edit(align=ALIGNMENTS[i]))
        self.use_closest.clicked.connect(self._use_closest)
        session.active_changed.connect(self.refresh)
        session.layer_changed.connect(self._layer_changed)
        session.layers_changed.connect(self.refresh)
        session.document_replaced.connect(self.refresh)
        self.refresh()

    def _layer(self) -> Layer | None:
        layer = self.session.active_layer()
        return layer if layer is not None and layer.is_text else None

    def _layer_changed(self, layer_id: str) -> None:
        if layer_id == self.session.active_id:
            self.refresh()

    def refresh(self, *_args) -> None:
        layer = self._layer()
        self.setVisible(layer is not None)
        if layer is None:
            return
        spec = layer.text
        words = "\n".join(spec.lines)
        if self.words.toPlainText() != words and not self.words.hasFocus():
            with QSignalBlocker(self.words):
                self.words.setPlainText(words)
        with QSignalBlocker(self.family):
            self.family.setCurrentText(spec.family)
        with QSignalBlocker(self.style):
            self.style.clear()
            styles = list(fonts.family_styles(spec.family)) or [spec.style]
            if spec.style not in styles:
                styles.append(spec.style)
            self.style.addItems(styles)
            self.style.setCurrentText(spec.style)
        self.size.set_value(spec.size_px)
        self.tracking.set_value(spec.tracking)
        self.color.set_color(QColor(*spec.color))
        with QSignalBlocker(self.align):
            self.align.setCurrentIndex(ALIGNMENTS.index(spec.align))
        note = fonts.missing_font_note(spec.family)
        self.missing.setText(note or "")
        self.missing.setVisible(note is not None)
        self.use_closest.setVisible(note is not None)
        self.family.setToolTip(note or "Font family: type to search the installed fonts")

    # -- edits

    def begin_words(self) -> None:
        """Start editing the words (a double-click on the layer): focus, all selected."""
        if self._layer() is None:
            return
        self.words.setFocus(Qt.FocusReason.OtherFocusReason)
        self.words.selectAll()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.words and event.type() == QEvent.Type.FocusIn:
            self.words.gesture = self.session.new_gesture()
        elif watched is self.words and event.type() == QEvent.Type.FocusOut:
            self.words.gesture = None
        return super().eventFilter(watched, event)

    def _words_changed(self) -> None:
        lines = tuple(self.words.toPlainText().split("\n"))
        layer = self._layer()
        if layer is not None and lines != layer.text.lines:
            self._edit(self.words.gesture, lines=lines)

    def _family_chosen(self) -> None:
        layer = self._layer()
        name = self.family.currentText().strip()
        match = next((f for f in self._families if f.lower() == name.lower()), None)
        if layer is None or match is None or match == layer.text.family:
            return
        styles = fonts.family_styles(match)
        style = layer.text.style if layer.text.style in styles else (
            fonts.style_name(layer.text.weight, layer.text.italic)
        )
        if styles and style not in styles:
            style = "Regular" if "Regular" in styles else styles[0]
        self._edit(family=match, style=style)

    def _use_closest(self) -> None:
        layer = self._layer()
        if layer is None:
            return
        closest = fonts.closest_family(layer.text.family)
        if closest:
            self._edit(family=closest)
        else:
            self._push(lambda doc, lid: rerender(doc, lid))

    def _edit(self, gesture=None, **changes) -> None:
        layer = self._layer()
        if layer is None:
            return
        if all(getattr(layer.text, k) == v for k, v in changes.items()):
            return
        self._push(lambda doc, lid: edit_text(doc, lid, gesture, **changes))

    def _push(self, make) -> None:
        doc, layer = self.session.doc, self._layer()
        if doc is None or layer is None:
            return
        try:
            command = make(doc, layer.id)
        except ValueError as exc:
            self.missing.setText(str(exc).capitalize() + ".")
            self.missing.show()
            return
        self.session.push(command)
