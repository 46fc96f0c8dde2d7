"""The gradient check and the backward-pass inspector, as a learner uses them.

- nncore.gradcheck.diagnose_network points at the layer whose own backward pass is wrong (not at
  the layers below it, which only receive its wrong gradient), or at the loss;
- the Gradient check panel checks the network *in the builder* (its spec, trained weights where
  the layers still match), says which network it checked, and marks its result out of date
  when the network changes;
- the Backward pass panel shows every layer's dW and db where they can be seen.

The broken layer is registered the way the README's *Extending nncore* says (``@register``),
here in the test, and taken out of the registry again afterwards.
"""
from __future__ import annotations

import numpy as np
import pytest

import nncore
from nncore import Network, registry
from nncore.gradcheck import diagnose_network
from nncore.layers import Activation
from nncore.losses import CrossEntropyLoss
from nncore.registry import register


@pytest.fixture
def wrong_tanh():
    """A layer "WrongTanh" in the registry: tanh whose derivative uses x where it needs y."""
    before = dict(registry.LAYERS)

    @register("layer")
    class WrongTanh(Activation):
        """WrongTanh: tanh(x), with a mistake in its derivative."""
        formula = "forward:  Y = tanh(X)\ndX = dY * (1 − X²)     (wrong: should be 1 − Y²)"

        def f(self, x):
            return np.tanh(x)

        def df(self, x, y):
            return 1 - x ** 2

    yield "WrongTanh"
    registry.LAYERS.clear()
    registry.LAYERS.update(before)


def _batch(n=4, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 1, 28, 28), dtype=np.float32)          # blank background, like MNIST
    x[:, 0, 8:20, 10:18] = rng.uniform(0.3, 1.0, (n, 12, 8))
    return x, rng.integers(0, 10, n)


MLP = [{"type": "Flatten"}, {"type": "Dense", "units": 32}, {"type": "ReLU"},
       {"type": "Dense", "units": 10}, {"type": "Softmax"}]


# ---- nncore: which layer is wrong? ---------------------------------------------------------------
def test_diagnosis_names_the_layer_whose_own_backward_is_wrong(wrong_tanh):
    layers = MLP[:3] + [{"type": wrong_tanh}] + MLP[3:]
    net = Network.from_spec({"input_shape": [1, 28, 28], "layers": layers}, seed=1)
    x, y = _batch()
    d = diagnose_network(net, CrossEntropyLoss(), x, y)
    assert not d.passed and d.culprits == [3] and d.first_from_output == 3
    # in the network the wrong gradient reaches every layer below it; alone only it fails
    assert [d.failed_in_network(i) for i in range(6)] == [True] * 4 + [False] * 2
    assert [d.failed_alone(i) for i in range(6)] == [False, False, False, True, False, False]
    assert [d.inherited_from(i) for i in range(6)] == [3, 3, 3, None, None, None]
    text = d.sentence()
    assert text.startswith("Layer 3 WrongTanh computes a wrong gradient")
    assert "Layers 0–2 fail only inside the network" in text
    # the window numbers layers from 1, as its builder does
    text = d.sentence(number_from=1)
    assert text.startswith("Layer 4 WrongTanh computes a wrong gradient")
    assert "Layers 1–3 fail only inside the network" in text


def test_diagnosis_of_a_right_network_and_of_a_wrong_loss():
    net = Network.from_spec({"input_shape": [1, 28, 28], "layers": MLP}, seed=1)
    x, y = _batch()
    d = diagnose_network(net, CrossEntropyLoss(), x, y)
    assert d.passed and d.culprits == [] and d.first_from_output is None
    assert d.worst < 1e-6 and "Every layer" in d.sentence()
    assert len(d.alone) == len(d.in_network) == 9       # every layer's input, W and b twice

    class OffCrossEntropy(CrossEntropyLoss):
        def backward(self):
            return super().backward() * 1.01
    d = diagnose_network(net, OffCrossEntropy(), x, y)
    assert d.loss_failed and d.culprits == [] and d.inherited_from(0) == "loss"
    assert d.sentence().startswith("The loss OffCrossEntropy computes a wrong dL/d(output)")
    assert all(r.passed for r in d.alone)


