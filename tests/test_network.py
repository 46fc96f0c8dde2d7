"""Network: forward/backward shapes and dtypes, input checking (DataError), weights in and out."""
import numpy as np
import pytest

from nncore import DataError, Network

MLP = {"input_shape": [1, 6, 6],
       "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 8}, {"type": "ReLU"},
                  {"type": "Dense", "units": 3}, {"type": "Softmax"}]}
CNN = {"input_shape": [2, 7, 7],
       "layers": [{"type": "Conv2D", "filters": 3, "padding": 1}, {"type": "BatchNorm"},
                  {"type": "ReLU"}, {"type": "MaxPool2D", "pool_size": 2},
                  {"type": "Dropout", "rate": 0.5}, {"type": "Flatten"},
                  {"type": "Dense", "units": 4}]}


@pytest.mark.parametrize("spec", [MLP, CNN], ids=["mlp", "cnn"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_backward_shapes_and_dtypes(spec, dtype):
    net = Network.from_spec(spec, seed=0, dtype=dtype)
    x = np.random.default_rng(1).standard_normal((5, *spec["input_shape"]))
    y = net.forward(x, training=True)
    assert y.shape == (5, *net.output_shape) and y.dtype == np.dtype(dtype)
    dx = net.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.dtype == np.dtype(dtype)
    for layer in net.layers:
        assert set(layer.params) == set(layer.grads)
        for k, p in layer.params.items():
            assert p.dtype == np.dtype(dtype) and layer.grads[k].shape == p.shape


def test_backward_overwrites_gradients():
    net = Network.from_spec(MLP, seed=0, dtype="float64")
    x = np.random.default_rng(1).standard_normal((4, 1, 6, 6))
    g = np.random.default_rng(2).standard_normal((4, 3))
    net.forward(x)
    net.backward(g)
    first = {k: v.copy() for k, v in net.gradients()}
    net.forward(x)
    net.backward(g)
    for k, v in net.gradients():
        assert np.array_equal(v, first[k])     # not doubled


def test_evaluation_mode_is_deterministic_and_training_mode_drops():
    net = Network.from_spec(CNN, seed=0)
    x = np.random.default_rng(1).standard_normal((4, 2, 7, 7)).astype(np.float32)
    assert np.array_equal(net.forward(x), net.forward(x))
    a, b = net.forward(x, training=True), net.forward(x, training=True)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("x,words", [
    (np.zeros((2, 36)), ["(N, 1, 6, 6)", "(2, 36)"]),
    (np.zeros((1, 6, 6)), ["(N, 1, 6, 6)", "(1, 6, 6)"]),
    (np.zeros((2, 3, 6, 6)), ["(N, 1, 6, 6)", "(2, 3, 6, 6)"]),
    (None, ["(N, 1, 6, 6)"]),
    ("image", ["(N, 1, 6, 6)"]),
    ([[[[1.0] * 6] * 6], [[[1.0] * 5] * 6]], ["(N, 1, 6, 6)", "different lengths"]),
    (np.full((2, 1, 6, 6), "a"), ["real numbers", "<U1"]),
    (np.zeros((2, 1, 6, 6), complex), ["real numbers", "complex"]),
    (np.zeros((2, 1, 6, 6), object), ["real numbers", "object"]),
    (np.full((2, 1, 6, 6), np.nan), ["NaN"]),
    (np.full((2, 1, 6, 6), -np.inf, np.float32), ["infinite"]),
    (np.full((2, 1, 6, 6), 1e300), ["too large for float32"]),
])
def test_bad_input_is_a_data_error_naming_expected_and_received(x, words):
    net = Network.from_spec(MLP)
    for call in (net.forward, net.predict, net.forward_all):
        with pytest.raises(DataError) as e:
            call(x)
        for w in words:
            assert w in str(e.value)


def test_integer_and_float64_input_are_accepted():
    net = Network.from_spec(MLP)
    x8 = np.random.default_rng(0).integers(0, 255, (3, 1, 6, 6), dtype=np.uint8)
    assert net.forward(x8).dtype == np.float32
    assert np.allclose(net.forward(x8.astype(np.float64)), net.forward(x8), rtol=0, atol=0)


def test_backward_with_wrong_gradient_shape_is_a_data_error():
    net = Network.from_spec(MLP)
    net.forward(np.zeros((2, 1, 6, 6)))
    with pytest.raises(DataError, match=r"\(N, 3\).*\(2, 4\)"):
        net.backward(np.zeros((2, 4)))
    with pytest.raises(DataError):
        net.backward(None)
    with pytest.raises(DataError):
        net.backward("grad")


def test_predict_in_batches_equals_forward_and_handles_empty_input():
    net = Network.from_spec(CNN, seed=2)
    x = np.random.default_rng(1).standard_normal((7, 2, 7, 7)).astype(np.float32)
    # (BLAS may round differently for a different batch size: equal to float32 precision)
    np.testing.assert_allclose(net.predict(x, batch_size=3), net.forward(x), rtol=1e-5,
                               atol=1e-6)
    assert net.predict(np.zeros((0, 2, 7, 7))).shape == (0, 4)


def test_weights_round_trip_and_are_copies():
    a = Network.from_spec(CNN, seed=1)
    b = Network.from_spec(CNN, seed=2)
    x = np.random.default_rng(1).standard_normal((3, 2, 7, 7)).astype(np.float32)
    a.forward(x, training=True)          # moves BatchNorm running statistics
    w = a.get_weights()
    assert {"0.W", "0.b", "1.gamma", "1.beta", "1.running_mean", "1.running_var", "6.W",
            "6.b"} == set(w)
    w["0.W"][...] = 0                     # a copy: the network is untouched
    assert np.abs(a.layers[0].params["W"]).sum() > 0
    b.set_weights(a.get_weights())
    assert np.array_equal(a.forward(x), b.forward(x))


def test_set_weights_refuses_missing_unexpected_and_misshapen_arrays():
    net = Network.from_spec(MLP)
    good = net.get_weights()
    before = net.get_weights()
    with pytest.raises(DataError, match="missing.*1.b"):
        net.set_weights({k: v for k, v in good.items() if k != "1.b"})
    with pytest.raises(DataError, match="unexpected.*9.W"):
        net.set_weights({**good, "9.W": np.zeros(3)})
    with pytest.raises(DataError, match=r"1.W: expected shape \(36, 8\), received \(8, 36\)"):
        net.set_weights({**good, "1.W": np.zeros((8, 36))})
    # a bad array after good ones: the good ones are not copied either
    changed = {k: v + 1 for k, v in good.items()}
    with pytest.raises(DataError, match="3.b"):
        net.set_weights({**changed, "3.b": np.zeros(4)})
    with pytest.raises(DataError, match="real numbers"):
        net.set_weights({**changed, "3.b": np.array(["a", "b", "c"])})
    with pytest.raises(DataError):
        net.set_weights([1, 2])
    # nothing was half-applied
    for k, v in net.get_weights().items():
        assert np.array_equal(v, before[k])


def test_rng_state_round_trip_reproduces_dropout_masks():
    net = Network.from_spec(CNN, seed=4)
    x = np.ones((2, 2, 7, 7), np.float32)
    state = net.rng_state()
    a = net.forward(x, training=True)
    net.set_rng_state(state)
    assert np.array_equal(a, net.forward(x, training=True))
