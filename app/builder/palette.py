"""The layer palette: every registered layer type with its one-line explanation.

Drag a layer into the network (the stack accepts drops and shows where it will go), or
double-click it to add it after the selected layer — with no layer selected, before the
network's output layers (NetworkEditor.default_row). Either way the new layer is selected and
the status bar says where it went.
"""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem

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
        self.setItemDelegate(CardDelegate(self))
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
                header.setFlags(Qt.ItemIsEnabled)
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

    # ---- slots -------------------------------------------------------------------------------
    def _on_self_item_double_clicked(self, item: QListWidgetItem) -> None:
        name = item.data(TYPE_ROLE)
        if name:
            self.editor.add_layer(name)
