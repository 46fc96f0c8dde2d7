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


# ---- the Gradient check panel in the window -------------------------------------------------------
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
        assert panel.summary.text().startswith("Layer 3 WrongTanh computes a wrong gradient")
        # the trained weights of both Dense layers (unchanged, only moved down one place)
        assert ("6 layers; weights after 3 batches; 4 images" in panel.which.text()), \
            panel.which.text()
        rows = panel.row_results()
        failed = {layer for layer, _, result in rows if result.startswith("FAIL")}
        assert failed == {"3  WrongTanh"}
        assert all(result.startswith("wrong dY from layer 3")
                   for layer, _, result in rows if layer.split()[0] in "012")
        assert all(result == "pass" for layer, _, result in rows
                   if layer.split()[0] in ("4", "5", "loss"))
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
