"""Layer cards in a narrow Network list keep the layer's name whole (tester 7: at 1024x768 the
182-px list showed LeNet's cards as "…", "Co…", "Re…" beside their output shapes)."""
from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QListWidget, QStyleOptionViewItem

from app.layout import fitted_size
from app.widgets.cards import RIGHT
from app.main_window import DEFAULT_SIZE

from .helpers import find


class _Recorder:
    """Stands for a QPainter: records the texts drawn, ignores the rest."""

    def __init__(self):
        self.texts = []

    def drawText(self, *args):
        self.texts.append(args[-1])

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _drawn_texts(stack: QListWidget, row: int) -> list[str]:
    option = QStyleOptionViewItem()
    option.rect = stack.visualItemRect(stack.item(row))
    option.font = stack.font()
    option.palette = stack.palette()
    painter = _Recorder()
    stack.itemDelegate().paint(painter, option, stack.model().index(row, 0))
    return painter.texts


def test_lenets_cards_show_whole_names_and_shapes_in_a_1024_px_window(window, qtbot):
    from app.builder.presets import load_presets
    w = window
    w.resize(*fitted_size(DEFAULT_SIZE, QRect(0, 0, 1024, 768)))
    w.layout_.apply_default()
    lenet = next(p for p in load_presets()[0] if "lenet" in p.name.lower())
    w.network_panel.apply_preset(lenet)
    qtbot.waitUntil(lambda: len(w.editor.layers) == len(lenet.spec["layers"]))
    qtbot.wait(50)
    stack = find(w, QListWidget, "layerStack")
    assert stack.viewport().width() < 200                   # narrow indeed
    for row, layer in enumerate(lenet.spec["layers"]):
        texts = _drawn_texts(stack, row)
        shape = stack.item(row).data(RIGHT)                     # the output shape
        assert layer["type"] in texts, (row, texts)
        assert shape in texts, (row, texts)


def test_the_layers_palette_keeps_readable_names_in_a_1024_px_window(window, qtbot):
    """Tester 7: the plots' one-line legends set their column's least width, and the palette
    was left 74 px ("Conv2I", "MaxPo"); the legends wrap now."""
    w = window
    w.resize(*fitted_size(DEFAULT_SIZE, QRect(0, 0, 1024, 768)))
    w.layout_.apply_default()
    qtbot.waitUntil(lambda: w.size().toTuple() == fitted_size(DEFAULT_SIZE,
                                                              QRect(0, 0, 1024, 768)))
    qtbot.wait(50)
    palette = find(w, QListWidget, "layerPalette")
    assert w.layout_.docks["palette"].width() >= 130
    for name in ("Conv2D", "MaxPool2D", "AvgPool2D", "LeakyReLU", "BatchNorm"):
        item = palette.item_for(name)
        assert name in _drawn_texts(palette, palette.row(item)), name