# ---- the Gradient check panel in the window ---------------------------------------------
def _grad_check(window, qtbot):
    """Press Check gradients (its dock brought to the front) and wait for the result."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget

    from app.inspect.gradcheck_view import GradCheckPanel
    panel = window.findChild(GradCheckPanel)
    dock = next(d for d in window.findChildren(QDockWidget) if d.isAncestorOf(panel))
    dock.show()
    dock.raise_()
    before = panel.diagnosis
    qtbot.mouseClick(panel.button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.diagnosis is not before and not panel.running,
                    timeout=20_000)
    return panel


def test_the_check_runs_on_the_network_in_the_builder_not_the_trained_snapshot(
        qtbot, wrong_tanh, tiny_mnist):
    """The tester's steps: train a little, add a layer whose derivative is wrong, check."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QListWidget

    from .conftest import _launch
    from .helpers import button, click, click_stack_row, double_click_palette, find, stack_rows

    w = _launch(qtbot)
    qtbot.addWidget(w)
    try:
        # the default network, untrained: every row green, below 1e-6
        panel = _grad_check(w, qtbot)
        assert panel.diagnosis.passed and np.all(panel.errors() < 1e-6)
        assert all(result == "pass" for _, _, result in panel.row_results())
        assert "5 layers; initial weights, not trained yet" in panel.which.text()

        step = button(w, "stepBatchButton")
        for n in (1, 2, 3):
            click(qtbot, step)
            qtbot.waitUntil(lambda: w.state.snapshot is not None and w.state.snapshot.step == n
                            and w.state.run_state == "paused", timeout=10_000)
        assert panel.stale and "weights changed (now after 3 batches)" in \
            panel.stale_label.text()

        click_stack_row(qtbot, w, 2)                                   # ReLU
        double_click_palette(qtbot, w.palette, wrong_tanh)             # ... WrongTanh after it
        qtbot.waitUntil(lambda: "WrongTanh" in " ".join(stack_rows(w)) and w.state.spec_check.ok)
        assert [c["type"] for c in w.state.spec["layers"]] == [
            "Flatten", "Dense", "ReLU", "WrongTanh", "Dense", "Softmax"]

        panel = _grad_check(w, qtbot)
        d = panel.diagnosis
        assert d.layer_types == ["Flatten", "Dense", "ReLU", "WrongTanh", "Dense", "Softmax"]
        assert d.culprits == [3]
        # numbered as the builder numbers them (from 1): WrongTanh is its 4th card
        assert panel.summary.text().startswith("Layer 4 WrongTanh computes a wrong gradient")
        # the trained weights of both Dense layers (unchanged, only moved down one place)
        assert ("6 layers; weights after 3 batches; 4 images" in panel.which.text()), \
            panel.which.text()
        rows = panel.row_results()
        failed = {layer for layer, _, result in rows if result.startswith("FAIL")}
        assert failed == {"4  WrongTanh"}
        assert all(result.startswith("wrong dY from layer 4")
                   for layer, _, result in rows if layer.split()[0] in "123")
        assert all(result == "pass" for layer, _, result in rows
                   if layer.split()[0] in ("5", "6", "loss"))
        assert not panel.stale

        # editing the network makes the result out of date; the next check is of the edit
        click_stack_row(qtbot, w, 3)
        stack = find(w, QListWidget, "layerStack")
        qtbot.keyClick(stack, Qt.Key_Delete)
        qtbot.waitUntil(lambda: panel.stale)
        assert "the network in the builder was edited" in panel.stale_label.text()
        assert panel.stale_label.isVisible()
        panel = _grad_check(w, qtbot)
        assert not panel.stale and panel.diagnosis.passed
        assert panel.diagnosis.layer_types == ["Flatten", "Dense", "ReLU", "Dense", "Softmax"]
        assert "5 layers; weights after 3 batches" in panel.which.text()
    finally:
        w.close()


