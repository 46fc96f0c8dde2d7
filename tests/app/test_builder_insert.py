"""Where a new layer lands: double-click in the palette (after the selected layer; with none
selected, before the output layers) and drops (where the line between the cards shows), the new
layer selected, the status bar saying where it went, one undo step."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QListWidget

from app.builder.palette import layer_mime

from .helpers import click_stack_row, double_click_palette, find, stack_rows

SEED = ["Flatten", "Dense", "ReLU", "Dense", "Softmax"]


def stack(window) -> QListWidget:
    return find(window, QListWidget, "layerStack")


def status(window) -> str:
    return window.statusBar().currentMessage()


def test_nothing_selected_a_dense_goes_before_the_output_layers_and_is_selected(qtbot,
                                                                              builder_window):
    w = builder_window
    before = w.state.spec
    assert w.editor.current == -1 and stack(w).currentRow() == -1
    double_click_palette(qtbot, w.palette, "Dense")
    assert stack_rows(w) == ["Flatten", "Dense", "ReLU", "Dense", "Dense", "Softmax"]
    assert w.state.spec["layers"][3] == {"type": "Dense", "units": 64}
    assert w.state.spec["layers"][4] == {"type": "Dense", "units": 10}   # still the output
    assert w.state.spec_check.ok
    # the new card is the selected one, and its properties are in the form
    assert w.editor.current == 3 and stack(w).currentRow() == 3
    assert stack(w).item(3).isSelected()
    form = w.properties
    assert form.title.text() == "4. Dense" and form.fields["units"].edit.text() == "64"
    text = status(w)
    assert text.startswith("Added Dense as layer 4, before the output Dense → Softmax "
                           "(no layer was selected).") and text.endswith("Undo: Ctrl+Z")
    # one Ctrl+Z takes it away again, Ctrl+Shift+Z brings it back
    w.activateWindow()
    qtbot.keyClick(stack(w), Qt.Key_Z, Qt.ControlModifier)
    assert w.state.spec == before and stack_rows(w) == SEED
    qtbot.keyClick(stack(w), Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert stack_rows(w)[3] == "Dense" and w.editor.current == 3


def test_nothing_selected_a_conv2d_goes_where_its_input_fits(qtbot, builder_window):
    w = builder_window
    double_click_palette(qtbot, w.palette, "Conv2D")         # needs images: before Flatten
    assert stack_rows(w) == ["Conv2D"] + SEED
    assert w.state.spec_check.ok and w.editor.current == 0
    assert status(w).startswith("Added Conv2D as layer 1, before Flatten, the latest place "
                             "its input fits (no layer was selected)")
    # a Dropout with nothing selected (Escape in the stack unselects Conv2D): before the
    # output layers again, not after Softmax
    stack(w).setFocus()
    qtbot.keyClick(stack(w), Qt.Key_Escape)
    assert w.editor.current == -1 and not stack(w).selectedItems()
    double_click_palette(qtbot, w.palette, "Dropout")
    assert stack_rows(w) == ["Conv2D", "Flatten", "Dense", "ReLU", "Dropout", "Dense",
                             "Softmax"]
    assert w.editor.current == 4


def test_with_a_layer_selected_the_new_one_goes_right_after_it(qtbot, builder_window):
    w = builder_window
    click_stack_row(qtbot, w, 2)                             # ReLU
    double_click_palette(qtbot, w.palette, "Dropout")
    assert stack_rows(w) == ["Flatten", "Dense", "ReLU", "Dropout", "Dense", "Softmax"]
    assert w.editor.current == 3
    assert status(w).startswith("Added Dropout as layer 4, after the selected ReLU.")
    # a second double-click adds after the new (selected) one: layers come in typing order
    double_click_palette(qtbot, w.palette, "ReLU")
    assert stack_rows(w)[3:5] == ["Dropout", "ReLU"] and w.editor.current == 4
    # clicking the empty space below the cards selects no layer: the next goes before output
    view = stack(w)
    last = view.visualItemRect(view.item(view.count() - 1))
    assert last.bottom() + 20 < view.viewport().height()
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=QPoint(last.center().x(),
                                                                 last.bottom() + 20))
    assert w.editor.current == -1
    double_click_palette(qtbot, w.palette, "Dense")
    assert stack_rows(w)[4:] == ["ReLU", "Dense", "Dense", "Softmax"] and w.editor.current == 5


def test_after_a_selected_softmax_it_says_so(qtbot, builder_window):
    w = builder_window
    click_stack_row(qtbot, w, 4)                             # the output Softmax
    double_click_palette(qtbot, w.palette, "Dense")          # explicit: after it, as asked
    assert stack_rows(w) == SEED + ["Dense"] and w.editor.current == 5
    text = status(w)
    assert "after the output Softmax: on purpose?" in text
    assert "It makes the network invalid." in text          # it ends with 64 outputs
    w.editor.undo()
    assert stack_rows(w) == SEED and w.state.spec_check.ok


def _drag_over(view, mime, pos: QPointF):
    ev = QDragMoveEvent(pos.toPoint(), Qt.CopyAction | Qt.MoveAction, mime, Qt.LeftButton,
                        Qt.NoModifier)
    view.dragMoveEvent(ev)
    return ev


def test_a_drop_goes_where_the_line_shows_selected_and_reported(qtbot, builder_window):
    w = builder_window
    view = stack(w)
    mime = layer_mime("Dropout")
    # over the lower half of ReLU (row 2): the line is drawn between ReLU and Dense
    r = view.visualItemRect(view.item(2))
    pos = QPointF(r.center().x(), r.bottom() - 3)
    assert _drag_over(view, mime, pos).isAccepted()
    assert view.drop_at == 3
    y = view.drop_line_y(3)
    assert r.bottom() <= y <= view.visualItemRect(view.item(3)).top()
    image = view.viewport().grab().toImage()
    line = image.pixelColor(view.viewport().width() // 2, y)
    assert line == view.palette().highlight().color()        # the line is painted there
    drop = QDropEvent(pos, Qt.CopyAction | Qt.MoveAction, mime, Qt.LeftButton, Qt.NoModifier)
    view.dropEvent(drop)
    assert drop.isAccepted() and view.drop_at is None         # the line is gone
    qtbot.waitUntil(lambda: stack_rows(w)[3:4] == ["Dropout"])
    assert w.editor.current == 3 and view.currentRow() == 3
    assert status(w).startswith("Added Dropout as layer 4, between ReLU and Dense")
    # dropped below the last card: at the end, as the line showed, with the warning
    last = view.visualItemRect(view.item(view.count() - 1))
    below = QPointF(last.center().x(), last.bottom() + 10)
    relu = layer_mime("ReLU")               # kept: an event does not own its mime data
    _drag_over(view, relu, below)
    assert view.drop_at == view.count()
    view.dropEvent(QDropEvent(below, Qt.CopyAction, relu, Qt.LeftButton, Qt.NoModifier))
    qtbot.waitUntil(lambda: stack_rows(w)[-1] == "ReLU")
    assert "after the output Softmax: on purpose?" in status(w)
    # each drop was one undo step
    w.editor.undo()
    assert stack_rows(w)[-1] == "Softmax" and "Dropout" in stack_rows(w)
    w.editor.undo()
    assert stack_rows(w) == SEED
