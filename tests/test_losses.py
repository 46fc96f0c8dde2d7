"""Losses: every loss passes a float64 central-difference gradient check through one
parametrised test (cross-entropy on probabilities and on logits, with class indices, one-hot and
soft targets; mean squared error), plus values, clipping and the errors for bad targets."""
import numpy as np
import pytest

import nncore
from nncore import CrossEntropyLoss, DataError, MSELoss
from nncore.layers.activations import softmax
from tests.test_gradcheck import assert_gradients_pass

N, K = 5, 4


def _probabilities(rng):
    return softmax(rng.standard_normal((N, K)))


def _one_hot(rng):
    return np.eye(K)[rng.integers(0, K, N)]


def _soft(rng):
    return softmax(rng.standard_normal((N, K)) * 2)       # rows sum to 1, as label smoothing


# (id, loss, output maker, target maker)
CASES = [
    ("ce-probabilities-int", CrossEntropyLoss(), _probabilities, lambda r: r.integers(0, K, N)),
    ("ce-probabilities-onehot", CrossEntropyLoss(), _probabilities, _one_hot),
    ("ce-probabilities-soft", CrossEntropyLoss(), _probabilities, _soft),
    ("ce-logits-int", CrossEntropyLoss(from_logits=True),
     lambda r: r.standard_normal((N, K)) * 3, lambda r: r.integers(0, K, N)),
    ("ce-logits-onehot", CrossEntropyLoss(from_logits=True),
     lambda r: r.standard_normal((N, K)) * 3, _one_hot),
    ("ce-logits-soft", CrossEntropyLoss(from_logits=True),
     lambda r: r.standard_normal((N, K)) * 3, _soft),
    ("ce-logits-int-large", CrossEntropyLoss(from_logits=True),
     lambda r: r.standard_normal((N, K)) * 40, lambda r: r.integers(0, K, N)),
    ("mse", MSELoss(), lambda r: r.standard_normal((N, K)), lambda r: r.standard_normal((N, K))),
    ("mse-int-targets", MSELoss(), lambda r: r.standard_normal((N, K)),
     lambda r: r.integers(0, K, N)),
    ("mse-images", MSELoss(), lambda r: r.standard_normal((N, 2, 3, 3)),
     lambda r: r.standard_normal((N, 2, 3, 3))),
]


@pytest.mark.parametrize("loss,make_output,make_target", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_loss_gradients(loss, make_output, make_target):
    rng = np.random.default_rng(0)
    output, target = make_output(rng), make_target(rng)
    value = loss.forward(output, target)
    assert isinstance(value, float) and np.isfinite(value)
    analytic = loss.backward()
    assert analytic.shape == output.shape and analytic.dtype == np.float64
    results = nncore.gradcheck(lambda out: loss.forward(out, target), output, analytic)
    assert_gradients_pass(results)


def test_loss_values_by_hand():
    p = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    y = np.array([0, 2])
    assert CrossEntropyLoss().forward(p, y) == pytest.approx(-(np.log(0.7) + np.log(0.5)) / 2)
    assert CrossEntropyLoss().forward(p, np.eye(3)[y]) == pytest.approx(
        CrossEntropyLoss().forward(p, y))
    z = np.log(p) + 3.0                        # logits whose softmax is p
    assert CrossEntropyLoss(from_logits=True).forward(z, y) == pytest.approx(
        CrossEntropyLoss().forward(p, y))
    out, t = np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([[0.0, 0.0], [0.5, 0.0]])
    assert MSELoss().forward(out, t) == pytest.approx((1 + 1 + 0 + 4) / 4)


def test_softmax_layer_then_cross_entropy_equals_cross_entropy_on_logits():
    """The explicit way (Softmax layer, then cross-entropy on probabilities) gives the same
    gradient at the scores as the fused one: (softmax(z) − Y) / N."""
    rng = np.random.default_rng(1)
    z, y = rng.standard_normal((N, K)), rng.integers(0, K, N)
    layer = nncore.layers.Softmax()
    layer.build((K,), rng, np.float64)
    explicit = CrossEntropyLoss()
    explicit.forward(layer.forward(z), y)
    via_softmax = layer.backward(explicit.backward())
    fused = CrossEntropyLoss(from_logits=True)
    fused.forward(z, y)
    expected = (softmax(z) - np.eye(K)[y]) / N
    np.testing.assert_allclose(via_softmax, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fused.backward(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_zero_probability_is_clipped_to_tiny(dtype):
    """log 0 would be −inf: probabilities are clipped from below to the smallest normal number
    of their dtype, so one sample's loss is at most −log(tiny), and the clipped entry gets no
    gradient."""
    p = np.array([[0.0, 1.0], [0.5, 0.5]], dtype=dtype)
    loss = CrossEntropyLoss()
    value = loss.forward(p, [0, 1])
    tiny = np.finfo(dtype).tiny
    assert value == pytest.approx((-np.log(tiny) - np.log(0.5)) / 2, rel=1e-6)
    grad = loss.backward()
    assert grad.dtype == dtype and np.all(np.isfinite(grad))
    assert grad[0, 0] == 0 and grad[1, 1] == pytest.approx(-1 / (2 * 0.5))


def test_float32_in_float32_out():
    rng = np.random.default_rng(2)
    for loss, out in [(CrossEntropyLoss(), _probabilities(rng)),
                      (CrossEntropyLoss(from_logits=True), rng.standard_normal((N, K))),
                      (MSELoss(), rng.standard_normal((N, K)))]:
        loss.forward(out.astype(np.float32), rng.integers(0, K, N))
        assert loss.backward().dtype == np.float32


@pytest.mark.parametrize("loss", [CrossEntropyLoss(), CrossEntropyLoss(from_logits=True),
                                  MSELoss()], ids=["ce", "ce-logits", "mse"])
@pytest.mark.parametrize("target,words", [
    ([0, 1, 4], ["0..3", "4"]),
    ([0, -1, 2], ["0..3", "-1"]),
    ([0, 1], ["2", "3"]),
    (np.eye(5)[:3], ["4", "(3, 5)"]),
], ids=["too-large", "negative", "count", "one-hot-width"])
def test_bad_targets_raise_data_error(loss, target, words):
    out = softmax(np.random.default_rng(3).standard_normal((3, 4)))
    with pytest.raises(DataError) as info:
        loss.forward(out, target)
    for w in words:
        assert w in str(info.value)


def test_fractional_class_indices_are_refused():
    with pytest.raises(DataError, match="whole numbers"):
        CrossEntropyLoss().forward(np.full((2, 3), 1 / 3), np.array([0.5, 1.0]))


def test_target_rows_that_do_not_sum_to_one():
    """Cross-entropy on logits with target rows that are not distributions (PyTorch accepts
    them): the gradient is softmax(z)·Σy − y, not softmax(z) − y."""
    rng = np.random.default_rng(4)
    z, t = rng.standard_normal((4, 3)), rng.uniform(0, 2, (4, 3))
    for loss, out in [(CrossEntropyLoss(from_logits=True), z), (CrossEntropyLoss(), softmax(z))]:
        loss.forward(out, t)
        assert_gradients_pass(nncore.gradcheck(lambda o: loss.forward(o, t), out,
                                               loss.backward()))
