"""The memory estimate of a training run, against what NumPy really allocates (tracemalloc)."""
import tracemalloc

import numpy as np
import pytest

from nncore import CrossEntropyLoss, Network, SpecError
from nncore.memory import (estimate_training_memory, format_bytes, machine_memory,
                           optimizer_buffers_per_weight)
from nncore.optim import SGD, Adam, RMSprop
from nncore.train import Trainer

MLP = {"input_shape": [1, 28, 28], "layers": [
    {"type": "Flatten"}, {"type": "Dense", "units": 128}, {"type": "ReLU"},
    {"type": "Dense", "units": 10}, {"type": "Softmax"}]}
CNN = {"input_shape": [1, 28, 28], "layers": [
    {"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": 1}, {"type": "ReLU"},
    {"type": "MaxPool2D", "pool_size": 2}, {"type": "Conv2D", "filters": 16, "kernel_size": 3},
    {"type": "BatchNorm"}, {"type": "ReLU"}, {"type": "Flatten"}, {"type": "Dropout", "rate": 0.3},
    {"type": "Dense", "units": 10}, {"type": "Softmax"}]}
SMALL_CNN = {"input_shape": [3, 12, 12], "layers": [
    {"type": "Conv2D", "filters": 4, "kernel_size": 5, "padding": "same"}, {"type": "Tanh"},
    {"type": "AvgPool2D", "pool_size": 2}, {"type": "Flatten"}, {"type": "Dense", "units": 32},
    {"type": "Sigmoid"}, {"type": "Dense", "units": 10}, {"type": "Softmax"}]}


def measured_peak(spec, opt_cls, opt_config, batch_size, n_train=256, n_eval=200):
    """tracemalloc's peak while a Trainer is built, trains 3 batches and evaluates (the data
    arrays exist before: they are not counted)."""
    rng = np.random.default_rng(0)
    shape = spec["input_shape"]
    x = rng.random((n_train, *shape), dtype=np.float32)
    xe = rng.random((n_eval, *shape), dtype=np.float32)
    y, ye = rng.integers(0, 10, n_train), rng.integers(0, 10, n_eval)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        net = Network.from_spec(spec)
        t = Trainer(net, CrossEntropyLoss(), opt_cls(net, **opt_config), x, y, xe, ye,
                    batch_size=batch_size)
        for _ in range(3):
            t.step_batch()
        t.evaluate(xe, ye)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("spec, opt, config, batch", [
    (MLP, SGD, {"lr": 0.1}, 32),
    (MLP, Adam, {"lr": 0.01}, 128),
    (CNN, SGD, {"lr": 0.1, "momentum": 0.9}, 16),
    (CNN, Adam, {"lr": 0.01}, 128),
    (SMALL_CNN, RMSprop, {"lr": 0.01}, 64),
], ids=["mlp-sgd", "mlp-adam", "cnn-momentum", "cnn-adam-128", "small-cnn-rmsprop"])
def test_the_estimate_is_close_to_what_training_allocates(spec, opt, config, batch):
    measured = measured_peak(spec, opt, config, batch)
    est = estimate_training_memory(spec, batch, {"type": opt.__name__, "config": config},
                                   n_train=256, n_eval=200)
    assert est.data == (256 + 200) * int(np.prod(spec["input_shape"])) * 4
    ratio = (est.total - est.data) / measured
    assert 0.8 <= ratio <= 1.6, (format_bytes(est.total - est.data), format_bytes(measured))


def test_activations_grow_with_the_batch_and_im2col_is_counted():
    small = estimate_training_memory(CNN, 16)
    big = estimate_training_memory(CNN, 160)
    assert big.activations > 9 * (small.activations - small.weights)
    # the first conv: 28·28 positions × (3·3·1 + 1) values per sample, the second 12·12 × 73
    assert big.im2col == 160 * (28 * 28 * 10 + 12 * 12 * 73) * 4
    assert "batch size" in big.advice() and "im2col" in big.advice()
    mlp = estimate_training_memory(MLP, 64, n_train=60_000, n_eval=10_000)
    assert mlp.parts()[0][0] == "training data" and "Images per class" in mlp.advice()


def test_optimizer_buffers_are_counted_by_letting_the_optimizer_step():
    assert optimizer_buffers_per_weight(None) == 0
    assert optimizer_buffers_per_weight({"type": "SGD", "config": {"lr": 0.1}}) == 0
    assert optimizer_buffers_per_weight({"type": "SGD",
                                         "config": {"lr": 0.1, "momentum": 0.9}}) == 1
    assert optimizer_buffers_per_weight({"type": "Adam", "config": {}}) == 2
    assert optimizer_buffers_per_weight({"type": "RMSprop", "config": {}}) == 1
    w = estimate_training_memory(MLP, 1).weights
    assert w == 101_770 * 4
    assert estimate_training_memory(MLP, 1, {"type": "Adam", "config": {}}).optimizer == 2 * w


def test_an_invalid_spec_is_a_spec_error_and_machine_memory_is_known():
    with pytest.raises(SpecError):
        estimate_training_memory({"input_shape": [1, 28, 28],
                                  "layers": [{"type": "Dense", "units": 3}]}, 8)
    total, available = machine_memory()
    assert total > 100e6 and 0 < available <= total
    assert format_bytes(1_234_567) == "1.2 MB" and format_bytes(12) == "12 bytes"
