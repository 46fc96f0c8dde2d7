"""The layer palette: every registered layer type with its one-line explanation.

Drag a layer into the network (the stack accepts drops and shows where it will go), or
double-click it (or press Return on it) to add it after the selected layer — with no layer
selected, before the network's output layers (NetworkEditor.default_row). Either way the new
layer is selected and the status bar says where it went. With no layer selected in an invalid
network, the new layer goes where it mends the marked error if it can (Flatten right before the
Dense that needs flat input). Shift+double-click inserts before the selected layer (at the top
with none selected); the right-click menu offers the same.

Each card shows the layer's explanation on up to three lines. Nothing stays highlighted after
a click, a double-click or a drag: a palette item is never "selected", only hovered. From the
keyboard, the arrow keys move to a layer and Return (or Enter; Shift+Return inserts before) adds
it as a double-click would; the item stays current, so the next arrow key goes on from there.
"""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QMimeData, QModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QListWidget, QListWidgetItem,
                               QMenu)

from ..widgets.cards import ACCENT, HEADER, SUBTITLE, CardDelegate
from . import catalog

MIME_TYPE = "application/x-nnstudio-layer"
GROUP_COLORS = {"Core": "#3d7bd9", "Convolution": "#8e44ad", "Activations": "#e67e22",
                "Regularization": "#16a085", "Your layers": "#c0392b"}
TYPE_ROLE = Qt.UserRole + 20


def layer_mime(type_name: str) -> QMimeData:
    mime = QMimeData()
    mime.setData(MIME_TYPE, type_name.encode("utf-8"))
    mime.setText(type_name)
    return mime


def type_from_mime(mime: QMimeData) -> str | None:
    if mime.hasFormat(MIME_TYPE):
        return bytes(mime.data(MIME_TYPE)).decode("utf-8")
    return None


class LayerPalette(QListWidget):
    def __init__(self, editor, parent=None):
        super().__init__(parent)
        self.setObjectName("layerPalette")
        self.editor = editor
        self.setItemDelegate(CardDelegate(self, subtitle_lines=3))
        # Wrapped explanations follow the width: with word wrap on, Qt lays the cards out again
        # after every change of the viewport's width (not only of its height).
        self.setResizeMode(QListWidget.Adjust)
        self.setWordWrap(True)
        self.setUniformItemSizes(False)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragOnly)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollPerPixel)
        self.setSpacing(1)
        self.setToolTip("")
        self.itemDoubleClicked.connect(self._on_self_item_double_clicked)
        self.refresh()

    def refresh(self) -> None:
        """List the registry's layer types again (a learner may have registered a new one)."""
        self.clear()
        group = None
        for lt in catalog.layer_types():
            if lt.group != group:
                group = lt.group
                header = QListWidgetItem(group)
                header.setData(HEADER, True)
                header.setFlags(Qt.NoItemFlags)     # the arrow keys pass over it
                self.addItem(header)
            item = QListWidgetItem(lt.name)
            item.setData(SUBTITLE, lt.description)
            item.setData(ACCENT, QColor(GROUP_COLORS.get(lt.group, "#7f8c8d")))
            item.setData(TYPE_ROLE, lt.name)
            item.setToolTip(lt.tooltip())
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
            self.addItem(item)

    def item_for(self, type_name: str) -> QListWidgetItem | None:
        for i in range(self.count()):
            if self.item(i).data(TYPE_ROLE) == type_name:
                return self.item(i)
        return None

    # ---- drag --------------------------------------------------------------------------------
    def mimeTypes(self):
        return [MIME_TYPE]

    def mimeData(self, items):
        names = [it.data(TYPE_ROLE) for it in items if it.data(TYPE_ROLE)]
        return layer_mime(names[0]) if names else QMimeData()

    def supportedDropActions(self):
        return Qt.CopyAction

    def startDrag(self, actions):
        super().startDrag(actions)
        self.forget_selection()

    # ---- no lasting selection ----------------------------------------------------------------
    def forget_selection(self) -> None:
        """No item stays highlighted: a palette item is picked, never selected."""
        self.clearSelection()
        self.selectionModel().setCurrentIndex(QModelIndex(), QItemSelectionModel.NoUpdate)

    def focusInEvent(self, event):
        """Focus from the keyboard (Tab) makes the first layer current, outlined: Return adds
        it. Focus given otherwise (the window opened) leaves no item outlined."""
        had = self.currentIndex().isValid()
        super().focusInEvent(event)
        if not had and event.reason() not in (Qt.TabFocusReason, Qt.BacktabFocusReason,
                                              Qt.ShortcutFocusReason):
            self.forget_selection()

    def mouseReleaseEvent(self, event):
        super().mouseReleaseEvent(event)
        self.forget_selection()

    def mouseDoubleClickEvent(self, event):
        super().mouseDoubleClickEvent(event)
        self.forget_selection()

    # ---- the context menu --------------------------------------------------------------------
    def contextMenuEvent(self, event):
        item = self.itemAt(event.pos())
        name = item.data(TYPE_ROLE) if item is not None else None
        if not name:
            return
        menu = self.context_menu(name)
        menu.exec(event.globalPos())

    def context_menu(self, name: str) -> QMenu:
        """Add ``name`` where the double-click would, at the top, or before the selected."""
        e = self.editor
        menu = QMenu(self)
        menu.setObjectName("paletteMenu")
        menu.addAction(f"Add {name} (as a double-click does)", lambda: e.add_layer(name))
        menu.addAction(f"Insert {name} at the top", lambda: e.add_layer(name, 0, how="top"))
        if e.current >= 0:
            sel = e.layer(e.current).get("type", "?")
            menu.addAction(f"Insert {name} before the selected {sel} (layer {e.current + 1})",
                           lambda row=e.current: e.add_layer(name, row, how="before"))
        for action in menu.actions():
            action.setEnabled(not e.locked)
        return menu

    def keyPressEvent(self, event):
        item = self.currentItem()
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and item is not None:
            self.add(item.data(TYPE_ROLE), bool(event.modifiers() & Qt.ShiftModifier))
            self.clearSelection()           # no highlight; the item stays current
            event.accept()
            return
        super().keyPressEvent(event)

    # ---- adding ------------------------------------------------------------------------------
    def add(self, name: str | None, before: bool = False) -> None:
        """Add the layer ``name`` as a double-click does: after the selected layer (see
        NetworkEditor.add_layer), or with ``before`` (Shift) before it, at the top if none."""
        if not name:
            return
        e = self.editor
        if before:
            e.add_layer(name, max(e.current, 0), how="before" if e.current >= 0 else "top")
        else:
            e.add_layer(name)

    # ---- slots -------------------------------------------------------------------------------
    def _on_self_item_double_clicked(self, item: QListWidgetItem) -> None:
        self.add(item.data(TYPE_ROLE),
                 bool(QApplication.keyboardModifiers() & Qt.ShiftModifier))
        self.forget_selection()
