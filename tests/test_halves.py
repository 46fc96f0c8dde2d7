"""Element-wise layer work split over the batch's two halves gives bit-identical results."""
import numpy as np
import pytest

from nncore import Network
from nncore.layers import halves


def cnn(padding=0):
    return {"input_shape": [2, 12, 11], "layers": [
        {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": padding}, {"type": "ReLU"},
        {"type": "MaxPool2D", "pool_size": 2},
        {"type": "Conv2D", "filters": 3, "kernel_size": 2, "stride": 2}, {"type": "ReLU"},
        {"type": "AvgPool2D", "pool_size": 2, "stride": 1},
        {"type": "Flatten"}, {"type": "Dense", "units": 5}, {"type": "Softmax"}]}


def one_pass(spec, x, g, threads):
    halves.set_threads(threads)
    net = Network.from_spec(spec, seed=3)
    out = net.forward(x, training=True)
    dx = net.backward(g)
    return [out, dx] + [l.grads[k] for l in net.layers for k in l.grads]


@pytest.mark.parametrize("padding", [0, "same"])
@pytest.mark.parametrize("first_channels", [1, 2])
def test_two_threads_equal_one(monkeypatch, padding, first_channels):
    monkeypatch.setattr(halves, "MIN_ELEMENTS", 0)          # split even these small arrays
    spec = cnn(padding)
    spec["input_shape"][0] = first_channels
    rng = np.random.default_rng(0)
    x = np.round(rng.standard_normal((7,) + tuple(spec["input_shape"])), 1)   # ties for max
    g = rng.standard_normal((7, 5))
    before = halves.get_threads()
    try:
        serial = one_pass(spec, x, g, 1)
        split = one_pass(spec, x, g, 2)
    finally:
        halves.set_threads(before)
    assert len(serial) == len(split)
    for a, b in zip(serial, split):
        np.testing.assert_array_equal(a, b)


def test_work_sees_each_sample_once(monkeypatch):
    monkeypatch.setattr(halves, "MIN_ELEMENTS", 0)
    seen = np.zeros(9, int)

    def work(s):
        seen[s] += 1
    halves.over_batch(9, work, 9)
    assert seen.tolist() == [1] * 9


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_still_splits(monkeypatch):
    import os
    monkeypatch.setattr(halves, "MIN_ELEMENTS", 0)
    halves.over_batch(4, lambda s: None, 4)              # the parent's helper thread exists
    pid = os.fork()
    if pid == 0:                                           # child: must not wait forever
        seen = []
        halves.set_threads(2)
        halves.over_batch(4, lambda s: seen.append(s), 4)
        os._exit(0 if len(seen) == 2 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
