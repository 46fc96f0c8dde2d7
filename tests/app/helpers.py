"""Acting on the window as a user would: clicking, double-clicking, typing, dropping."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QListWidget, QMessageBox, QPushButton, QApplication

from app.builder.palette import TYPE_ROLE, layer_mime


def find(window, cls, name):
    w = window.findChild(cls, name)
    assert w is not None, f"no {cls.__name__} named {name!r}"
    return w


def button(window, name) -> QPushButton:
    return find(window, QPushButton, name)


def click(qtbot, widget):
    qtbot.mouseClick(widget, Qt.LeftButton)


def palette_item_pos(palette: QListWidget, type_name: str):
    item = palette.item_for(type_name)
    assert item is not None, f"{type_name} is not in the palette"
    palette.scrollToItem(item)
    return palette.visualItemRect(item).center()


def double_click_palette(qtbot, palette, type_name: str):
    pos = palette_item_pos(palette, type_name)
    qtbot.mouseClick(palette.viewport(), Qt.LeftButton, pos=pos)
    qtbot.mouseDClick(palette.viewport(), Qt.LeftButton, pos=pos)


def stack_rows(window) -> list[str]:
    stack = find(window, QListWidget, "layerStack")
    return [stack.item(i).text() for i in range(stack.count())]


def click_stack_row(qtbot, window, row: int):
    stack = find(window, QListWidget, "layerStack")
    pos = stack.visualItemRect(stack.item(row)).center()
    qtbot.mouseClick(stack.viewport(), Qt.LeftButton, pos=pos)


def drop_on_stack(qtbot, window, mime, row: int):
    """Drop ``mime`` on the stack just above card ``row`` (the end if row == count)."""
    stack = find(window, QListWidget, "layerStack")
    if row < stack.count():
        rect = stack.visualItemRect(stack.item(row))
        pos = QPointF(rect.center().x(), rect.top() + 2)
    else:
        rect = stack.visualItemRect(stack.item(stack.count() - 1))
        pos = QPointF(rect.center().x(), rect.bottom() + 4)
    event = QDropEvent(pos, Qt.CopyAction | Qt.MoveAction, mime, Qt.LeftButton, Qt.NoModifier)
    stack.dropEvent(event)
    assert event.isAccepted()


def drop_palette_layer(qtbot, window, type_name: str, row: int):
    drop_on_stack(qtbot, window, layer_mime(type_name), row)


def drag_card(qtbot, window, src: int, row: int):
    stack = find(window, QListWidget, "layerStack")
    mime = stack.mimeData([stack.item(src)])
    drop_on_stack(qtbot, window, mime, row)


def type_into(qtbot, field, text: str):
    """Replace the text of a ValidatedField by typing ``text``."""
    field.edit.setFocus()
    field.edit.selectAll()
    qtbot.keyClick(field.edit, Qt.Key_Backspace)
    qtbot.keyClicks(field.edit, text)


def message_boxes(name: str | None = None) -> list[QMessageBox]:
    """The message boxes on screen (named ``name``)."""
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.isVisible()
            and (name is None or w.objectName() == name)]


def has_message_box(name: str) -> bool:
    return bool(message_boxes(name))


def thumbnail_view(qtbot, width, height):
    """The gallery's thumbnails in a shown icon-mode list: (view, cells model, delegate)."""
    from PySide6.QtWidgets import QListView
    from app.inspect.gallery import CellImagesModel, ThumbDelegate
    cells = CellImagesModel()
    view = QListView()
    qtbot.addWidget(view)
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setModel(cells)
    delegate = ThumbDelegate(cells, view)
    view.setItemDelegate(delegate)
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    return view, cells, delegate
