"""nncore.gradcheck itself: it passes right gradients, catches wrong ones, copes with kinks,
samples big arrays, and leaves the checked network untouched.

``assert_gradients_pass`` is the helper every gradient test of the suite goes through
(tests/test_layers.py, test_losses.py, test_extension.py).
"""
import numpy as np
import pytest

import nncore
from nncore import DataError, Network
from nncore.gradcheck import (TOLERANCE, GradCheck, LayerGradCheck, check_layer, check_network,
                              float64_copy, gradcheck)
from nncore.layers.activations import Activation, Tanh
from nncore.registry import LAYERS


def assert_gradients_pass(results, *, kinks_allowed=False):
    """Every result passed (relative error below 1e-6); by default no coordinate sat on a kink,
    since the tests choose their inputs away from kinks."""
    assert results, "nothing was checked"
    failed = [str(r) for r in results if not r.passed]
    assert not failed, "gradient check failed:\n" + "\n".join(failed)
    for r in results:
        assert r.max_rel_error < TOLERANCE and r.checked > 0
        if not kinks_allowed:
            assert r.kinks == 0, f"{r} hit a kink: choose inputs away from 0 and from ties"


def kink_free(rng, shape, low=0.2, high=2.0):
    """Values with random signs and distinct magnitudes in [low, high]: none near ReLU's kink at
    0, and no two equal (no ties in a max-pool window)."""
    n = int(np.prod(shape))
    mags = rng.permutation(np.linspace(low, high, n))
    return (mags * rng.choice([-1.0, 1.0], n)).reshape(shape)


# ---- the generic helper --------------------------------------------------------------------------
def test_right_gradient_passes_and_wrong_ones_fail():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    w = rng.standard_normal(4)
    fn = lambda x, w: float(np.sum(np.sin(x @ w)) + np.sum(w ** 3))   # noqa: E731
    c = np.cos(x @ w)
    gx, gw = np.outer(c, w), x.T @ c + 3 * w ** 2
    results = gradcheck(fn, {"x": x, "w": w}, {"x": gx, "w": gw})
    assert [r.name for r in results] == ["x", "w"]
    assert_gradients_pass(results)
    assert all(isinstance(r, GradCheck) and r.checked == r.size for r in results)

    slightly_off = gw.copy()
    slightly_off[2] *= 1 + 1e-4
    bad = gradcheck(fn, {"x": x, "w": w}, {"x": gx, "w": slightly_off})
    assert bad[0].passed and not bad[1].passed
    assert 1e-6 < bad[1].max_rel_error < 1e-3

    missing = gradcheck(fn, [x, w], [np.zeros_like(gx), gw])
    assert not missing[0].passed and missing[0].max_rel_error == pytest.approx(1.0)
    assert missing[1].passed and missing[0].name == "0"


def test_inputs_are_restored_bit_for_bit():
    x = np.random.default_rng(1).standard_normal(20) * 1e3
    before = x.copy()
    gradcheck(lambda x: float(np.sum(x ** 2)), x, 2 * x)
    assert np.array_equal(x, before)


def test_module_is_callable_and_exported():
    x = np.linspace(-1, 1, 5)
    [r] = nncore.gradcheck(lambda x: float(np.sum(np.exp(x))), x, np.exp(x))
    assert r.passed
    assert nncore.gradcheck.check_network is check_network


def test_bad_arguments_raise_data_error():
    x = np.ones(3)
    with pytest.raises(DataError, match="float64"):
        gradcheck(lambda x: 0.0, x.astype(np.float32), x)
    with pytest.raises(DataError, match=r"\(2,\).*\(3,\)"):
        gradcheck(lambda x: 0.0, x, np.ones(2))
    with pytest.raises(DataError, match="2 inputs but 1"):
        gradcheck(lambda a, b: 0.0, [x, x], [x])


def test_sampling_checks_the_largest_entry_and_is_seeded():
    x = np.random.default_rng(2).standard_normal(500)
    grad = 2 * x
    grad[17] *= 1.01                       # the only wrong entry ...
    x[17] = 50.0                           # ... and the largest
    grad[17] = 2 * 50.0 * 1.01
    [r] = gradcheck(lambda x: float(np.sum(x ** 2)), x, grad, max_coords=10, seed=3)
    assert r.checked == 10 and r.size == 500 and not r.passed
    a = gradcheck(lambda x: float(np.sum(x ** 2)), x, 2 * x, max_coords=10, seed=3)
    b = gradcheck(lambda x: float(np.sum(x ** 2)), x, 2 * x, max_coords=10, seed=3)
    assert a == b and a[0].passed


