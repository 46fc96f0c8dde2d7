"""The bounded training history: every recent batch exactly, older ones merged in aligned
groups, truncation by step, files old and new."""
import math

import numpy as np
import pytest

from nncore import CrossEntropyLoss, DataError, Network, io
from nncore.history import History
from nncore.optim import SGD
from nncore.train import Trainer

from .test_train import MLP, data


def fill(h, steps, start=1):
    """Batch ``s`` gets loss ``s`` and accuracy ``s / 1000``: merged means are easy to check."""
    for s in range(start, start + steps):
        h.add_batch(s, float(s), s / 1000)
    return h


def test_short_runs_keep_every_batch_exactly():
    h = fill(History(), 500)
    assert h.batch_steps == list(range(1, 501))
    assert h.batch_loss == [float(s) for s in range(1, 501)] and h.merged == 0


def test_a_long_run_stays_bounded_with_recent_batches_exact_and_old_ones_merged():
    h = fill(History(capacity=8, recent=5), 1000)
    assert len(h) <= 8 + 5 + h.stride
    assert h.stride >= 64                         # 1000 steps in at most 8 groups
    # the newest points are the batches themselves
    single = h.batch_steps[h.merged:]
    assert len(single) >= 5 and single == list(range(1001 - len(single), 1001))
    assert h.batch_loss[h.merged:] == [float(s) for s in single]
    # each merged point is the mean of its group of consecutive steps, at its last step;
    # together the groups cover every step before the single points
    first = 1
    for step, loss, acc, count in zip(h.batch_steps, h.batch_loss, h.batch_accuracy,
                                      h._counts):
        assert step - count + 1 == first
        assert loss == pytest.approx((first + step) / 2)
        assert acc == pytest.approx((first + step) / 2000)
        first = step + 1
    assert first == single[0]
    # groups are aligned on multiples of the stride (the last one may be half filled)
    assert all(s % h.stride == 0 for s in h.batch_steps[:h.merged - 1])


def test_two_hundred_thousand_batches_fit_in_a_few_megabytes():
    h = fill(History(), 200_000)
    assert len(h) < 16_384 + 4096 + h.stride
    approx_bytes = len(h) * (3 * 8 + 2 * 24 + 28)         # list slots, floats, ints
    assert approx_bytes < 3e6


@pytest.mark.parametrize("rewind_to", [995, 990, 900])   # single points; past them: merged
def test_truncate_then_replay_gives_the_same_history_as_going_straight(rewind_to):
    straight = fill(History(capacity=8, recent=20), 1000)
    h = fill(History(capacity=8, recent=20), 1000)
    h.truncate(rewind_to, 0)
    assert h.batch_steps[-1] <= rewind_to
    if rewind_to > 1000 - 20:
        assert h.batch_steps[-1] == rewind_to            # exact
    fill(h, 1000 - h.batch_steps[-1], start=h.batch_steps[-1] + 1)
    assert h.batch_steps == straight.batch_steps
    assert h.batch_loss == pytest.approx(straight.batch_loss)


def test_truncate_drops_later_epochs():
    from nncore.history import EpochEvent
    h = fill(History(), 30)
    for e in (1, 2, 3):
        h.add_epoch(EpochEvent(e, 10 * e, 1.0, 0.5, None, None, 1.0, 10.0))
    h.truncate(20, 2)
    assert [e.epoch for e in h.epochs] == [1, 2] and h.batch_steps[-1] == 20


def test_to_dict_from_dict_round_trips_and_continues_like_the_original():
    a = fill(History(capacity=8, recent=20), 700)
    b = History.from_dict(a.to_dict(), capacity=8, recent=20)
    assert (b.batch_steps, b.batch_loss, b.batch_accuracy, b.stride, b.merged, b._counts) == \
        (a.batch_steps, a.batch_loss, a.batch_accuracy, a.stride, a.merged, a._counts)
    fill(a, 300, start=701)
    fill(b, 300, start=701)
    assert b.batch_steps == a.batch_steps and b.batch_loss == pytest.approx(a.batch_loss)


