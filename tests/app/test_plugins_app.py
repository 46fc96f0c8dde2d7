"""Plugins in the window: loaded at start (their layers in the palette), failures reported with
details, Network ▸ Reload plugins after an edit."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtGui import QAction

from nncore import registry

from .conftest import _launch
from .helpers import double_click_palette, find, has_message_box, message_boxes, stack_rows

CUBE = '''
from nncore.layers import Activation
from nncore.registry import register


@register("layer")
class PluginCube(Activation):
    """Cube: x to the third power."""

    def f(self, x):
        return x ** 3

    def df(self, x, y):
        return 3 * x ** 2
'''


@pytest.fixture
def plugin_folder():
    before = {k: dict(t) for k, t in registry._TABLES.items()}
    folder = Path(os.environ["NN_STUDIO_PLUGINS"])
    folder.mkdir()
    yield folder
    for k, t in registry._TABLES.items():
        t.clear()
        t.update(before[k])


def test_plugins_load_at_start_failures_are_reported_and_reload_picks_up_a_fix(
        qtbot, tiny_mnist, plugin_folder):
    (plugin_folder / "cube.py").write_text(CUBE)
    (plugin_folder / "square.py").write_text(CUBE.replace("Cube", "Square")
                                             .replace("x ** 3", "x ** 2 +"))   # a typo
    w = _launch(qtbot)
    qtbot.addWidget(w)
    try:
        palette = w.palette
        assert palette.item_for("PluginCube") is not None          # listed with the others
        assert palette.item_for("PluginSquare") is None
        qtbot.waitUntil(lambda: has_message_box("pluginErrors"), timeout=5_000)
        box = message_boxes("pluginErrors")[0]
        assert "square.py: SyntaxError" in box.text() and "Reload plugins" in box.text()
        assert "square.py" in box.detailedText() and "Traceback" in box.detailedText()
        box.close()
        double_click_palette(qtbot, palette, "PluginCube")          # usable in a network
        qtbot.waitUntil(lambda: "PluginCube" in " ".join(stack_rows(w)))
        assert w.state.spec_check.ok

        (plugin_folder / "square.py").write_text(CUBE.replace("Cube", "Square")
                                                 .replace("x ** 3", "x ** 2")
                                                 .replace("3 * x ** 2", "2 * x"))
        find(w, QAction, "reloadPluginsAction").trigger()
        assert palette.item_for("PluginSquare") is not None
        assert "2 files (layer PluginCube, layer PluginSquare)" in w.statusBar().currentMessage()
        assert not has_message_box("pluginErrors") and w.state.spec_check.ok
    finally:
        w.close()


HALF_MSE = '''
from nncore.losses import MSELoss
from nncore.optim import SGD
from nncore.registry import register


@register("loss")
class HalfMSE(MSELoss):
    """Half the mean squared error."""

    def forward(self, output, target):
        return 0.5 * super().forward(output, target)

    def backward(self):
        return 0.5 * super().backward()


@register("optimizer")
class PlainSGD(SGD):
    """SGD without momentum, for comparison."""
'''


def test_reload_lists_a_new_loss_and_optimizer_in_the_training_panel(
        qtbot, tiny_mnist, plugin_folder):
    w = _launch(qtbot)
    qtbot.addWidget(w)
    try:
        panel = w.training_panel
        losses = lambda: [panel.loss_combo.itemData(i) for i in range(panel.loss_combo.count())]
        optims = lambda: [panel.optimizer_combo.itemData(i)
                          for i in range(panel.optimizer_combo.count())]
        assert "HalfMSE" not in losses() and "PlainSGD" not in optims()
        chosen = panel.optimizer_combo.currentData()
        (plugin_folder / "half.py").write_text(HALF_MSE)
        find(w, QAction, "reloadPluginsAction").trigger()
        assert "HalfMSE" in losses() and "PlainSGD" in optims()
        assert panel.optimizer_combo.currentData() == chosen            # selection kept
        i = panel.optimizer_combo.findData("PlainSGD")
        assert panel.optimizer_combo.itemData(i, 3).startswith("SGD without momentum")  # tooltip
        panel.optimizer_combo.setCurrentIndex(i)
        panel.optimizer_combo.activated.emit(i)                        # as a user's choice
        assert w.state.config.optimizer["type"] == "PlainSGD"
        assert "learningRateField" in {f.objectName() for f in panel.opt_fields.values()}
    finally:
        w.close()
