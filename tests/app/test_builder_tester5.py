"""Tester 5's builder points, acted out in the real window as a teacher would: a Dense(64) before
the output Softmax is the layer marked (set its units to 10); Return in the palette adds a layer
as a double-click does; the status bar says "invalid now" only when an edit broke the network,
says an undo in a field was an undo, and fits at 1400 px; separate edits of one field are
separate undo steps once Return (or leaving the field) ended them."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QListWidget, QWidget

from app.builder.editor import check_spec
from app.widgets.cards import ERROR, RIGHT

from .helpers import button, click_stack_row, double_click_palette, find, stack_rows


def stack(window) -> QListWidget:
    return find(window, QListWidget, "layerStack")


def status(window) -> str:
    return window.statusBar().currentMessage()


def field(window, name):
    return find(find(window, QWidget, "layerProperties"), QWidget, f"field_{name}")


def key(window, k, modifier=Qt.NoModifier):
    """A key pressed on the keyboard: it goes to the focused widget, shortcuts first."""
    if QApplication.activeWindow() is not window:
        window.activateWindow()
    QTest.keyClick(window.windowHandle(), k, modifier)


def type_in(qtbot, window, f, text: str, enter: bool = False):
    """Click into the field, select its text, type ``text`` key by key (and Return)."""
    qtbot.mouseClick(f.edit, Qt.LeftButton)
    key(window, Qt.Key_A, Qt.ControlModifier)
    for ch in text:
        QTest.keyClick(window.windowHandle(), ch)
    if enter:
        key(window, Qt.Key_Return)


def delete_card(qtbot, window, row: int) -> None:
    click_stack_row(qtbot, window, row)
    key(window, Qt.Key_Delete)


def select_no_layer(window) -> None:
    """Escape in the network's list: no layer selected."""
    stack(window).setFocus()
    key(window, Qt.Key_Escape)
    assert window.editor.current == -1


# ---- #3: the output Dense is marked, with what to set ------------------------------------------
def test_a_dense_64_before_softmax_is_marked_with_set_units_to_10(qtbot, builder_window):
    w = builder_window
    delete_card(qtbot, w, 3)                                 # the output Dense(10)
    select_no_layer(w)
    double_click_palette(qtbot, w.palette, "Dense")          # a new Dense starts with 64
    assert stack_rows(w) == ["Flatten", "Dense", "ReLU", "Dense", "Softmax"]
    assert w.state.spec["layers"][3] == {"type": "Dense", "units": 64}
    check = w.state.spec_check
    assert check.error.index == 3 and check.error.field == "units"
    s = stack(w)
    card = s.item(3).data(ERROR)
    assert card == "64 units, but MNIST has 10 classes: set units to 10"
    assert s.item(3).data(RIGHT) == "invalid"
    assert s.item(4).data(ERROR) is None and "Dense(units=10)" not in str(check.error)
    assert "layer 4 (dense)" in s.item(3).toolTip().lower()
    total = find(w, QLabel, "totalParams").text()
    assert "Layer 4 (Dense) is invalid" in total and "set units to 10" in total
    assert not button(w, "trainButton").isEnabled()
    # the form of the marked layer says the same; 10 units mend it
    click_stack_row(qtbot, w, 3)
    problem = find(w, QLabel, "propertiesProblem")
    assert problem.isVisible() and "set units to 10" in problem.text()
    type_in(qtbot, w, field(w, "units"), "10", enter=True)
    assert w.state.spec_check.ok and button(w, "trainButton").isEnabled()
    assert s.item(4).data(ERROR) is None and s.item(3).data(ERROR) is None


def test_a_network_without_a_dense_at_its_end_is_marked_at_its_last_layer():
    spec = {"input_shape": [1, 28, 28], "layers": [
        {"type": "Conv2D", "filters": 2}, {"type": "Flatten"}, {"type": "Softmax"}]}
    check = check_spec(spec, 10, "mnist")
    assert check.error.index == 2 and "put Dense(units=10) before the Softmax" in str(check.error)
    assert len(check.rows) == 2
    spec["layers"][2:] = [{"type": "Dense", "units": 12}, {"type": "Dropout"}, {"type": "ReLU"}]
    check = check_spec(spec, 10, "mnist")
    assert check.error.index == 2 and "12 units, but MNIST has 10 classes" in str(check.error)
    assert check.total_params == sum(r["params"] for r in check.rows)


