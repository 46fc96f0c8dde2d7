"""Bounded plot histories (app.history): exact while there is room, flat memory after."""
from __future__ import annotations

import numpy as np
import pytest

from app.history import RunHistory, Series
from nncore.train import BatchEvent, EpochEvent


def test_a_series_keeps_every_point_until_full_then_merges_pairs():
    s = Series(capacity=8)
    for i in range(8):
        s.append(i, 10 * i)
    assert s.x.tolist() == list(range(8))
    s.append(8, 80)              # full: the 8 points become 4 of stride 2, then one more
    assert s.stride == 2 and s.n == 4
    assert s.x.tolist() == [0.5, 2.5, 4.5, 6.5, 8.0]          # 8.0: a provisional point
    s.append(9, 90)                                           # its group is complete
    assert s.n == 5 and s.x.tolist() == [0.5, 2.5, 4.5, 6.5, 8.5]
    assert s.y.tolist() == [5.0, 25.0, 45.0, 65.0, 85.0]


def test_a_long_run_stays_within_capacity_and_keeps_its_shape():
    s = Series(capacity=1000)
    x = np.arange(1, 1_000_001)
    y = 1.0 / np.sqrt(x)
    s.extend(x, y)
    assert len(s) <= 1001 and s._x.nbytes == 8008
    assert s.stride == 1024 and s.x[0] == (1 + 1024) / 2      # even resolution from the start
    assert s.x[-1] > 999_000                                  # ... to the end
    assert np.all(np.diff(s.x) > 0)
    # the same curve (the first group averages the steep start, so it sits a little higher)
    np.testing.assert_allclose(s.y[1:], 1.0 / np.sqrt(s.x[1:]), rtol=0.02)


def test_truncate_drops_points_after_a_step():
    s = Series(capacity=8)
    s.extend(range(1, 7), range(1, 7))
    s.truncate(3)
    assert s.x.tolist() == [1, 2, 3]


def test_capacity_must_be_even_and_at_least_four():
    with pytest.raises(ValueError):
        Series(capacity=5)


def _batch(step, loss, norms=None):
    return BatchEvent(step=step, epoch=0, batch=step, batches_per_epoch=100, loss=loss,
                      accuracy=0.5, samples_per_sec=1.0, lr=0.1, grad_norms=norms or {1: 2.0})


def test_run_history_rewinds_and_round_trips_through_arrays():
    h = RunHistory(capacity=64)
    for step in range(1, 11):
        h.add_batch(_batch(step, 1.0 / step))
    h.add_epoch(EpochEvent(epoch=1, step=10, train_loss=0.3, train_accuracy=0.9, val_loss=0.4,
                           val_accuracy=0.88, seconds=1.0, samples_per_sec=10.0))
    smooth_at_7 = h["loss_smooth"].y[6]
    h.truncate(6, 0)
    assert len(h["loss"]) == 6 and len(h["val_loss"]) == 0 and len(h.grad_norms[1]) == 6
    h.add_batch(_batch(7, 1.0 / 7))
    assert h["loss_smooth"].y[-1] == pytest.approx(smooth_at_7, rel=1e-12)   # as before
    back = RunHistory.from_arrays(h.to_arrays(), steps=7, epochs=0, capacity=64)
    for name in h.curves:
        np.testing.assert_array_equal(back[name].to_array(), h[name].to_array())
    np.testing.assert_array_equal(back.grad_norms[1].to_array(), h.grad_norms[1].to_array())


def test_the_smoothed_loss_follows_about_one_epoch_on_short_epochs():
    """Tester 3: 16-batch epochs, loss falling from 3.5 to 0.5 — the smoothed curve ended at
    1.1 with a fixed weight of 0.05; it follows about one epoch now."""
    def run(batches_per_epoch, steps=48):
        h = RunHistory(capacity=256)
        loss = np.linspace(3.5, 0.5, steps)
        for step in range(1, steps + 1):
            h.add_batch(BatchEvent(step=step, epoch=(step - 1) // batches_per_epoch,
                                   batch=(step - 1) % batches_per_epoch + 1,
                                   batches_per_epoch=batches_per_epoch,
                                   loss=float(loss[step - 1]), accuracy=0.5,
                                   samples_per_sec=1.0, lr=0.1, grad_norms={}))
        return h
    short = run(16)
    assert short.smoothing(16) == pytest.approx(2 / 17)
    last_epoch_mean = np.linspace(3.5, 0.5, 48)[-16:].mean()
    assert abs(short["loss_smooth"].y[-1] - last_epoch_mean) < 0.25
    # full MNIST (938 batches): the usual 0.05
    assert run(938).smoothing(938) == RunHistory.SMOOTHING == 0.05
    # the throttled path (several events at once) computes the same curve
    batched = RunHistory(capacity=256)
    events = [BatchEvent(step=s, epoch=0, batch=s, batches_per_epoch=16, loss=float(v),
                         accuracy=0.5, samples_per_sec=1.0, lr=0.1, grad_norms={})
              for s, v in zip(range(1, 49), np.linspace(3.5, 0.5, 48))]
    for i in range(0, 48, 5):
        batched.add_batches(events[i:i + 5])
    np.testing.assert_allclose(batched["loss_smooth"].y, short["loss_smooth"].y)


def test_the_smoothed_loss_is_a_weighted_average_of_the_losses_so_far():
    """Tester 7: 32-batch epochs, loss 3.45 at first, 0.55-1.35 over the last batches; the
    average started at the first loss, which stood for all the batches before it, and held
    the curve above every recent point. Now the weights of the points seen sum to 1."""
    h = RunHistory(capacity=256)
    rng = np.random.default_rng(0)
    losses = np.r_[3.45, np.linspace(2.5, 0.9, 16), rng.uniform(0.55, 1.35, 15)]
    for step, v in enumerate(losses, 1):
        h.add_batch(BatchEvent(step=step, epoch=0, batch=step, batches_per_epoch=32,
                               loss=float(v), accuracy=0.5, samples_per_sec=1.0, lr=0.1,
                               grad_norms={}))
    a = h.smoothing(32)
    w = a * (1 - a) ** np.arange(len(losses))[::-1]
    assert h["loss_smooth"].y[-1] == pytest.approx((w * losses).sum() / w.sum())
    assert h["loss_smooth"].y[0] == losses[0]
    assert h["loss_smooth"].y[-1] < 1.35                    # within the recent losses
    h.add_batch(BatchEvent(step=33, epoch=1, batch=1, batches_per_epoch=32, loss=float("nan"),
                           accuracy=0.5, samples_per_sec=1.0, lr=0.1, grad_norms={}))
    assert h["loss_smooth"].y[-1] == h["loss_smooth"].y[-2]  # a NaN loss is left out
