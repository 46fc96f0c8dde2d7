"""The network builder, driven from the real window: palette, stack, property form, undo."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QWidget

from .helpers import (button, click_stack_row, double_click_palette, drag_card,
                      drop_palette_layer, find, stack_rows, type_into)


def total_text(window) -> str:
    return find(window, QLabel, "totalParams").text()


def field(window, name):
    return find(find(window, QWidget, "layerProperties"), QWidget, f"field_{name}")


def test_launch_shows_the_seed_network_with_shapes_and_total(builder_window):
    window = builder_window
    assert stack_rows(window) == ["Flatten", "Dense", "ReLU", "Dense", "Softmax"]
    assert "101,770" in total_text(window)
    assert button(window, "trainButton").isEnabled()
    for name in ("layerPalette", "layerStack", "layerProperties", "datasetCombo",
                 "trainButton", "stepBatchButton", "stepEpochButton", "stopButton",
                 "resetButton", "lossPlot", "accuracyPlot", "weightsView", "epochProgress"):
        assert window.findChild(QWidget, name) is not None, name
    palette = find(window, QListWidget, "layerPalette")
    for name in ("Dense", "Conv2D", "MaxPool2D", "Flatten", "ReLU", "Softmax", "Dropout"):
        item = palette.item_for(name)
        assert item is not None and item.toolTip(), name


def test_build_a_network_from_the_palette(qtbot, builder_window):
    window = builder_window
    stack = find(window, QListWidget, "layerStack")
    palette = find(window, QListWidget, "layerPalette")
    # empty the network: select each card and press Delete
    while stack.count():
        click_stack_row(qtbot, window, 0)
        qtbot.keyClick(stack, Qt.Key_Delete)
    assert stack_rows(window) == []
    assert not button(window, "trainButton").isEnabled()     # a network without layers
    for name in ("Flatten", "Dense", "ReLU", "Dense", "Softmax"):
        double_click_palette(qtbot, palette, name)
    assert stack_rows(window) == ["Flatten", "Dense", "ReLU", "Dense", "Softmax"]
    # the new Dense layers start with 64 units; make them 32 and 10 in the property form
    click_stack_row(qtbot, window, 1)
    type_into(qtbot, field(window, "units"), "32")
    click_stack_row(qtbot, window, 3)
    type_into(qtbot, field(window, "units"), "10")
    assert window.state.spec["layers"][1] == {"type": "Dense", "units": 32}
    assert window.state.spec["layers"][3] == {"type": "Dense", "units": 10}
    assert f"{784 * 32 + 32 + 32 * 10 + 10:,}" in total_text(window)
    assert stack.item(1).data(Qt.UserRole + 2) == "(32,)"        # its output shape
    assert button(window, "trainButton").isEnabled()
    # drag and drop: a Dropout from the palette between ReLU and the last Dense ...
    drop_palette_layer(qtbot, window, "Dropout", 3)
    qtbot.waitUntil(lambda: stack_rows(window)[3:4] == ["Dropout"])
    # ... then drag it to the end of the network and back again
    drag_card(qtbot, window, 3, 6)
    qtbot.waitUntil(lambda: stack_rows(window)[-1] == "Dropout")
    assert stack_rows(window) == ["Flatten", "Dense", "ReLU", "Dense", "Softmax", "Dropout"]


def test_shape_errors_appear_at_the_layer_and_clear(qtbot, builder_window):
    window = builder_window
    stack = find(window, QListWidget, "layerStack")
    train = button(window, "trainButton")
    # Flatten dragged below the first Dense: Dense now gets images
    drag_card(qtbot, window, 0, 2)
    qtbot.waitUntil(lambda: stack_rows(window)[:2] == ["Dense", "Flatten"])
    check = window.state.spec_check
    assert check.error is not None and check.error.index == 0
    message = stack.item(0).data(Qt.UserRole + 4)
    assert "Dense expects flat input" in message and "add Flatten before it" in message
    assert "invalid" in total_text(window).lower()
    assert not train.isEnabled()
    click_stack_row(qtbot, window, 0)
    problem = find(window, QLabel, "propertiesProblem")
    assert problem.isVisible() and "Dense expects flat input" in problem.text()
    # Ctrl+Z puts Flatten back: the error is gone and Train works again
    window.activateWindow()
    qtbot.keyClick(stack, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: window.state.spec_check.ok)
    assert stack_rows(window)[:2] == ["Flatten", "Dense"]
    assert stack.item(0).data(Qt.UserRole + 4) in (None, "")
    assert train.isEnabled()


def test_a_kernel_larger_than_its_input_is_explained_where_it_is_typed(qtbot, builder_window):
    window = builder_window
    palette = find(window, QListWidget, "layerPalette")
    click_stack_row(qtbot, window, 0)
    window.editor.set_current(-1)
    drop_palette_layer(qtbot, window, "Conv2D", 0)
    qtbot.waitUntil(lambda: stack_rows(window)[0] == "Conv2D")
    assert palette.item_for("Conv2D") is not None
    click_stack_row(qtbot, window, 0)
    assert window.state.spec_check.ok                         # 3x3 on 28x28 is fine
    type_into(qtbot, field(window, "kernel_size"), "30")
    problem = find(window, QLabel, "propertiesProblem")
    qtbot.waitUntil(problem.isVisible)
    assert "kernel height 30 is larger than its input size 28" in problem.text()
    assert not button(window, "trainButton").isEnabled()
    type_into(qtbot, field(window, "kernel_size"), "5")
    qtbot.waitUntil(lambda: window.state.spec_check.ok)
    assert not problem.isVisible()
    assert window.state.spec["layers"][0]["kernel_size"] == 5


def test_fields_are_validated_as_typed_and_only_valid_values_reach_the_network(qtbot,
                                                                             builder_window):
    window = builder_window
    click_stack_row(qtbot, window, 1)
    units = field(window, "units")
    for text, expected in (("0", ">= 1"), ("abc", "an integer"), ("-3", ">= 1")):
        type_into(qtbot, units, text)
        assert units.error() is not None and expected in units.error(), text
        assert window.state.spec["layers"][1]["units"] == 128     # unchanged
    # each keystroke is checked: "12" is a valid beginning of "12.5", but once the text is
    # invalid the layer has its value from before the edit again, not the beginning
    type_into(qtbot, units, "12.5")
    assert "an integer" in units.error()
    assert window.state.spec["layers"][1]["units"] == 128
    type_into(qtbot, units, "256")
    assert units.error() is None
    assert window.state.spec["layers"][1]["units"] == 256
    # typing "256" was one edit for undo: one Ctrl+Z brings 128 back
    window.editor.undo()
    assert window.state.spec["layers"][1]["units"] == 128
    assert units.edit.text() == "128"


def test_undo_redo_of_every_kind_of_edit(qtbot, builder_window):
    window = builder_window
    palette = find(window, QListWidget, "layerPalette")
    before = window.state.spec
    click_stack_row(qtbot, window, 2)
    double_click_palette(qtbot, palette, "Dropout")                   # add
    window.menus.actions["duplicate"].trigger()                       # duplicate
    drag_card(qtbot, window, 0, 7)                              # move Flatten to the end
    qtbot.waitUntil(lambda: stack_rows(window)[-1] == "Flatten")
    click_stack_row(qtbot, window, 0)
    qtbot.keyClick(find(window, QListWidget, "layerStack"), Qt.Key_Delete)   # delete
    edited = window.state.spec
    assert edited != before
    window.activateWindow()
    for _ in range(4):
        qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    assert window.state.spec == before
    for _ in range(4):
        qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert window.state.spec == edited


def test_presets_replace_the_network_and_undo_brings_it_back(qtbot, builder_window):
    window = builder_window
    from app.builder.presets import load_presets
    presets, problems = load_presets()
    assert problems == []
    cnn = next((p for p in presets if any(l["type"] == "Conv2D" for l in p.spec["layers"])),
               None)
    assert cnn is not None, [p.name for p in presets]
    before = window.state.spec
    window.network_panel.apply_preset(cnn)
    assert [l["type"] for l in window.state.spec["layers"]] == \
        [l["type"] for l in cnn.spec["layers"]]
    assert window.state.spec_check.ok
    window.editor.undo()
    assert window.state.spec == before


def test_presets_button_shows_its_whole_label_and_opens_the_presets(qtbot, builder_window):
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QMenu, QToolButton
    from app.builder.panel import MenuToolButton
    window = builder_window
    b = find(window, QToolButton, "presetsButton")
    assert b.text() == "Presets ▾"
    assert b.width() >= b.sizeHint().width()
    # drawn like a button without a menu: no corner indicator over the "s" of its label
    plain = QToolButton()
    plain.setText(b.text())
    plain.setPopupMode(QToolButton.InstantPopup)
    plain.resize(b.size())
    qtbot.addWidget(plain)
    marked = MenuToolButton()
    marked.setText("Presets")
    marked.setPopupMode(QToolButton.InstantPopup)
    marked.setMenu(QMenu(marked))
    marked.resize(b.size())
    qtbot.addWidget(marked)

    def pixels(widget) -> bytes:
        image = widget.grab().toImage().convertToFormat(QImage.Format_RGB32)
        return bytes(image.constBits())
    assert pixels(marked) == pixels(plain)
    # and the menu lists the presets
    menu = b.menu()
    menu.aboutToShow.emit()
    names = [a.text() for a in menu.actions() if a.text()]
    assert len(names) >= 3, names
