"""Layer properties get the room a selected layer's settings need (tester 5: at 1400x900 the
dock was 102 px tall with a Conv2D selected, showing one field of five)."""
from __future__ import annotations

from PySide6.QtWidgets import QScrollArea, QWidget

from app.main_window import DEFAULT_SIZE

from .helpers import click_stack_row, find

LENET = {"input_shape": [1, 28, 28], "layers": [
    {"type": "Conv2D", "filters": 6, "kernel_size": 5}, {"type": "ReLU"},
    {"type": "MaxPool2D", "pool_size": 2}, {"type": "Conv2D", "filters": 16, "kernel_size": 5},
    {"type": "ReLU"}, {"type": "MaxPool2D", "pool_size": 2}, {"type": "Flatten"},
    {"type": "Dense", "units": 10}, {"type": "Softmax"}]}


def _fields_in_view(window) -> dict[str, bool]:
    form = find(window, QWidget, "layerProperties")
    area = form.parentWidget()
    while not isinstance(area, QScrollArea):
        area = area.parentWidget()
    view = area.viewport().rect()
    out = {}
    for field in form.findChildren(QWidget):
        name = field.objectName()
        if name.startswith("field_") and field.isVisible():
            top_left = field.mapTo(area.viewport(), field.rect().topLeft())
            bottom_right = field.mapTo(area.viewport(), field.rect().bottomRight())
            out[name] = view.contains(top_left) and view.contains(bottom_right)
    return out


def test_a_selected_conv2d_shows_all_its_settings_at_the_default_size(window, qtbot):
    w = window                                  # as launched: 1400x900
    assert w.size().toTuple() == tuple(DEFAULT_SIZE)
    qtbot.wait(100)                             # the launch layout settled
    w.editor.replace(LENET, "LeNet")
    qtbot.waitUntil(lambda: w.state.spec_check.ok)
    click_stack_row(qtbot, w, 0)
    for name in ("field_filters", "field_kernel_size", "field_stride", "field_padding"):
        qtbot.waitUntil(lambda n=name: _fields_in_view(w).get(n) is True, timeout=3_000)
    assert all(_fields_in_view(w).values()), _fields_in_view(w)
    # the network list keeps room for LeNet's nine cards
    stack = find(w, QWidget, "layerStack")
    assert stack.visualItemRect(stack.item(8)).bottom() <= stack.viewport().height()


def test_at_1024_px_the_settings_wrap_instead_of_scrolling_sideways(window, qtbot):
    """Tester 7: in the 182-px dock the fields were cut at its right edge ("he_uni") under a
    horizontal scroll bar; a label now goes above its field when both do not fit."""
    from PySide6.QtCore import QRect
    from app.layout import fitted_size
    w = window
    w.resize(*fitted_size(DEFAULT_SIZE, QRect(0, 0, 1024, 768)))
    w.layout_.apply_default()
    w.editor.replace(LENET, "LeNet")
    qtbot.waitUntil(lambda: w.state.spec_check.ok)
    click_stack_row(qtbot, w, 0)
    form = find(w, QWidget, "layerProperties")
    area = form.parentWidget()
    while not isinstance(area, QScrollArea):
        area = area.parentWidget()
    qtbot.waitUntil(lambda: form.fields.get("kernel_initializer") is not None)
    qtbot.wait(50)
    assert area.horizontalScrollBar().maximum() == 0
    combo = form.fields["kernel_initializer"]
    assert combo.mapTo(area.viewport(), combo.rect().topRight()).x() <= area.viewport().width()
