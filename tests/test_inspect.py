"""nncore.inspect: the numbers behind the inspection views."""
import numpy as np
import pytest

from nncore import CrossEntropyLoss, Network
from nncore.inspect import layer_reports
from nncore.optim import SGD
from nncore.train import Trainer

SPEC = {"input_shape": [1, 6, 6],
        "layers": [{"type": "Conv2D", "filters": 2, "kernel_size": 3}, {"type": "ReLU"},
                   {"type": "Flatten"}, {"type": "Dense", "units": 5}, {"type": "BatchNorm"},
                   {"type": "ReLU"}, {"type": "Dense", "units": 3}, {"type": "Softmax"}]}


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 6, 6)).astype(np.float32), rng.integers(0, 3, n)


def test_layer_reports_after_a_trainer_step():
    x, y = _data()
    net = Network.from_spec(SPEC, seed=1)
    trainer = Trainer(net, CrossEntropyLoss(), SGD(net, lr=0.5), x, y, batch_size=8)
    before = net.get_weights()
    trainer.step_batch()
    reps = layer_reports(net, before)
    assert [r.type for r in reps] == ["Conv2D", "ReLU", "Flatten", "Dense", "BatchNorm", "ReLU",
                                      "Dense", "Softmax"]
    assert reps[0].input_shape == (8, 1, 6, 6) and reps[0].output_shape == (8, 2, 4, 4)
    assert reps[3].input_shape == (8, 32) and reps[3].grad_output_shape == (8, 5)
    # ReLU zeroes about half its inputs; softmax rows sum to 1.
    assert 0.0 < reps[1].activation.zero_fraction < 1.0 and reps[1].activation.min == 0.0
    assert reps[7].activation.mean == pytest.approx(1 / 3, rel=1e-5)
    dense = net.layers[6]
    w = reps[6].param("W")
    np.testing.assert_array_equal(w.grad, dense.grads["W"])
    assert w.grad_norm == pytest.approx(np.linalg.norm(dense.grads["W"]), rel=1e-6)
    assert w.norm == pytest.approx(np.linalg.norm(dense.params["W"]), rel=1e-6)
    # plain SGD: ΔW = lr·dW exactly
    assert w.update_ratio == pytest.approx(
        0.5 * np.linalg.norm(dense.grads["W"]) / np.linalg.norm(before["6.W"]), rel=1e-4)
    assert reps[6].param("b").update_ratio is None        # b started at 0: ratio undefined
    assert [p.name for p in reps[4].params] == ["gamma", "beta"]
    assert reps[6].grad_output_norm == pytest.approx(
        np.linalg.norm(dense.last_grad_output), rel=1e-6)
    assert "dW = Xᵀ·dY" in reps[6].formula
    assert all(p.update_ratio is None for p in layer_reports(net, None)[6].params)


def test_layer_reports_of_an_untrained_network_has_no_activations():
    net = Network.from_spec(SPEC)
    reps = layer_reports(net, None)
    assert reps[0].activation is None and reps[0].grad_output_norm is None
    assert reps[0].input_shape == (1, 6, 6)
