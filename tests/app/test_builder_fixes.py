"""Tester 3's builder points, acted out as a learner would: an invalid card stays inside its row;
double-clicking the layer its error asks for mends the network; the status bar says what the
last edit did (never a stale "Added …"); Space on an invalid network says why; the palette keeps
no highlight and shows its explanations on more than one line."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget

from app.builder.palette import TYPE_ROLE
from app.widgets.cards import SUBTITLE

from .helpers import click_stack_row, double_click_palette, find, stack_rows


def stack(window) -> QListWidget:
    return find(window, QListWidget, "layerStack")


def status(window) -> str:
    return window.statusBar().currentMessage()


def delete_card(qtbot, window, row: int) -> None:
    click_stack_row(qtbot, window, row)
    qtbot.keyClick(stack(window).viewport(), Qt.Key_Delete)


def test_an_invalid_card_takes_exactly_its_row_and_does_not_cross_the_next(qtbot,
                                                                          builder_window):
    w = builder_window
    s = stack(w)
    delete_card(qtbot, w, 0)                    # Dense straight on the images
    assert not w.state.spec_check.ok and w.state.spec_check.error.index == 0
    for width in (230, 320, 520):               # narrow dock: the error needs more lines
        s.resize(width, 500)
        s.doItemsLayout()
        qtbot.wait(20)
        rects = [s.visualItemRect(s.item(i)) for i in range(s.count())]
        for upper, lower in zip(rects, rects[1:]):
            assert upper.bottom() < lower.top(), (width, upper, lower)
        # the row is what the delegate asks for, and tall enough for its wrapped error
        hint = s.itemDelegate().sizeHint(_option(s), s.model().index(0, 0))
        assert rects[0].height() == hint.height()
        assert rects[0].height() > rects[1].height() + 10
    # the painted card: its red frame stays above the next card's top
    s.resize(230, 500)
    s.doItemsLayout()
    qtbot.wait(20)
    image = s.viewport().grab().toImage()
    first, second = s.visualItemRect(s.item(0)), s.visualItemRect(s.item(1))
    x = first.center().x()
    red_rows = [y for y in range(second.top() + 3, second.bottom() - 2)
                if _is_red(image.pixelColor(first.right() - 3, y))
                or _is_red(image.pixelColor(x, y))]
    assert red_rows == []
    assert any(_is_red(image.pixelColor(first.right() - 3, y))
               for y in range(first.top(), first.bottom()))     # it is drawn at all
    w.editor.undo()


def _option(view):
    from PySide6.QtWidgets import QStyleOptionViewItem
    option = QStyleOptionViewItem()
    option.initFrom(view)
    return option


def _is_red(c) -> bool:
    return c.red() > 150 and c.green() < 110 and c.blue() < 110


def test_flatten_double_clicked_with_nothing_selected_mends_dense_on_images(qtbot,
                                                                           builder_window):
    w = builder_window
    delete_card(qtbot, w, 0)
    assert "Flatten" in str(w.state.spec_check.error)
    qtbot.keyClick(stack(w).viewport(), Qt.Key_Escape)
    assert w.editor.current == -1
    depth = w.editor.undo_stack.index()
    double_click_palette(qtbot, w.palette, "Flatten")
    assert stack_rows(w) == ["Flatten", "Dense", "ReLU", "Dense", "Softmax"]
    assert w.state.spec_check.ok
    assert stack(w).currentRow() == 0
    text = status(w)
    assert "Added Flatten as layer 1" in text and "before Dense, as its card asked." in text
    assert "valid again" in text
    assert w.editor.undo_stack.index() == depth + 1          # one undo step
    w.editor.undo()
    assert stack_rows(w) == ["Dense", "ReLU", "Dense", "Softmax"]


def test_a_layer_that_mends_nothing_still_goes_before_the_output_layers(qtbot,
                                                                       builder_window):
    w = builder_window
    delete_card(qtbot, w, 0)
    qtbot.keyClick(stack(w).viewport(), Qt.Key_Escape)
    double_click_palette(qtbot, w.palette, "Tanh")
    assert stack_rows(w) == ["Dense", "ReLU", "Tanh", "Dense", "Softmax"]
    assert "Still invalid at layer 1" in status(w)          # it was invalid before


def test_shift_double_click_and_the_context_menu_insert_at_the_top(qtbot, builder_window):
    w = builder_window
    assert w.editor.current == -1
    pos = w.palette.visualItemRect(w.palette.item_for("Tanh")).center()
    qtbot.mouseDClick(w.palette.viewport(), Qt.LeftButton, Qt.ShiftModifier, pos)
    assert stack_rows(w)[:2] == ["Tanh", "Flatten"]
    assert "at the top" in status(w)
    click_stack_row(qtbot, w, 2)                            # Dense
    menu = w.palette.context_menu("ReLU")
    before = [a for a in menu.actions() if a.text().startswith("Insert ReLU before")]
    assert before and "Dense (layer 3)" in before[0].text()
    before[0].trigger()
    assert stack_rows(w)[:4] == ["Tanh", "Flatten", "ReLU", "Dense"]
    assert "before the selected Dense" in status(w)


def test_the_status_bar_says_what_each_edit_did(qtbot, builder_window):
    w = builder_window
    double_click_palette(qtbot, w.palette, "Dropout")
    assert status(w).startswith("Added Dropout")
    click_stack_row(qtbot, w, 2)                            # ReLU
    qtbot.keyClick(stack(w).viewport(), Qt.Key_Up, Qt.AltModifier)
    assert status(w).startswith("Moved ReLU from layer 3 to layer 2.")
    delete_card(qtbot, w, 0)                                # Flatten
    assert status(w).startswith("Deleted Flatten (was layer 1).")
    assert "invalid now at layer 2" in status(w)             # Dense, after ReLU
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier)
    assert status(w).startswith("Undid “Delete Flatten”.") and "valid again" in status(w)
    qtbot.keyClick(w, Qt.Key_Y, Qt.ControlModifier)
    assert status(w).startswith("Redid “Delete Flatten”.")
    assert "Added" not in status(w)


def test_space_on_an_invalid_network_says_why_nothing_happened(qtbot, builder_window):
    w = builder_window
    delete_card(qtbot, w, 0)
    w.statusBar().clearMessage()
    w.activateWindow()
    qtbot.keyClick(w, Qt.Key_Space)
    assert w.state.run_state != "running"
    assert status(w).startswith("Training did not start:")
    assert "invalid" in status(w)


def test_the_palette_keeps_no_highlight_and_wraps_its_explanations(qtbot, builder_window):
    w = builder_window
    p = w.palette
    double_click_palette(qtbot, p, "Tanh")
    assert p.selectedItems() == [] and p.currentRow() == -1
    w.editor.undo()
    # a long explanation gets more than one line; a header stays one short row
    item = p.item_for("Dense")
    assert len(item.data(SUBTITLE)) > 60
    row = p.visualItemRect(item).height()
    title_only = p.fontMetrics().height() + 12
    assert row >= title_only + 2 * (p.fontMetrics().height() - 3)
    assert all(p.item(i).data(TYPE_ROLE) is None or p.visualItemRect(p.item(i)).height() < 120
               for i in range(p.count()))