def test_files_from_before_the_bound_still_load():
    n = 30_000
    old = {"batch_loss": [float(s) for s in range(1, n + 1)],
           "batch_accuracy": [0.5] * n, "epochs": []}        # no steps, no merging yet
    h = History.from_dict(old)
    assert h.batch_steps[-1] == n and len(h) < 16_384 + 4096 + 2 and h.stride == 2
    assert h.batch_loss[-4096:] == [float(s) for s in range(n - 4095, n + 1)]
    assert sum(h._counts) + (len(h) - h.merged) == n


@pytest.mark.parametrize("change, problem", [
    ({"batch_steps": [1, 1, 2]}, "batch_steps"),
    ({"batch_steps": [1, 2]}, "batch_steps"),
    ({"batch_steps": [0, 1, 2]}, "batch_steps"),
    ({"merged": {"stride": 0, "counts": []}}, "merged"),
    ({"merged": {"stride": 2, "counts": [1, 1, 1, 1]}}, "merged"),
    ({"merged": []}, "merged"),
])
def test_invalid_histories_are_refused_with_the_field_named(change, problem):
    d = {"batch_steps": [1, 2, 3], "batch_loss": [1.0, 2.0, 3.0],
         "batch_accuracy": [0.1, 0.2, 0.3], "epochs": [], **change}
    with pytest.raises(DataError, match=problem):
        History.from_dict(d)


def test_the_trainer_keeps_no_gradient_norms_the_events_carry_them():
    x, y = data()
    net = Network.from_spec(MLP, seed=0)
    t = Trainer(net, CrossEntropyLoss(), SGD(net, lr=0.1), x, y, batch_size=16)
    ev = t.step_batch()
    assert ev.grad_norms and not hasattr(t.history, "grad_norms")
    assert t.history.batch_steps == [1]


def test_trainer_restore_is_exact_after_the_history_was_merged(tmp_path):
    x, y = data()
    net = Network.from_spec(MLP, seed=0)
    t = Trainer(net, CrossEntropyLoss(), SGD(net, lr=0.1), x, y, batch_size=4)
    t.history = History(capacity=4, recent=6)
    for _ in range(40):
        t.step_batch()
    kept = (list(t.history.batch_steps), list(t.history.batch_loss))
    state = t.snapshot()
    replay = [t.step_batch().loss for _ in range(5)]
    assert t.history.merged > 0 and t.history.stride > 1
    t.restore(state)
    assert (t.history.batch_steps, t.history.batch_loss) == kept
    assert [t.step_batch().loss for _ in range(5)] == replay
    # saved and loaded, the merged history continues too
    io.save(t, tmp_path / "ck.nns")
    back = io.load(tmp_path / "ck.nns")
    t2 = Trainer.from_checkpoint(back, x, y)
    assert t2.history.batch_steps == t.history.batch_steps
    assert all(math.isclose(a, b) for a, b in zip(t2.history.batch_loss,
                                                  t.history.batch_loss))
    assert np.isfinite(t2.step_batch().loss)


def test_old_epochs_lose_their_confusion_matrix_and_very_many_are_thinned(monkeypatch):
    import nncore.history as hist
    from nncore.history import EpochEvent
    monkeypatch.setattr(hist, "CONFUSIONS_KEPT", 3)
    monkeypatch.setattr(hist, "RECENT_EPOCHS", 4)
    monkeypatch.setattr(hist, "EPOCH_CAPACITY", 10)
    h = History()
    events = [EpochEvent(e, 10 * e, 1.0 / e, 0.5, None, None, 1.0, 10.0,
                         confusion=np.eye(2, dtype=np.int64)) for e in range(1, 8)]
    for ev in events:
        h.add_epoch(ev)
    assert [e.confusion is not None for e in h.epochs] == [False] * 4 + [True] * 3
    assert all(ev.confusion is not None for ev in events)     # the events given stay whole
    assert [e.train_loss for e in h.epochs] == [1.0 / e for e in range(1, 8)]
    for e in range(8, 40):
        h.add_epoch(EpochEvent(e, 10 * e, 1.0, 0.5, None, None, 1.0, 10.0))
    assert len(h.epochs) <= 10 and [e.epoch for e in h.epochs][-4:] == [36, 37, 38, 39]
    nums = [e.epoch for e in h.epochs]
    assert nums == sorted(nums) and nums[0] == 1
    h.truncate(10 * 37, 37)
    assert h.epochs[-1].epoch == 37