# ---- #5: Return in the palette ------------------------------------------------------------------
def test_return_on_a_palette_item_adds_it_as_a_double_click_does(qtbot, builder_window):
    w = builder_window
    p = w.palette
    seed = w.state.spec
    p.setFocus()
    key(w, Qt.Key_Home)
    assert p.currentItem().text() == "Dense"                  # not the "Core" header
    for _ in range(p.count()):
        if p.currentItem() is not None and p.currentItem().text() == "Conv2D":
            break
        key(w, Qt.Key_Down)
    assert p.currentItem().text() == "Conv2D" and p.hasFocus()
    depth = w.editor.undo_stack.index()
    key(w, Qt.Key_Return)
    by_key, said = w.state.spec, status(w)
    assert stack_rows(w)[:2] == ["Conv2D", "Flatten"] and w.editor.current == 0
    assert said.startswith("Added Conv2D as layer 1, before Flatten")
    assert w.editor.undo_stack.index() == depth + 1
    assert p.selectedItems() == [] and p.currentItem().text() == "Conv2D"   # still there
    rect = p.visualItemRect(p.currentItem())                  # and outlined, so one sees it
    image = p.viewport().grab().toImage()
    ratio = p.viewport().devicePixelRatio()
    outline = [image.pixelColor(int(rect.center().x() * ratio), int(y * ratio))
               for y in range(rect.top() + 1, rect.top() + 4)]
    assert any(c.blue() > c.red() + 80 for c in outline), outline
    # the double-click does exactly the same
    w.editor.undo()
    assert w.state.spec == seed
    double_click_palette(qtbot, p, "Conv2D")
    assert w.state.spec == by_key and status(w) == said
    # Enter (keypad) on the next item: after the selected layer, as a double-click would
    w.editor.undo()
    click_stack_row(qtbot, w, 2)                             # ReLU
    p.setFocus()
    key(w, Qt.Key_Down)
    name = p.currentItem().text()
    key(w, Qt.Key_Enter, Qt.KeypadModifier)
    assert stack_rows(w)[3] == name and w.editor.current == 3
    assert status(w).startswith(f"Added {name} as layer 4, after the selected ReLU.")
    key(w, Qt.Key_Return, Qt.ShiftModifier)                   # Shift: before the selected
    assert stack_rows(w)[2:5] == ["ReLU", name, name] and w.editor.current == 3
    assert status(w).startswith(f"Added {name} as layer 4, before the selected {name}.")


# ---- #6: what the status bar says ---------------------------------------------------------------
def test_invalid_now_only_when_an_edit_broke_a_valid_network(qtbot, builder_window):
    w = builder_window
    delete_card(qtbot, w, 0)                                  # Flatten: Dense on images
    assert "The network is invalid now at layer 1" in status(w)
    select_no_layer(w)
    double_click_palette(qtbot, w.palette, "Tanh")           # already invalid before
    assert status(w).startswith("Added Tanh as layer 3")
    assert "invalid now" not in status(w) and "Still invalid at layer 1." in status(w)
    key(w, Qt.Key_Z, Qt.ControlModifier)
    assert status(w).startswith("Undid “Add Tanh”.") and "Still invalid at layer 1" in status(w)
    key(w, Qt.Key_Z, Qt.ControlModifier)
    assert "The network is valid again." in status(w)


