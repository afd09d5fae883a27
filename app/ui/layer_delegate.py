"""How a row of the layer panel is drawn: thumbnail, eye and name as usual, and a lock at the
right end that shows whether the layer's position is locked and toggles it when clicked."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QHelpEvent, QIcon, QMouseEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
)

from app.ui.layer_model import LockedRole
from app.ui.resources import icon

LOCK_SIZE = 16
LOCK_MARGIN = 6  # between the lock and the row's right edge
UNLOCKED_OPACITY = 0.3  # an open lock is drawn faintly: there to click, not to read
Index = QModelIndex | QPersistentModelIndex


def lock_rect(row: QRect) -> QRect:
    """Where the lock of a row drawn in `row` sits (widget coordinates)."""
    x = row.right() - LOCK_MARGIN - LOCK_SIZE + 1
    return QRect(x, row.center().y() - LOCK_SIZE // 2 + 1, LOCK_SIZE, LOCK_SIZE)


class LayerDelegate(QStyledItemDelegate):
    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:  # the selection / hover background under the lock too
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter,
                                widget)
        text_part = QStyleOptionViewItem(opt)
        text_part.rect = opt.rect.adjusted(0, 0, -(LOCK_SIZE + 2 * LOCK_MARGIN), 0)
        super().paint(painter, text_part, index)
        locked = bool(index.data(LockedRole))
        painter.save()
        if not locked:
            painter.setOpacity(UNLOCKED_OPACITY)
        glyph: QIcon = icon("lock" if locked else "lock-open")
        glyph.paint(painter, lock_rect(opt.rect))
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        size = super().sizeHint(option, index)
        return QSize(size.width() + LOCK_SIZE + 2 * LOCK_MARGIN, size.height())

    def editorEvent(self, event: QEvent, model, option: QStyleOptionViewItem,  # noqa: N802
                    index: Index) -> bool:
        """A click on the lock toggles it, and does nothing else (no selection, no drag)."""
        kinds = (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
                 QEvent.Type.MouseButtonDblClick)
        if (
            event.type() in kinds
            and isinstance(event, QMouseEvent)
            and event.button() == Qt.MouseButton.LeftButton
            and lock_rect(option.rect).adjusted(-3, -3, 3, 3).contains(event.position().toPoint())
        ):
            if event.type() == QEvent.Type.MouseButtonRelease and hasattr(model, "toggle_lock"):
                model.toggle_lock(index.row())
            return True
        return super().editorEvent(event, model, option, index)

    def helpEvent(self, event: QHelpEvent, view: QAbstractItemView,  # noqa: N802
                  option: QStyleOptionViewItem, index: Index) -> bool:
        if event is not None and lock_rect(option.rect).contains(event.pos()):
            tip = (
                "Position locked: click to let the layer move"
                if index.data(LockedRole)
                else "Click to lock the layer's position"
            )
            QToolTip.showText(event.globalPos(), tip, view)
            return True
        return super().helpEvent(event, view, option, index)
