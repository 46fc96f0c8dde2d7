"""Every layer and activation passes a float64 central-difference gradient check (relative error
below 1e-6), through one parametrised test: stride and padding variants, odd sizes, overlapping
and non-overlapping pools, BatchNorm in training and evaluation mode, Dropout with a fixed mask.

Inputs are chosen away from kinks (no value near 0, no two values equal), and the checks run in
both training and evaluation mode. See nncore/gradcheck.py for how the error is measured.
"""
import numpy as np
import pytest

import nncore
from nncore import Network
from nncore.gradcheck import check_layer, check_network
from nncore.layers import activations as act
from nncore.registry import LAYERS
from tests.test_gradcheck import assert_gradients_pass, kink_free


def conv(filters, kernel_size, **kw):
    return {"type": "Conv2D", "filters": filters, "kernel_size": kernel_size, **kw}


def pool(kind, pool_size, stride=None):
    return {"type": kind, "pool_size": pool_size, "stride": stride}


# (id, spec entry, input shape without the batch axis)
CASES = [
    ("dense", {"type": "Dense", "units": 3}, (5,)),
    ("dense-no-bias", {"type": "Dense", "units": 4, "use_bias": False}, (3,)),
    ("dense-1x1", {"type": "Dense", "units": 1}, (1,)),
    ("conv-3x3-valid", conv(3, 3), (2, 6, 5)),
    ("conv-3x3-same", conv(2, 3, padding="same"), (2, 5, 5)),
    ("conv-2x4-same-asymmetric", conv(2, [2, 4], padding="same"), (2, 5, 6)),
    ("conv-2x2-same-asymmetric", conv(3, 2, padding="same"), (1, 4, 5)),
    ("conv-stride2-pad1", conv(3, 3, stride=2, padding=1), (2, 7, 6)),
    ("conv-3x2-stride2x1-pad1x0", conv(2, [3, 2], stride=[2, 1], padding=[1, 0]), (3, 7, 5)),
    ("conv-1x1", conv(2, 1), (3, 4, 4)),
    ("conv-kernel-is-input", conv(2, [3, 4]), (2, 3, 4)),
    ("conv-stride3-floor", conv(2, 2, stride=3), (1, 8, 7)),
    ("conv-5x5-stride2-pad2-odd", conv(2, 5, stride=2, padding=2), (1, 7, 9)),
    ("conv-valid-no-bias", conv(2, 3, padding="valid", use_bias=False), (2, 5, 4)),
    ("maxpool-2", pool("MaxPool2D", 2), (2, 4, 6)),
    ("maxpool-2-odd-floor", pool("MaxPool2D", 2), (2, 5, 7)),
    ("maxpool-3-stride2-overlap", pool("MaxPool2D", 3, 2), (2, 7, 7)),
    ("maxpool-2x3-stride1-overlap", pool("MaxPool2D", [2, 3], 1), (1, 5, 6)),
    ("maxpool-3x2-stride1x2", pool("MaxPool2D", [3, 2], [1, 2]), (2, 5, 6)),
    ("maxpool-2-stride3-gaps", pool("MaxPool2D", 2, 3), (1, 8, 8)),
    ("avgpool-2", pool("AvgPool2D", 2), (2, 4, 6)),
    ("avgpool-2-odd-floor", pool("AvgPool2D", 2), (2, 5, 7)),
    ("avgpool-3-stride2-overlap", pool("AvgPool2D", 3, 2), (2, 7, 7)),
    ("avgpool-2x3-stride1-overlap", pool("AvgPool2D", [2, 3], 1), (1, 5, 6)),
    ("avgpool-3x2-stride1x2", pool("AvgPool2D", [3, 2], [1, 2]), (2, 5, 6)),
    ("avgpool-2-stride3-gaps", pool("AvgPool2D", 2, 3), (1, 8, 8)),
    ("flatten", {"type": "Flatten"}, (2, 3, 3)),
    ("dropout", {"type": "Dropout", "rate": 0.3}, (12,)),
    ("dropout-image", {"type": "Dropout", "rate": 0.5}, (2, 3, 3)),
    ("dropout-0", {"type": "Dropout", "rate": 0.0}, (5,)),
    ("batchnorm-features", {"type": "BatchNorm"}, (4,)),
    ("batchnorm-features-eps-momentum", {"type": "BatchNorm", "momentum": 0.5, "eps": 0.1}, (3,)),
    ("batchnorm-image", {"type": "BatchNorm"}, (3, 4, 5)),
    ("relu", {"type": "ReLU"}, (7,)),
    ("leaky-relu", {"type": "LeakyReLU"}, (7,)),
    ("leaky-relu-0.3", {"type": "LeakyReLU", "alpha": 0.3}, (2, 3, 3)),
    ("elu", {"type": "ELU"}, (7,)),
    ("elu-0.5", {"type": "ELU", "alpha": 0.5}, (2, 3, 3)),
    ("sigmoid", {"type": "Sigmoid"}, (7,)),
    ("tanh", {"type": "Tanh"}, (7,)),
    ("gelu", {"type": "GELU"}, (7,)),
    ("gelu-image", {"type": "GELU"}, (2, 3, 3)),
    ("softmax", {"type": "Softmax"}, (7,)),
    ("softmax-2", {"type": "Softmax"}, (2,)),
    ("identity", {"type": "Identity"}, (7,)),
]


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("config,input_shape", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_layer_gradients(config, input_shape, training):
    rng = np.random.default_rng(0)
    x = kink_free(rng, (3,) + tuple(input_shape))
    results = check_layer(config, input_shape, x=x, training=training)
    assert_gradients_pass(results)
    assert [r.param for r in results][0] == "input"


@pytest.mark.parametrize("name", ["Sigmoid", "Tanh", "GELU", "ELU", "Softmax"])
def test_saturated_activations(name):
    """Far from 0 the curves flatten: gradients get tiny and must still be right."""
    x = kink_free(np.random.default_rng(1), (4, 6), low=2.0, high=12.0)
    assert_gradients_pass(check_layer({"type": name}, (6,), x=x))


def test_every_registered_layer_has_a_gradient_case():
    built_in = set(nncore.layers.__all__) - {"Layer", "Activation"}
    assert built_in <= {c[1]["type"] for c in CASES}


def test_batchnorm_in_evaluation_mode_uses_running_statistics():
    for shape in [(4,), (3, 2, 3)]:
        layer = LAYERS["BatchNorm"](eps=1e-3)
        layer.build(shape, np.random.default_rng(0), np.float64)
        rng = np.random.default_rng(1)
        layer.running_mean[:] = rng.normal(0, 1, shape[0])
        layer.running_var[:] = rng.uniform(0.2, 3.0, shape[0])
        layer.params["gamma"][:] = rng.uniform(-2, 2, shape[0])
        layer.params["beta"][:] = rng.normal(0, 1, shape[0])
        x = kink_free(rng, (2,) + shape)
        assert_gradients_pass(check_layer(layer, shape, x=x, training=False))
        # Evaluation: a per-channel affine map of x, independent of the rest of the batch.
        alone = layer.forward(x[:1], training=False)
        assert np.allclose(alone, layer.forward(x, training=False)[:1], rtol=1e-14)


# BatchNorm after Dense and after Conv2D, inside a network, in both modes.
BN_NETWORKS = {
    "dense-batchnorm": {"input_shape": [5], "layers": [
        {"type": "Dense", "units": 6}, {"type": "BatchNorm"}, {"type": "Tanh"},
        {"type": "Dense", "units": 3}]},
    "conv-batchnorm": {"input_shape": [2, 6, 5], "layers": [
        conv(3, 3, padding=1), {"type": "BatchNorm"}, {"type": "ELU"},
        pool("AvgPool2D", 2), {"type": "Flatten"}, {"type": "Dense", "units": 3},
        {"type": "Softmax"}]},
}


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", list(BN_NETWORKS))
def test_batchnorm_after_dense_and_conv_in_a_network(name, training):
    spec = BN_NETWORKS[name]
    net = Network.from_spec(spec, seed=2, dtype="float64")
    rng = np.random.default_rng(3)
    for i, layer in enumerate(net.layers):
        if type(layer).__name__ == "BatchNorm":
            c = layer.params["gamma"].shape
            layer.params["gamma"][:] = rng.uniform(0.5, 2.0, c)
            layer.params["beta"][:] = rng.normal(0, 0.5, c)
            layer.running_mean[:] = rng.normal(0, 0.5, c)
            layer.running_var[:] = rng.uniform(0.5, 2.0, c)
    x = rng.standard_normal((4, *spec["input_shape"]))
    y = rng.integers(0, 3, 4)
    results = check_network(net, nncore.CrossEntropyLoss(), x, y, training=training,
                            max_coords=None)
    assert_gradients_pass(results)
    assert {"gamma", "beta"} <= {r.param for r in results}


# ---- activations as plain functions with their derivatives ---------------------------------------
PAIRS = [
    ("relu", act.relu, act.relu_derivative),
    ("leaky_relu", lambda x: act.leaky_relu(x, 0.2), lambda x: act.leaky_relu_derivative(x, 0.2)),
    ("elu", lambda x: act.elu(x, 0.7), lambda x: act.elu_derivative(x, 0.7)),
    ("sigmoid", act.sigmoid, act.sigmoid_derivative),
    ("tanh", act.tanh, act.tanh_derivative),
    ("gelu", act.gelu, act.gelu_derivative),
]


@pytest.mark.parametrize("name,f,df", PAIRS, ids=[p[0] for p in PAIRS])
def test_plain_activation_functions_and_derivatives(name, f, df):
    rng = np.random.default_rng(4)
    x = kink_free(rng, (5, 6), high=4.0)
    r = rng.standard_normal(x.shape)
    [result] = nncore.gradcheck(lambda x: float(np.sum(r * f(x))), x, r * df(x))
    assert result.passed, result
    assert f(x.astype(np.float32)).dtype == np.float32
    assert df(x.astype(np.float32)).dtype == np.float32


def test_softmax_function_and_its_vector_jacobian_product():
    rng = np.random.default_rng(5)
    x, g = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    p = act.softmax(x)
    assert np.allclose(p.sum(axis=1), 1.0) and np.all(p > 0)
    assert np.allclose(act.softmax(x + 1000.0), p)           # shifted by the max: no overflow
    [result] = nncore.gradcheck(lambda x: float(np.sum(g * act.softmax(x))), x,
                                act.softmax_backward(p, g))
    assert result.passed


# ---- beyond the gradients: dtypes and the weights-only backward -------------------------------
@pytest.mark.parametrize("config,input_shape", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_float32_stays_float32_and_backward_params_matches_backward(config, input_shape):
    layer = LAYERS[config["type"]](**{k: v for k, v in config.items() if k != "type"})
    layer.build(input_shape, np.random.default_rng(0), np.float32)
    x = np.random.default_rng(1).standard_normal((3,) + tuple(input_shape)).astype(np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32 and y.shape == (3,) + tuple(layer.output_shape)
    g = np.random.default_rng(2).standard_normal(y.shape).astype(np.float32)
    state = layer.rng.bit_generator.state
    dx = layer.backward(g)
    assert dx.dtype == np.float32 and dx.shape == x.shape
    full = {k: v.copy() for k, v in layer.grads.items()}
    assert all(v.dtype == np.float32 for v in full.values())
    layer.rng.bit_generator.state = state      # the same Dropout mask again
    layer.forward(x, training=True)
    for v in layer.grads.values():
        v[...] = np.nan
    layer.backward_params(g)
    for k, v in full.items():
        np.testing.assert_array_equal(layer.grads[k], v)


@pytest.mark.parametrize("stride", [2, 1], ids=["separate", "overlapping"])
def test_max_pool_sends_a_tied_window_gradient_to_its_first_maximum(stride):
    """A blank background is all ties: PyTorch routes each window's gradient to its first
    (row-major) maximum, never to every maximum. Overlapping windows add up."""
    layer = LAYERS["MaxPool2D"](pool_size=2, stride=stride)
    layer.build((1, 4, 4), np.random.default_rng(0), np.float64)
    x = np.zeros((1, 1, 4, 4))
    y = layer.forward(x)
    g = np.arange(1.0, y.size + 1).reshape(y.shape)
    dx = layer.backward(g)
    expected = np.zeros_like(x)
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            expected[0, 0, i * stride, j * stride] += g[0, 0, i, j]
    np.testing.assert_array_equal(dx, expected)
    assert dx.sum() == g.sum()


# ---- results handed out are never overwritten while someone holds them -----------------------
@pytest.mark.parametrize("config,input_shape", [
    (conv(3, 3, padding=1), (2, 6, 6)), ({"type": "ReLU"}, (2, 6, 6)),
    (pool("MaxPool2D", 2), (2, 6, 6)), (pool("AvgPool2D", 3, 1), (2, 6, 6)),
    ({"type": "Flatten"}, (2, 6, 6))], ids=["conv", "relu", "maxpool", "avgpool", "flatten"])
def test_kept_outputs_and_gradients_survive_later_calls(config, input_shape):
    """Layers reuse the arrays of earlier calls (Layer.recycled) only when nothing else holds
    them: results (and views of them) that a caller keeps keep their values."""
    layer = LAYERS[config["type"]](**{k: v for k, v in config.items() if k != "type"})
    layer.build(input_shape, np.random.default_rng(0), np.float32)
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((4,) + input_shape).astype(np.float32) for _ in range(4)]
    kept = []
    for x in xs:                  # keep every output and gradient (a view of some of them)
        y = layer.forward(x, training=True)
        dx = layer.backward(np.ones_like(y))
        kept.append((y.copy(), y[1:], dx.copy(), dx[:, :1]))
    for y_copy, y_view, dx_copy, dx_view in kept:
        np.testing.assert_array_equal(y_view, y_copy[1:])
        np.testing.assert_array_equal(dx_view, dx_copy[:, :1])


def test_a_released_result_array_is_handed_out_again():
    layer = LAYERS["ReLU"]()
    like = np.zeros((3, 5), np.float32)
    a = layer.recycled("y", like)
    b = layer.recycled("y", like)
    assert a is not b                       # a is held here: never handed out twice
    b_id, view = id(b), b[1:]
    del b
    c = layer.recycled("y", like)           # a held here, b by its view: a new one
    assert c is not a and c is not view.base and c.shape == (3, 5)
    del view
    assert id(layer.recycled("y", like)) == b_id
    assert layer.recycled("z", (2, 4), np.float64).dtype == np.float64
    # outside training (keep=False): always a new array, and none is kept
    a = layer.recycled("e", like, keep=False)
    assert a.shape == (3, 5) and layer.recycled("e", like, keep=False) is not a
    assert "e" not in layer._recycled
