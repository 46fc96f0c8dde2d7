"""The layer stack: the network as a list of cards, top (input) to bottom (output).

Each card shows the layer, its settings, its output shape and its number of weights; an
invalid layer shows nncore's message in red. Drag cards to reorder; drop palette layers in: a
line between the cards shows where the layer will go. Clicking the empty space below the cards
(or Escape) selects no layer, so a double-click in the palette adds before the output layers.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem

from ..widgets.cards import (ACCENT, BADGE, ERROR, RIGHT, RIGHT_SMALL, SUBTITLE,
                             CardDelegate)
from . import catalog
from .palette import GROUP_COLORS, MIME_TYPE, type_from_mime

ROW_MIME = "application/x-nnstudio-layer-row"


def shape_text(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def error_text(error) -> str:
    """nncore's message for a layer, without the "layer 3 (Dense): " prefix the card shows;
    with the field it is about in front, unless the message names it already."""
    reason = getattr(error, "reason", None) or str(error)
    field = getattr(error, "field", None)
    if field and field not in ("input", "type") and field.replace("_", " ") not in reason:
        return f"{field}: {reason}"
    return reason


class LayerStack(QListWidget):
    def __init__(self, editor, parent=None):
        super().__init__(parent)
        self.setObjectName("layerStack")
        self.editor = editor
        self.state = editor.state
        self.setItemDelegate(CardDelegate(self, compact=True))
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setDragDropMode(QAbstractItemView.DragDrop)
        self.setDefaultDropAction(Qt.MoveAction)
        self.setDropIndicatorShown(False)     # our own line shows where a drop inserts
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollPerPixel)
        self.setSpacing(1)
        self.setResizeMode(QListWidget.Adjust)
        self.setUniformItemSizes(False)
        self.setWordWrap(True)
        self._rebuilding = False
        self.drop_at: int | None = None       # while dragging: the row a drop would insert at
        self.currentRowChanged.connect(self._on_self_current_row_changed)
        editor.currentChanged.connect(self._on_editor_current_changed)
        self.state.specChecked.connect(self._on_state_spec_checked)
        self._on_state_spec_checked(self.state.spec_check)

    # ---- model -> view -----------------------------------------------------------------------
    def _on_state_spec_checked(self, check) -> None:
        layers = self.editor.layers
        error = check.error
        bad = getattr(error, "index", None) if error is not None else None
        self._rebuilding = True
        self.blockSignals(True)
        self.clear()
        for i, entry in enumerate(layers):
            lt = catalog.layer_type(entry.get("type", "")) if isinstance(entry, dict) else None
            name = entry.get("type", "?") if isinstance(entry, dict) else "?"
            item = QListWidgetItem(name)
            item.setData(BADGE, i + 1)
            item.setData(SUBTITLE, catalog.summary(entry) if isinstance(entry, dict) else "")
            item.setData(ACCENT, QColor(GROUP_COLORS.get(lt.group if lt else "", "#7f8c8d")))
            if i < len(check.rows):
                row = check.rows[i]
                item.setData(RIGHT, shape_text(row["output_shape"]))
                item.setData(RIGHT_SMALL, f"{row['params']:,} w" if row["params"] else "")
                item.setToolTip(f"{name}: input {shape_text(row['input_shape'])} → output "
                                f"{shape_text(row['output_shape'])}, {row['params']:,} "
                                f"weights.\n{lt.description if lt else ''}")
            elif i == bad:
                item.setData(ERROR, error_text(error))
                item.setData(RIGHT, "invalid")
                item.setToolTip(str(error))
            else:
                item.setData(RIGHT, "—")
                item.setToolTip("Shapes are shown once the layers above are valid.")
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
            self.addItem(item)
        self.setCurrentRow(self.editor.current)
        self.blockSignals(False)
        self._rebuilding = False

    def _on_editor_current_changed(self, row: int) -> None:
        self.blockSignals(True)
        self.setCurrentRow(row)
        if row >= 0 and self.item(row) is not None:
            self.scrollToItem(self.item(row))
        self.blockSignals(False)

    # ---- view -> model -----------------------------------------------------------------------
    def _on_self_current_row_changed(self, row: int) -> None:
        if not self._rebuilding:
            self.editor.set_current(row)

    def focusInEvent(self, event) -> None:
        """The focus alone never selects a layer. Qt makes the first row current when a list
        with none gets the focus — and it got it when a resize of the window hid the focused
        widget; a Del pressed next deleted layer 1."""
        had = self.currentIndex().isValid()
        self.blockSignals(True)
        try:
            super().focusInEvent(event)
            if not had and self.currentIndex().isValid():
                self.selectionModel().clear()
        finally:
            self.blockSignals(False)

    # ---- drag and drop -----------------------------------------------------------------------
    def mimeTypes(self):
        return [ROW_MIME, MIME_TYPE]

    def mimeData(self, items):
        from PySide6.QtCore import QMimeData
        mime = QMimeData()
        if items:
            mime.setData(ROW_MIME, str(self.row(items[0])).encode())
        return mime

    def supportedDropActions(self):
        return Qt.CopyAction | Qt.MoveAction

    def drop_row(self, pos: QPoint) -> int:
        """Index at which a drop at ``pos`` inserts (between cards)."""
        item = self.itemAt(pos)
        if item is None:
            return self.count()
        rect = self.visualItemRect(item)
        row = self.row(item)
        return row + 1 if pos.y() > rect.center().y() else row

    def _accepts(self, mime) -> bool:
        return mime.hasFormat(MIME_TYPE) or mime.hasFormat(ROW_MIME)

    def _show_drop_at(self, row: int | None) -> None:
        if row != self.drop_at:
            self.drop_at = row
            self.viewport().update()

    def dragEnterEvent(self, event):
        if self._accepts(event.mimeData()) and not self.editor.locked:
            event.acceptProposedAction()
            self._show_drop_at(self.drop_row(event.position().toPoint()))
        else:
            event.ignore()

    def dragMoveEvent(self, event):
        super().dragMoveEvent(event)
        if not self.editor.locked and self._accepts(event.mimeData()):
            event.setDropAction(Qt.CopyAction)
            event.accept()
            self._show_drop_at(self.drop_row(event.position().toPoint()))
        else:
            self._show_drop_at(None)

    def dragLeaveEvent(self, event):
        super().dragLeaveEvent(event)
        self._show_drop_at(None)

    def drop_line_y(self, row: int) -> int:
        """Height (viewport coordinates) of the line that shows an insertion at ``row``."""
        if self.count() == 0:
            return 2
        if row < self.count():
            return self.visualItemRect(self.item(row)).top() - 1
        return self.visualItemRect(self.item(self.count() - 1)).bottom() + 2

    def paintEvent(self, event):
        super().paintEvent(event)
        if self.drop_at is None:
            return
        y = self.drop_line_y(self.drop_at)
        p = QPainter(self.viewport())
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        colour = self.palette().highlight().color()
        p.setPen(QPen(colour, 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.drawLine(6, y, self.viewport().width() - 6, y)
        p.setBrush(colour)
        p.drawEllipse(QPoint(6, y), 4, 4)
        p.end()

    def dropEvent(self, event):
        """Insert a palette layer, or move a card; the spec changes, the list is rebuilt."""
        self._show_drop_at(None)
        mime = event.mimeData()
        to = self.drop_row(event.position().toPoint())
        type_name = type_from_mime(mime)
        if mime.hasFormat(ROW_MIME):
            src = int(bytes(mime.data(ROW_MIME)).decode())
            target = to - 1 if to > src else to
            QTimer.singleShot(0, lambda: self.editor.move_layer(src, target))
        elif type_name:
            QTimer.singleShot(0, lambda: self.editor.add_layer(type_name, to))
        else:
            event.ignore()
            return
        # Copy, so the view never removes the dragged item itself: the rebuild does it.
        event.setDropAction(Qt.CopyAction)
        event.accept()

    def mousePressEvent(self, event):
        if event.button() == Qt.LeftButton and self.itemAt(event.position().toPoint()) is None:
            self.editor.set_current(-1)          # the empty space below the cards: no layer
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event):
        if event.key() in (Qt.Key_Delete, Qt.Key_Backspace) and self.currentRow() >= 0:
            self.editor.remove_layer(self.currentRow())
            return
        if event.key() == Qt.Key_Escape and self.editor.current >= 0:
            self.editor.set_current(-1)
            return
        super().keyPressEvent(event)
