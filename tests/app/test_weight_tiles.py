"""The weight tiles fill their panel: the worker lays them out for the panel's shape."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.training.payloads import _grid, tile_image
from nncore import Network

SEED_SPEC = {"input_shape": [1, 28, 28], "layers": [
    {"type": "Flatten"}, {"type": "Dense", "units": 128}, {"type": "ReLU"},
    {"type": "Dense", "units": 10}, {"type": "Softmax"}]}


@pytest.mark.parametrize("n, aspect, expected", [
    (128, 2.0, (8, 16)), (128, 8.0, (4, 32)), (128, 0.5, (16, 8)), (1, 4.0, (1, 1)),
    (10, 100.0, (1, 10))])
def test_grid_follows_the_panel_shape(n, aspect, expected):
    rows, cols = _grid(n, aspect)
    assert (rows, cols) == expected and rows * cols >= n


def test_tile_image_keeps_every_unit_whatever_the_shape():
    net = Network.from_spec(SEED_SPEC, seed=0)
    w = net.layers[1].params["W"]
    for aspect in (0.5, 2.0, 8.0):
        t = tile_image(net, 1, aspect)
        rows, cols = t.grid
        assert t.image.shape == (rows * 29 - 1, cols * 29 - 1)
        # unit 37's tile is where the layout puts it, scaled to its own range
        r, c = divmod(37, cols)
        tile = t.image[r * 29:r * 29 + 28, c * 29:c * 29 + 28]
        unit = w[:, 37].reshape(28, 28)
        np.testing.assert_allclose(tile, unit / np.abs(unit).max(), rtol=1e-6)


def test_a_wide_short_panel_gets_a_wide_layout(window, qtbot):
    from app.views.weights import WeightTilesView
    view = window.findChild(WeightTilesView)
    qtbot.waitUntil(lambda: window.state.views is not None
                    and window.state.views.tiles is not None, timeout=10_000)
    dock = window.layout_.docks["weights"]
    dock.setFloating(True)
    dock.resize(1200, 260)
    qtbot.waitUntil(lambda: view.panel_aspect() >= 4, timeout=5_000)
    qtbot.waitUntil(lambda: window.state.views.tiles.grid[1] >= 3 * window.state.views.tiles.grid[0],
                    timeout=5_000)
    dock.resize(300, 600)
    qtbot.waitUntil(lambda: window.state.views.tiles.grid[0] > window.state.views.tiles.grid[1],
                    timeout=5_000)
    assert window.state.views.tiles.tiles == 128


def test_the_layer_list_follows_a_changed_kernel_size(window, qtbot):
    """Kernel 3 -> 5 changes no layer's number, only what the lists call it."""
    from PySide6.QtWidgets import QComboBox, QWidget
    from .helpers import click_stack_row, find, type_into
    window.editor.replace({"input_shape": [1, 28, 28], "layers": [
        {"type": "Conv2D", "filters": 4, "kernel_size": 3}, {"type": "ReLU"},
        {"type": "Flatten"}, {"type": "Dense", "units": 10}, {"type": "Softmax"}]},
        "A small CNN")
    tiles = find(window, QComboBox, "tileLayerCombo")
    qtbot.waitUntil(lambda: tiles.currentText() == "1. Conv2D filters 3×3", timeout=10_000)
    click_stack_row(qtbot, window, 0)
    type_into(qtbot, find(find(window, QWidget, "layerProperties"), QWidget,
                          "field_kernel_size"), "5")
    qtbot.waitUntil(lambda: tiles.currentText() == "1. Conv2D filters 5×5", timeout=10_000)
    assert [tiles.itemText(i) for i in range(tiles.count())] == ["1. Conv2D filters 5×5"]
    assert window.state.views.tiles.tile_shape == (5, 5)


def test_the_mosaic_exports_as_csv_through_the_panels_button(window, qtbot, tmp_path,
                                                             monkeypatch):
    from PySide6.QtWidgets import QToolButton
    from app.views.weights import WeightTilesView
    view = window.findChild(WeightTilesView)
    qtbot.waitUntil(lambda: window.state.views is not None
                    and window.state.views.tiles is not None, timeout=10_000)
    target = tmp_path / "tiles.csv"
    monkeypatch.setattr("app.views.plot_panel.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(target), "CSV (*.csv)"))
    qtbot.mouseClick(view.findChild(QToolButton, "exportCSVButton"), Qt.LeftButton)
    qtbot.waitUntil(target.exists)
    image = np.loadtxt(target, delimiter=",")
    np.testing.assert_allclose(image, window.state.views.tiles.image, rtol=1e-5, equal_nan=True)
    assert str(target) in window.statusBar().currentMessage()


def test_a_many_channel_conv_shows_every_kernel_grouped_by_filter():
    """Tester 7: 32 filters x 16 channels showed the first 256 of 512 kernels, ~10 px each;
    now a tile per filter, its 16 kernels in a 4x4 block, every kernel there."""
    net = Network.from_spec({"input_shape": [6, 12, 12], "layers": [
        {"type": "Conv2D", "filters": 16, "kernel_size": 5}]}, seed=0)
    w = net.layers[0].params["W"]                       # (16, 6, 5, 5)
    t = tile_image(net, 0, 2.0)
    assert t.tiles == 16 and "each its 6 kernels 5×5" in t.caption and t.grouped
    assert t.tile_shape == (2 * 6 - 1, 3 * 6 - 1)       # 6 kernels: 2 rows of 3
    rows, cols = t.grid
    f, ch = 9, 4                                        # filter 9's kernel of channel 4
    r, c = divmod(f, cols)
    th, tw = t.tile_shape
    tile = t.image[r * (th + 1):r * (th + 1) + th, c * (tw + 1):c * (tw + 1) + tw]
    kr, kc = divmod(ch, 3)
    kernel = tile[kr * 6:kr * 6 + 5, kc * 6:kc * 6 + 5]
    np.testing.assert_allclose(kernel, w[f, ch] / np.abs(w[f]).max(), rtol=1e-6)
    assert np.isnan(tile[5, :]).all()                   # the gap between kernel rows
    one = Network.from_spec({"input_shape": [1, 12, 12], "layers": [
        {"type": "Conv2D", "filters": 4, "kernel_size": 3}]}, seed=0)
    single = tile_image(one, 0)
    assert single.tile_shape == (3, 3) and not single.grouped   # a tile per kernel