def test_near_zero_gradients_are_measured_against_the_noise_floor():
    x = np.random.default_rng(4).standard_normal(6)
    # L does not depend on x at all: analytic 0, numeric only rounding noise.
    fn = lambda x: float(1e3 + np.sum(x * 0.0))   # noqa: E731
    [r] = gradcheck(fn, x, np.zeros_like(x))
    assert r.passed and r.max_rel_error == 0.0
    [wrong] = gradcheck(fn, x, np.full_like(x, 1e-3))
    assert not wrong.passed


# ---- kinks --------------------------------------------------------------------------------------
def test_relu_at_exactly_zero_counts_as_a_kink_and_passes():
    x = np.array([0.0, 0.7, -0.4, 0.0])
    fn = lambda x: float(np.sum(np.maximum(x, 0) * np.array([1.0, 2.0, 3.0, -2.0])))  # noqa
    analytic = (x > 0) * np.array([1.0, 2.0, 3.0, -2.0])      # ReLU'(0) = 0, as PyTorch
    [r] = gradcheck(fn, x, analytic)
    assert r.passed and r.kinks == 2


def test_a_kink_matching_neither_side_is_left_out_but_cannot_pass_alone():
    fn = lambda x: float(np.sum(np.abs(x)))   # noqa: E731
    [alone] = gradcheck(fn, np.array([0.0]), np.array([0.5]))
    assert alone.kinks == 1 and np.isnan(alone.max_rel_error) and not alone.passed
    [mixed] = gradcheck(fn, np.array([0.0, 1.5]), np.array([0.5, 1.0]))
    assert mixed.kinks == 1 and mixed.passed
    # ... and a wrong gradient at a smooth coordinate still fails beside the kink.
    [wrong] = gradcheck(fn, np.array([0.0, 1.5]), np.array([0.5, 1.1]))
    assert not wrong.passed


def test_max_pool_ties_and_a_kink_just_beside_the_point():
    x = np.array([[1.0, 1.0, 0.5, 0.2]])           # a tie for the maximum of the first window
    fn = lambda x: float(x[0, :2].max() * 3.0 + x[0, 2:].max())   # noqa: E731
    analytic = np.array([[3.0, 0.0, 1.0, 0.0]])      # routed to the first maximum
    [r] = gradcheck(fn, x, analytic)
    assert r.passed and r.kinks >= 1
    near = np.array([3e-7, -2.0])                    # ReLU's kink lies within one step h
    [r] = gradcheck(lambda x: float(np.sum(np.maximum(x, 0))), near, (near > 0) * 1.0)
    assert r.passed


# ---- layers -------------------------------------------------------------------------------------
class WrongTanh(Tanh):
    """Tanh whose derivative is off by 0.1%."""

    def df(self, x, y):
        return (1 - y * y) * 1.001


class NoBiasGrad(Activation):
    """A layer with a weight whose gradient is forgotten: y = x + b, db left at 0."""

    def init_params(self, rng):
        self.params["b"] = np.zeros(self.input_shape, dtype=self.dtype)

    def forward(self, x, training=False):
        return x + self.params["b"]

    def backward(self, grad):
        self.grads["b"] = np.zeros_like(self.params["b"])
        return grad


def test_check_layer_reports_every_array_and_catches_mistakes():
    results = check_layer({"type": "Dense", "units": 3}, (4,))
    assert [(r.layer_index, r.layer_type, r.param) for r in results] == [
        (0, "Dense", "input"), (0, "Dense", "W"), (0, "Dense", "b")]
    assert all(isinstance(r, LayerGradCheck) for r in results)
    assert_gradients_pass(results)
    assert not check_layer(WrongTanh(), (5,))[0].passed
    bias = check_layer(NoBiasGrad(), (3,))
    assert bias[0].passed and bias[1].param == "b" and not bias[1].passed


def test_check_layer_uses_a_prebuilt_float64_layer_as_it_is():
    layer = LAYERS["BatchNorm"]()
    layer.build((3,), np.random.default_rng(0), np.float64)
    layer.running_mean[:] = [0.5, -1.0, 2.0]
    layer.params["gamma"][:] = [2.0, 0.5, -1.0]
    results = check_layer(layer, (3,), training=False)
    assert_gradients_pass(results)
    assert list(layer.params["gamma"]) == [2.0, 0.5, -1.0]     # not randomised