# ---- the Backward pass panel ---------------------------------------------------------------------
def test_the_inspector_shows_dw_and_db_of_the_step_just_trained(qtbot):
    """After one step, the Dense layer's dW and db rows say what they are from the left edge,
    with a thumbnail that is not blank, and the image shown is that layer's grads exactly."""
    from PySide6.QtGui import QColor

    from app.inspect.backward import PARAM_ROLE, BackwardPanel
    from app.state import StudioState
    from nncore.inspect import layer_reports
    from nncore.optim import SGD
    from nncore.train import Trainer

    from .conftest import bar_digits

    spec = {"input_shape": [1, 28, 28], "layers": MLP}
    x, y = bar_digits(128, seed=3)
    x = x.astype(np.float32) / 255
    net = Network.from_spec(spec, seed=0)
    trainer = Trainer(net, CrossEntropyLoss(), SGD(net, lr=0.1), x, y, x[:32], y[:32],
                      batch_size=32)
    trainer.step_batch()
    before = net.get_weights()
    event = trainer.step_batch()
    state = StudioState()
    state.spec = spec
    panel = BackwardPanel(state)
    qtbot.addWidget(panel)
    panel.resize(600, 480)            # a narrow dock: the weight rows must still say it all
    panel.show()
    qtbot.waitExposed(panel)
    state.add_batches([event])
    state.inspection = layer_reports(net, before)
    state.inspectionChanged.emit(state.inspection)
    qtbot.waitUntil(lambda: panel.tree.topLevelItemCount() == 6)      # 5 layers and the loss

    dense = net.layers[1]
    rows = panel.tree.topLevelItem(1)
    w_row, b_row, dx_row = rows.child(0), rows.child(1), rows.child(2)
    assert (w_row.data(0, PARAM_ROLE), b_row.data(0, PARAM_ROLE)) == ("W", "b")
    assert w_row.isFirstColumnSpanned() and b_row.isFirstColumnSpanned()
    assert w_row.text(0).startswith("dW (784, 32)") and "dW = Xᵀ·dY" in w_row.text(0)
    assert b_row.text(0).startswith("db (32)") and "db = Σₙ dY" in b_row.text(0)
    assert f"‖dW‖ {np.linalg.norm(dense.grads['W'].astype(np.float64)):.3g}" in w_row.text(0)
    ratio = np.linalg.norm(dense.params["W"] - before["1.W"]) / np.linalg.norm(before["1.W"])
    assert f"‖ΔW‖/‖W‖ {ratio:.2g}" in w_row.text(0)
    assert dx_row.text(0).startswith("dX") and "dX = dY·Wᵀ" in dx_row.text(0)
    # the thumbnails are not blank: several clearly red and clearly blue pixels
    for row in (w_row, b_row):
        image = row.icon(0).pixmap(panel.tree.iconSize()).toImage()
        colours = [QColor(image.pixel(i, j)) for i in range(image.width())
                   for j in range(image.height())]
        reds = sum(c.red() - c.blue() > 60 for c in colours)
        blues = sum(c.blue() - c.red() > 60 for c in colours)
        assert reds >= 3 and blues >= 3, (row.text(0), reds, blues)
    # selecting a row shows exactly that gradient, on a range that keeps most of it visible
    panel.tree.setCurrentItem(w_row)
    np.testing.assert_array_equal(panel.shown_grad, dense.grads["W"])
    low, high = panel.grad_image.item.levels
    assert low == -high and 0 < high < np.abs(dense.grads["W"]).max()
    panel.tree.setCurrentItem(b_row)
    np.testing.assert_array_equal(panel.shown_grad, dense.grads["b"])
    assert "db = Σₙ dY" in panel.formula.toPlainText()


def test_the_progress_of_a_network_check_counts_layers_from_1():
    import numpy as np
    from nncore import CrossEntropyLoss, Network
    from nncore.gradcheck import diagnose_steps
    net = Network.from_spec({"input_shape": [4], "layers": [
        {"type": "Dense", "units": 3}, {"type": "ReLU"}, {"type": "Dense", "units": 2},
        {"type": "Softmax"}]}, seed=0)
    x = np.random.default_rng(0).random((3, 4))
    steps = diagnose_steps(net, CrossEntropyLoss(), x, np.array([0, 1, 0]))
    said = []
    try:
        while True:
            said.append(next(steps)[2])
    except StopIteration:
        pass
    assert said[0] == "layer 1 Dense in the network"
    assert said[-1] == "layer 4 Softmax alone"
    assert "the loss CrossEntropyLoss" in said
