"""The training loop: one batch, one epoch, determinism, snapshot/restore, pausing, divergence and
bad data."""
import copy

import numpy as np
import pytest

from nncore import CrossEntropyLoss, DataError, MSELoss, Network
from nncore.optim import SGD, Adam
from nncore.train import Diverged, EpochEvent, Trainer

MLP = {"input_shape": [1, 6, 6], "layers": [
    {"type": "Flatten"}, {"type": "Dense", "units": 8}, {"type": "ReLU"},
    {"type": "Dense", "units": 3}, {"type": "Softmax"}]}
NOISY = {"input_shape": [1, 6, 6], "layers": [
    {"type": "Conv2D", "filters": 2}, {"type": "BatchNorm"}, {"type": "ReLU"},
    {"type": "Flatten"}, {"type": "Dropout", "rate": 0.4}, {"type": "Dense", "units": 3},
    {"type": "Softmax"}]}
SEED_MLP = {"input_shape": [1, 28, 28], "layers": [
    {"type": "Flatten"}, {"type": "Dense", "units": 128}, {"type": "ReLU"},
    {"type": "Dense", "units": 10}, {"type": "Softmax"}]}


def data(n=60, seed=0):
    """Small 3-class images whose class shows in the pixels."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(0, 0.5, (n, 1, 6, 6)).astype(np.float32)
    x[np.arange(n), 0, y * 2, :] += 1.5
    return x, y


def mnist_like(n=600, seed=0):
    """28x28 'digits': one random stroke template per class, plus noise, pixels in [0, 1]."""
    rng = np.random.default_rng(seed)
    templates = rng.random((10, 28, 28)) < 0.2
    y = np.arange(n) % 10
    x = templates[y] * rng.uniform(0.6, 1.0, (n, 28, 28)) + rng.normal(0, 0.1, (n, 28, 28))
    return x.clip(0, 1).astype(np.float32)[:, None], y


def trainer(spec=MLP, lr=0.1, seed=0, batch_size=16, opt=SGD, n=60, **kw):
    net = Network.from_spec(spec, seed=seed)
    x, y = data(n)
    return Trainer(net, CrossEntropyLoss(), opt(net, lr=lr), x, y, x[:30], y[:30],
                   batch_size=batch_size, seed=seed, **kw)


def weights(t):
    return t.net.get_weights()


def same_weights(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# ---- one batch, one epoch ------------------------------------------------------------------------
def test_step_batch_trains_exactly_one_batch():
    t = trainer()
    idx = t.order[:16].copy()
    # the same step by hand: forward, loss, backward, w = w - lr * dL/dw
    ref = Network.from_spec(MLP, seed=0)
    loss = CrossEntropyLoss()
    value = loss.forward(ref.forward(t.x_train[idx], training=True), t.y_train[idx])
    ref.backward(loss.backward())
    for layer in ref.layers:
        for k, p in layer.params.items():
            p -= np.float32(0.1) * layer.grads[k]

    ev = t.step_batch()
    assert (ev.step, ev.epoch, ev.batch, ev.batches_per_epoch) == (1, 0, 1, 4)
    assert (t.step, t.batch, t.epoch) == (1, 1, 0)
    assert ev.loss == value and ev.epoch_event is None
    assert len(t.history.batch_loss) == 1 and t.history.batch_loss[0] == value
    assert same_weights(weights(t), ref.get_weights())
    assert set(ev.grad_norms) == {1, 3} and all(v > 0 for v in ev.grad_norms.values())
    assert 0.0 <= ev.accuracy <= 1.0 and ev.samples_per_sec > 0 and ev.lr == 0.1


def test_run_epoch_runs_to_the_end():
    t = trainer()                        # 60 samples, batch 16: 16 + 16 + 16 + 12
    t.step_batch()
    seen = []
    ev = t.run_epoch(on_batch=seen.append)
    assert isinstance(ev, EpochEvent)
    assert [b.batch for b in seen] == [2, 3, 4] and seen[-1].epoch_event is ev
    assert (ev.epoch, ev.step, t.epoch, t.batch, t.step) == (1, 4, 1, 0, 4)
    losses = t.history.batch_loss
    assert ev.train_loss == pytest.approx((16 * sum(losses[:3]) + 12 * losses[3]) / 60)
    assert ev.val_loss is not None and 0 <= ev.val_accuracy <= 1
    assert ev.confusion.shape == (3, 3) and ev.confusion.sum() == 30
    assert t.history.epochs == [ev]
    assert t.good_state.step == 4        # the end of an epoch is a good state
    ev2 = t.run_epoch()
    assert (ev2.epoch, ev2.step) == (2, 8)


def test_training_learns():
    t = trainer(lr=0.5)
    first = t.evaluate(t.x_val, t.y_val).loss
    t.fit(10)
    assert t.history.epochs[-1].val_loss < first / 2
    assert t.history.epochs[-1].val_accuracy > 0.9


def test_same_seed_gives_bit_identical_training():
    a, b, c = (trainer(NOISY, seed=s, opt=Adam, lr=0.01) for s in (3, 3, 4))
    for t in (a, b, c):
        t.fit(2)
    assert a.history.batch_loss == b.history.batch_loss
    assert same_weights(weights(a), weights(b))
    assert not same_weights(weights(a), weights(c))


def test_batch_size_equal_to_data_and_uneven_last_batch():
    t = trainer(batch_size=60)
    assert t.batches_per_epoch == 1
    assert t.step_batch().epoch_event is not None
    t = trainer(batch_size=59)
    assert t.batches_per_epoch == 2
    t.step_batch()
    assert t.step_batch().epoch_event is not None


# ---- snapshot / restore ---------------------------------------------------------------------------
@pytest.mark.parametrize("opt", [SGD, Adam])
def test_rewind_then_replay_is_bit_identical_with_dropout_and_batchnorm(opt):
    t = trainer(NOISY, opt=opt, lr=0.05)
    for _ in range(2):
        t.step_batch()
    state = t.snapshot()
    run = [t.step_batch().loss for _ in range(7)]        # crosses the end of epoch 1
    after = weights(t)
    assert t.epoch == 2 and len(t.history.epochs) == 2
    t.restore(state)
    assert (t.epoch, t.batch, t.step) == (0, 2, 2)
    assert len(t.history.batch_loss) == 2 and t.history.epochs == []
    replay = [t.step_batch().loss for _ in range(7)]
    assert replay == run
    assert same_weights(weights(t), after)


def test_snapshot_is_a_copy():
    t = trainer(NOISY)
    state = t.snapshot()
    kept = copy.deepcopy(state)
    t.fit(1)
    assert same_weights(state.weights, kept.weights)
    assert np.array_equal(state.order, kept.order)


def test_restoring_an_earlier_state_drops_a_later_good_state():
    t = trainer(NOISY)
    t.step_batch()
    early = t.snapshot()
    t.fit(1)                                   # an epoch end: the good state moves there
    assert t.good_state.step > early.step
    t.restore(early)
    assert t.good_state is early               # not the epoch end that was undone
    t.fit(1)
    later = t.good_state
    t.restore(t.snapshot())                    # a state at or after the good one: kept
    assert t.good_state is later


# ---- pause / cancel --------------------------------------------------------------------------------
def test_should_stop_pauses_between_batches_and_resumes_exactly():
    a, b = trainer(NOISY), trainer(NOISY)
    calls = []

    def stop_after_two():
        calls.append(1)
        return len(calls) > 2
    assert a.run_epoch(should_stop=stop_after_two) is None
    assert (a.step, a.batch, a.epoch) == (2, 2, 0)
    assert a.run_epoch(should_stop=lambda: True) is None and a.step == 2
    ev = a.run_epoch()
    assert ev.epoch == 1 and a.step == 4
    b.run_epoch()
    assert a.history.batch_loss == b.history.batch_loss
    assert same_weights(weights(a), weights(b))


def test_fit_stops_when_asked():
    t = trainer()
    history = t.fit(5, should_stop=lambda: t.step >= 6)
    assert t.step == 6 and len(history.epochs) == 1


# ---- divergence ------------------------------------------------------------------------------------
def _state(t):
    return (weights(t), copy.deepcopy(t.optimizer.state_dict()), t.net.rng_state(),
            (t.epoch, t.batch, t.step), len(t.history.batch_loss), t.smoothed_loss,
            t.initial_loss)


def _assert_unchanged(t, before):
    w, opt, rng, pos, n, smoothed, initial = before
    w2, opt2, rng2, pos2, n2, smoothed2, initial2 = _state(t)
    assert all(np.array_equal(w[k], w2[k], equal_nan=True) for k in w)
    assert opt["t"] == opt2["t"] and all(np.array_equal(opt["buffers"][k], opt2["buffers"][k])
                                         for k in opt["buffers"])
    assert (rng, pos, n, smoothed, initial) == (rng2, pos2, n2, smoothed2, initial2)


def test_non_finite_loss_raises_diverged_and_changes_nothing():
    t = trainer(NOISY, opt=Adam, lr=0.01)
    t.run_epoch()
    t.step_batch()
    t.net.layers[0].params["W"][...] = 3e38       # the next forward pass overflows
    before = _state(t)
    with pytest.raises(Diverged) as e:
        t.step_batch()
    assert "the loss became nan at step 6" in str(e.value) and "smaller learning rate" in str(e.value)
    assert e.value.step == 6
    _assert_unchanged(t, before)       # incl. BatchNorm running statistics and Dropout's RNG
    with pytest.raises(Diverged) as again:   # nothing moved on: the same batch fails the same
        t.step_batch()
    assert str(again.value) == str(e.value)
    _assert_unchanged(t, before)
    assert t.good_state.step == 4      # the end of the last complete epoch
    t.restore(t.good_state)
    assert np.isfinite(t.step_batch().loss)


def test_non_finite_gradient_raises_diverged():
    t = trainer(MLP)
    t.net.layers[3].params["W"][...] = 1e30      # finite loss (clipped), overflowing gradient
    before = _state(t)
    with pytest.raises(Diverged) as e:
        t.step_batch()
    # the first Dense (layer 2, counted from 1 as the app's cards count) gets the overflow
    assert str(e.value).startswith("the gradient of layer 2 (Dense) became infinite at step 1")
    _assert_unchanged(t, before)


def test_learning_rate_50_on_mnist_like_data_is_caught_as_divergence():
    """What happens numerically: with Softmax + cross-entropy the loss cannot become infinite
    here (probabilities are clipped at float32's tiny, so each sample's loss is at most ~87.3).
    With lr=50, SGD's first update throws the network to a saturated state: batch losses go
    2.35 -> ~75 (about 85% of samples at the cap), never NaN. The smoothed loss (0.8 / 0.2)
    passes 10 x the first loss on step 3, which raises Diverged before that update."""
    x, y = mnist_like()
    net = Network.from_spec(SEED_MLP, seed=0)
    t = Trainer(net, CrossEntropyLoss(), SGD(net, lr=50.0), x, y, batch_size=64)
    losses = []
    with pytest.raises(Diverged) as e:
        for _ in range(20):
            before = _state(t)
            losses.append(t.step_batch().loss)
    _assert_unchanged(t, before)           # the step that diverged was not applied
    assert "exploded" in str(e.value) and "smaller learning rate" in str(e.value)
    assert e.value.step == 3 and len(losses) == 2
    assert losses[0] == pytest.approx(np.log(10), rel=0.05)
    assert 50 < losses[1] < 87.4 and 50 < e.value.loss < 87.4
    assert all(np.isfinite(p).all() for _, p in t.net.parameters())


def test_lower_learning_rates_do_not_diverge():
    x, y = mnist_like()
    net = Network.from_spec(SEED_MLP, seed=0)
    t = Trainer(net, CrossEntropyLoss(), SGD(net, lr=0.5), x, y, batch_size=64)
    t.fit(1)                      # 2.34 -> 0.86 -> 0.15 -> ... -> 0.015
    assert t.history.batch_loss[-1] < 0.1


def test_exploding_loss_with_logits():
    spec = dict(SEED_MLP, layers=SEED_MLP["layers"][:-1])
    x, y = mnist_like()
    net = Network.from_spec(spec, seed=0)
    t = Trainer(net, CrossEntropyLoss(from_logits=True), SGD(net, lr=50.0), x, y,
                batch_size=64)
    with pytest.raises(Diverged):
        for _ in range(20):
            t.step_batch()
    assert t.step < 5


def test_trained_network_with_harder_later_batches_is_not_called_divergent():
    """Starting near 0 (a trained network), harder batches later are no explosion: the
    reference is never below the loss of guessing (ln 3 here)."""
    t = trainer(lr=0.5)
    t.fit(15)
    x, y = data()
    y = y.copy()
    y[20::3] = (y[20::3] + 1) % 3                 # later batches: a third mislabelled
    t2 = Trainer(t.net, CrossEntropyLoss(), SGD(t.net, lr=0.01), x, y, batch_size=10,
                 shuffle=False)
    losses = [t2.step_batch().loss for _ in range(6)]
    assert losses[0] < 0.1 and max(losses) > 10 * losses[0]


def test_mse_divergence_is_caught():
    net = Network.from_spec({"input_shape": [4], "layers": [{"type": "Dense", "units": 2}]})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype(np.float32) * 10
    y = rng.standard_normal((32, 2)).astype(np.float32)
    t = Trainer(net, MSELoss(), SGD(net, lr=5.0), x, y, batch_size=8)
    with pytest.raises(Diverged):
        for _ in range(50):
            t.step_batch()


# ---- bad data ----------------------------------------------------------------------------------------
def _make(x, y, xv=None, yv=None, batch_size=16, spec=MLP):
    net = Network.from_spec(spec)
    return Trainer(net, CrossEntropyLoss(), SGD(net, lr=0.1), x, y, xv, yv,
                   batch_size=batch_size)


X, Y = data()


@pytest.mark.parametrize("args,words", [
    ((X[:, :, :5], Y), ["(N, 1, 6, 6)", "(60, 1, 5, 6)"]),
    ((X.reshape(60, 36), Y), ["(N, 1, 6, 6)", "(60, 36)"]),
    ((X, Y + 1), ["0..2", "received 3"]),
    ((X, Y - 1), ["0..2", "received -1"]),
    ((X, Y + 0.5), ["whole numbers"]),
    ((X, Y[:50]), ["60 images but 50 labels"]),
    ((X, None), ["no labels"]),
    ((np.where(np.arange(60)[:, None, None, None] == 7, np.nan, X), Y), ["NaN"]),
    ((np.where(np.arange(60)[:, None, None, None] == 7, np.inf, X), Y), ["infinite"]),
    ((X, np.eye(4)[Y]), ["3 columns", "(60, 4)"]),
    ((X, Y, X[:10], Y[:9]), ["validation set has 10 images but 9 labels"]),
    ((X, Y, X[:10], Y[:10] + 5), ["0..2"]),
    ((X[:0], Y[:0]), ["empty"]),
])
def test_bad_data_is_a_data_error(args, words):
    with pytest.raises(DataError) as e:
        _make(*args)
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("batch_size,words", [
    (61, ["batch size 61 is larger than the training set (60 samples)"]),
    (0, ["batch size must be an integer >= 1, received 0"]),
    (2.5, ["received 2.5"]),
    ("16", ["received '16'"]),
])
def test_bad_batch_size(batch_size, words):
    with pytest.raises(DataError) as e:
        _make(X, Y, batch_size=batch_size)
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("last", [[], [{"type": "Sigmoid"}], [{"type": "Softmax"},
                                                             {"type": "Dropout"}]])
def test_cross_entropy_on_outputs_that_are_not_probabilities(last):
    """A learner who removes the Softmax gets told, instead of a loss stuck near 87 (negative
    outputs clipped) or one that reaches 0 by pushing every sigmoid output to 1."""
    spec = {"input_shape": [1, 6, 6], "layers": [
        {"type": "Flatten"}, {"type": "Dense", "units": 4}, {"type": "BatchNorm"},
        {"type": "Dense", "units": 3}] + last}
    t = _make(X, Y, spec=spec)
    before = _state(t)
    with pytest.raises(DataError) as e:
        t.step_batch()
    assert "expects probabilities" in str(e.value) and "Softmax" in str(e.value)
    assert "from_logits=True" in str(e.value)
    _assert_unchanged(t, before)      # BatchNorm statistics untouched


def test_one_hot_labels_train_like_indices():
    a = _make(X, Y)
    b = _make(X, np.eye(3, dtype=np.float32)[Y])
    for _ in range(3):
        assert a.step_batch().loss == pytest.approx(b.step_batch().loss, rel=1e-6)