# ---- networks -----------------------------------------------------------------------------------
SMALL_CNN = {"input_shape": [1, 8, 8], "layers": [
    {"type": "Conv2D", "filters": 3, "kernel_size": 3}, {"type": "ReLU"},
    {"type": "MaxPool2D", "pool_size": 2}, {"type": "Dropout", "rate": 0.3},
    {"type": "Flatten"}, {"type": "Dense", "units": 4}, {"type": "Softmax"}]}


def digit_like(n, rng):
    """Images with a blank (exactly 0) background and one bright stroke, as in MNIST."""
    x = np.zeros((n, 1, 8, 8), dtype=np.float32)
    for i in range(n):
        r = rng.integers(1, 6)
        x[i, 0, r:r + 2, 1:7] = rng.uniform(0.5, 1.0, (2, 6))
    return x


def test_check_network_on_blank_background_images_passes_with_kinks():
    rng = np.random.default_rng(5)
    net = Network.from_spec(SMALL_CNN, seed=1)          # float32, zero biases: ReLU(0) kinks
    x, y = digit_like(4, rng), rng.integers(0, 4, 4)
    results = check_network(net, nncore.CrossEntropyLoss(), x, y)
    assert [(r.layer_index, r.param) for r in results] == [
        (0, "input"), (0, "W"), (0, "b"), (1, "input"), (2, "input"), (3, "input"),
        (4, "input"), (5, "input"), (5, "W"), (5, "b"), (6, "input")]
    assert [r.layer_type for r in results][:3] == ["Conv2D"] * 3
    assert_gradients_pass(results, kinks_allowed=True)
    assert sum(r.kinks for r in results) > 0
    assert next(r for r in results if r.param == "W" and r.layer_index == 5).checked == 24


def test_check_network_leaves_the_network_untouched():
    spec = {"input_shape": [4], "layers": [{"type": "Dense", "units": 5}, {"type": "BatchNorm"},
                                           {"type": "Dropout", "rate": 0.5},
                                           {"type": "Dense", "units": 3}]}
    net = Network.from_spec(spec, seed=2)
    weights, rng_state = net.get_weights(), net.rng_state()
    x = np.random.default_rng(6).standard_normal((6, 4)).astype(np.float32)
    results = check_network(net, nncore.MSELoss(), x, np.ones((6, 3)), max_coords=None)
    assert_gradients_pass(results)
    after = net.get_weights()
    assert all(np.array_equal(after[k], v) and after[k].dtype == np.float32
               for k, v in weights.items())
    assert net.rng_state() == rng_state
    twin = float64_copy(net)
    assert twin.dtype == np.float64 and twin is not net
    assert all(np.array_equal(twin.get_weights()[k], v) for k, v in weights.items())


def test_check_network_points_at_the_wrong_layer(monkeypatch):
    monkeypatch.setitem(LAYERS, "WrongTanh", WrongTanh)
    spec = {"input_shape": [3], "layers": [{"type": "Dense", "units": 4}, {"type": "WrongTanh"},
                                           {"type": "Dense", "units": 2}, {"type": "Sigmoid"}]}
    net = Network.from_spec(spec, seed=3)
    x = np.random.default_rng(7).standard_normal((3, 3))
    results = check_network(net, nncore.MSELoss(), x, np.zeros((3, 2)), max_coords=None)
    passed = {(r.layer_index, r.param): r.passed for r in results}
    assert passed[(1, "input")] is False                            # the culprit ...
    assert passed[(0, "W")] is False and passed[(0, "input")] is False   # ... and all below it
    assert passed[(2, "W")] and passed[(2, "input")] and passed[(3, "input")]


def test_check_network_rejects_mismatched_targets():
    net = Network.from_spec(SMALL_CNN)
    with pytest.raises(DataError, match="3.*2"):
        check_network(net, nncore.CrossEntropyLoss(), np.zeros((2, 1, 8, 8)), [0, 1, 2])
    with pytest.raises(DataError, match="empty"):
        check_network(net, nncore.CrossEntropyLoss(), np.zeros((0, 1, 8, 8)), [])
    with pytest.raises(DataError, match=r"\(N, 1, 8, 8\)"):
        check_network(net, nncore.CrossEntropyLoss(), np.zeros((2, 64)), [0, 1])