def test_ctrl_z_in_a_field_says_it_undid_the_typing(qtbot, builder_window):
    w = builder_window
    click_stack_row(qtbot, w, 1)                              # Dense 128
    units = field(w, "units")
    depth = w.editor.undo_stack.index()
    type_in(qtbot, w, units, "32")                            # no Return
    assert w.state.spec["layers"][1]["units"] == 32 and units.edit.hasFocus()
    key(w, Qt.Key_Z, Qt.ControlModifier)                     # in the field
    assert units.edit.text() == "128" and w.state.spec["layers"][1]["units"] == 128
    assert status(w).startswith("Undid typing in units of layer 2 (Dense): back to 128.")
    assert w.editor.undo_stack.index() == depth               # nothing left to undo
    key(w, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert w.state.spec["layers"][1]["units"] == 32
    assert status(w).startswith("Redid typing in units of layer 2 (Dense): 32 again.")
    key(w, Qt.Key_Return)                                     # the edit is done
    assert not units.edit.hasFocus()
    key(w, Qt.Key_Z, Qt.ControlModifier)                      # the window's undo
    assert w.state.spec["layers"][1]["units"] == 128 and units.edit.text() == "128"
    assert status(w).startswith("Undid “Set units of layer 2 to 32”.")
    # back in the field with nothing typed, Ctrl+Z is the window's undo too (here: redo)
    qtbot.mouseClick(units.edit, Qt.LeftButton)
    key(w, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert w.state.spec["layers"][1]["units"] == 32 and units.edit.text() == "32"
    assert status(w).startswith("Redid “Set units of layer 2 to 32”.")


def _message_width(window) -> int:
    """The width the status bar draws its message in: up to its first permanent label."""
    bar = window.statusBar()
    labels = [lab for lab in bar.findChildren(QLabel) if lab.objectName().startswith("status_")
              and lab.isVisible()]
    return min(lab.x() for lab in labels) - 2 - 6


def test_status_messages_fit_the_status_bar_at_1400_px(qtbot, builder_window):
    w = builder_window
    w.resize(1400, 900)
    qtbot.waitUntil(lambda: w.width() == 1400)
    said: list[str] = []
    w.statusBar().messageChanged.connect(lambda m: said.append(m) if m else None)
    try:
        delete_card(qtbot, w, 0)                              # valid -> invalid
        select_no_layer(w)
        double_click_palette(qtbot, w.palette, "BatchNorm")   # still invalid
        select_no_layer(w)
        double_click_palette(qtbot, w.palette, "Flatten")     # mends it: valid again
        select_no_layer(w)
        double_click_palette(qtbot, w.palette, "Conv2D")      # before Flatten, where it fits
        type_in(qtbot, w, field(w, "kernel_size"), "30", enter=True)   # invalid now
        key(w, Qt.Key_Z, Qt.ControlModifier)
        key(w, Qt.Key_Y, Qt.ControlModifier)
        type_in(qtbot, w, field(w, "kernel_size"), "3, 25")  # still invalid
        key(w, Qt.Key_Z, Qt.ControlModifier)                 # in the field
        key(w, Qt.Key_Escape)
        key(w, Qt.Key_Z, Qt.ControlModifier)
        assert w.state.spec_check.ok
        click_stack_row(qtbot, w, 6)                          # the output Softmax
        double_click_palette(qtbot, w.palette, "BatchNorm")   # after it: on purpose?
        click_stack_row(qtbot, w, 6)
        double_click_palette(qtbot, w.palette, "Dense")       # after Softmax, and invalid
        click_stack_row(qtbot, w, 2)
        key(w, Qt.Key_Up, Qt.AltModifier)                     # moved
        key(w, Qt.Key_D, Qt.ControlModifier)                  # duplicated
    finally:
        w.statusBar().messageChanged.disconnect()
    fm = w.statusBar().fontMetrics()
    room = _message_width(w)
    assert len(said) >= 12 and room > 500
    too_long = [(fm.horizontalAdvance(m), m) for m in said if fm.horizontalAdvance(m) > room]
    assert too_long == [], room
    # and the common ones still end with the key that undoes them
    assert any(m.startswith("Added Flatten") and m.endswith("Undo: Ctrl+Z") for m in said)


# ---- #7: one undo step per committed edit -------------------------------------------------------
def test_each_committed_edit_of_a_field_is_its_own_undo_step(qtbot, builder_window):
    w = builder_window
    double_click_palette(qtbot, w.palette, "Conv2D")          # layer 1, selected
    double_click_palette(qtbot, w.palette, "MaxPool2D")       # after it: layer 2, selected
    assert stack_rows(w)[:3] == ["Conv2D", "MaxPool2D", "Flatten"]
    pool = lambda: w.state.spec["layers"][1].get("pool_size", 2)    # noqa: E731
    depth = w.editor.undo_stack.index()
    type_in(qtbot, w, field(w, "pool_size"), "3", enter=True)
    type_in(qtbot, w, field(w, "pool_size"), "2", enter=True)
    assert pool() == 2 and w.editor.undo_stack.index() == depth + 2
    key(w, Qt.Key_Z, Qt.ControlModifier)
    assert pool() == 3 and field(w, "pool_size").edit.text() == "3"
    key(w, Qt.Key_Z, Qt.ControlModifier)
    assert pool() == 2 and w.editor.undo_stack.index() == depth
    # kernel 30, look at the error, then 5: Ctrl+Z goes back to 30 first, then to 3
    click_stack_row(qtbot, w, 0)
    type_in(qtbot, w, field(w, "kernel_size"), "30", enter=True)
    assert not w.state.spec_check.ok
    type_in(qtbot, w, field(w, "kernel_size"), "5", enter=True)
    key(w, Qt.Key_Z, Qt.ControlModifier)
    assert w.state.spec["layers"][0]["kernel_size"] == 30
    key(w, Qt.Key_Z, Qt.ControlModifier)
    assert w.state.spec["layers"][0].get("kernel_size", 3) == 3
    # the keystrokes of one edit stay one step; leaving the field (a click on a card) ends it
    depth = w.editor.undo_stack.index()
    type_in(qtbot, w, field(w, "filters"), "16")             # "1", then "16"
    click_stack_row(qtbot, w, 1)
    click_stack_row(qtbot, w, 0)
    type_in(qtbot, w, field(w, "filters"), "4")
    assert w.editor.undo_stack.index() == depth + 2
    # a check box: each click is a step of its own
    bias = field(w, "use_bias")
    box = QPoint(8, bias.height() // 2)                       # on the box itself
    qtbot.mouseClick(bias, Qt.LeftButton, pos=box)
    assert w.state.spec["layers"][0]["use_bias"] is False
    qtbot.mouseClick(bias, Qt.LeftButton, pos=box)
    assert w.editor.undo_stack.index() == depth + 4
