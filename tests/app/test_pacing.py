"""The views' CPU budget (app.views.pacing)."""
from __future__ import annotations

import pytest

from app.state import StudioState
from app.views import pacing


def test_redraws_slow_down_when_the_gui_thread_uses_too_much_cpu(qtbot, monkeypatch):
    clock = {"wall": 0.0, "cpu": 0.0}
    monkeypatch.setattr(pacing.time, "perf_counter", lambda: clock["wall"])
    monkeypatch.setattr(pacing.time, "thread_time", lambda: clock["cpu"])
    state = StudioState()
    pacer = pacing.DrawPacer(state)
    seen = []
    pacer.slowdownChanged.connect(seen.append)
    state.set_run_state("running")

    def second(cpu_fraction):
        clock["wall"] += 1.0
        clock["cpu"] += cpu_fraction
        pacer._on_timer_timeout()

    assert seen == []                              # the first redraws at the normal rate
    second(0.30)                                   # 30% of a core: over the 5% budget
    assert seen == [pacing.START_STEP] == [2.25]   # the run's first measurement: 1.5² at once
    second(0.30)
    assert seen == [2.25, 2.25 * 1.5] and pacer.last_fraction == 0.30
    for _ in range(10):
        second(0.5)
    assert pacer.slowdown == pacing.MAX_SLOWDOWN   # never slower than this
    second(0.07)                                   # within budget: stays
    assert pacer.slowdown == pacing.MAX_SLOWDOWN
    second(0.02)                                   # well under, once: a lull, stays
    assert pacer.slowdown == pacing.MAX_SLOWDOWN
    second(0.30)                                   # (the lull was between two bursts)
    second(0.02)
    assert pacer.slowdown == pacing.MAX_SLOWDOWN
    second(0.02)                                   # well under twice in a row: faster again
    assert pacer.slowdown == pacing.MAX_SLOWDOWN / 1.5
    second(0.02)                                   # and again after two more
    assert pacer.slowdown == pacing.MAX_SLOWDOWN / 1.5
    second(0.02)
    assert pacer.slowdown == pacing.MAX_SLOWDOWN / 1.5 ** 2
    state.set_run_state("paused")                  # not training: normal rate at once
    assert pacer.slowdown == 1.0


def test_the_gate_holds_training_until_the_window_has_drawn(qtbot):
    import threading
    gate = pacing.DrawGate()
    gate.hold()                                    # the GUI thread begins to draw
    assert not gate.is_open()
    done = threading.Event()
    trainer = threading.Thread(target=lambda: (gate.wait(), done.set()))
    trainer.start()
    assert not done.wait(0.03)                     # the training thread waits meanwhile
    qtbot.wait(20)                                 # the event loop runs dry: drawing is over
    assert gate.is_open()
    assert done.wait(5)
    trainer.join()


def test_the_gate_never_holds_training_long(monkeypatch):
    """Without an event loop to say that drawing is over, training waits MAX_HOLD once per
    hold, then goes on (no QApplication needed: the gate is then always open)."""
    gate = pacing.DrawGate()
    gate._open.clear()                             # a hold whose release never comes
    gate._holds = 1
    waits = []
    real_wait = gate._open.wait
    monkeypatch.setattr(gate._open, "wait", lambda t: waits.append(t) or real_wait(0.001))
    for _ in range(3):
        gate.wait()
    assert waits == [pacing.MAX_HOLD]              # once for this hold, not every batch
    gate._holds = 2                                # a new hold: waited for once more
    gate.wait()
    assert len(waits) == 2


def test_slowing_down_does_not_postpone_a_redraw_already_waiting(qtbot):
    """QTimer.setInterval restarts a running timer: a pacer that slows the views down while a
    redraw waits must not push that redraw back (it kept the accuracy plot empty for seconds
    after Train). The new interval applies from the next redraw."""
    import pyqtgraph as pg

    from app.icons import icon
    from app.views.plot_panel import PlotPanel

    drawn = []

    class Panel(PlotPanel):
        def redraw(self):
            drawn.append(1)

    panel = Panel(pg.PlotWidget(), icon, redraw_ms=50)
    qtbot.addWidget(panel)
    panel.request_redraw()
    panel.set_slowdown(100.0)               # 5 s from now, if it restarted the wait
    panel.set_slowdown(200.0)
    qtbot.waitUntil(lambda: bool(drawn), timeout=2000)
    assert panel._throttled_redraw.timeout() == 50 * 200     # and slower from now on


def _worker_training_on_a_clock(monkeypatch, clock):
    """A TrainingWorker (its thread not started) with a small trainer, running: each
    ``_train_batch`` call trains one batch at the time ``clock["t"]``; its updates are
    collected (and acknowledged at once, as the window does)."""
    import numpy as np
    from nncore import CrossEntropyLoss, Network
    from nncore.optim import SGD
    from nncore.train import Trainer
    from app.training import worker as worker_module
    monkeypatch.setattr(worker_module.time, "perf_counter", lambda: clock["t"])
    spec = {"input_shape": [4], "layers": [{"type": "Dense", "units": 3},
                                           {"type": "Softmax"}]}
    net = Network.from_spec(spec, seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.random((2000, 4), dtype=np.float32), rng.integers(0, 3, 2000)
    w = worker_module.TrainingWorker()
    w._install(Trainer(net, CrossEntropyLoss(), SGD(net, lr=0.1), x, y, batch_size=4), spec)
    w._mode = "running"
    updates = []
    w.updated.connect(lambda u: (updates.append(u), w.acknowledge()))
    return w, updates


def test_the_worker_sends_fewer_updates_when_the_window_is_over_its_budget(qtbot, monkeypatch):
    from app.training import worker as worker_module
    clock = {"t": 100.0}
    w, updates = _worker_training_on_a_clock(monkeypatch, clock)

    def batches_over(seconds: float) -> list:
        updates.clear()
        for _ in range(int(seconds / 0.01)):       # a batch every 10 ms
            clock["t"] += 0.01
            w._train_batch()
        return list(updates)

    normal = batches_over(10.0)
    assert len(normal) == pytest.approx(10.0 / worker_module.UPDATE_INTERVAL, abs=2)
    assert sum(len(u.batches) for u in normal) >= 990      # every batch reaches the window
    w._cmd_set_update_slowdown(100.0)                        # more than the most it slows
    assert w._update_slowdown == worker_module.MAX_UPDATE_SLOWDOWN
    slowed = batches_over(10.0)
    expected = 10.0 / (worker_module.UPDATE_INTERVAL * worker_module.MAX_UPDATE_SLOWDOWN)
    assert len(slowed) == pytest.approx(expected, abs=2)
    assert sum(len(u.batches) for u in slowed) >= 990      # fewer updates, no batch lost
    assert any(u.views is not None for u in slowed)         # the weight views still come
    w._cmd_set_update_slowdown(0.5)                          # never faster than normal
    assert w._update_slowdown == 1.0


def test_the_pacer_slows_the_workers_updates_in_the_window(qtbot, window):
    from app.training.worker import MAX_UPDATE_SLOWDOWN
    window.pacer._set(pacing.MAX_SLOWDOWN)
    qtbot.waitUntil(lambda: window.controller.worker._update_slowdown == MAX_UPDATE_SLOWDOWN)
    window.pacer._set(1.0)
    qtbot.waitUntil(lambda: window.controller.worker._update_slowdown == 1.0)


def test_the_gallerys_thumbnails_hold_training_while_they_paint(qtbot):
    """Their delegate paints in Python; with every panel in view the gallery's paint took
    82 ms for 28 ms of its own CPU, taking turns with training on the interpreter lock."""
    from app.inspect.gallery import GalleryPanel
    from app.inspect.model import InspectModel
    state = StudioState()
    panel = GalleryPanel(state, InspectModel(state))
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: pacing.gate.is_open())
    panel.view.viewport().repaint()                 # a paint of the thumbnails
    assert not pacing.gate.is_open()                 # training waits ...
    qtbot.waitUntil(lambda: pacing.gate.is_open(), timeout=2_000)   # ... until it is drawn


def _worker_one_batch_before_an_epoch_end(monkeypatch, clock):
    """``_worker_training_on_a_clock`` trained to one batch before its first epoch ends, in a
    run of 10 epochs, just after an update went."""
    w, updates = _worker_training_on_a_clock(monkeypatch, clock)
    w._target_epoch = 10                           # (the run goes on after this epoch)
    for _ in range(w._trainer.batches_per_epoch - 1):
        clock["t"] += 0.01
        w._train_batch()
    w._flush(heavy=False, force=True)
    updates.clear()
    return w, updates


def test_an_epoch_end_goes_with_the_next_regular_update_while_training_runs(qtbot, monkeypatch):
    """A small network's epoch lasts under a second: an update of its own at every epoch end
    was one more redraw of every view each epoch. While training runs it waits (at most one
    update interval) and comes with the next update, weight views included."""
    from app.training import worker as worker_module
    clock = {"t": 100.0}
    w, updates = _worker_one_batch_before_an_epoch_end(monkeypatch, clock)
    clock["t"] += 0.01
    w._train_batch()                               # the epoch's last batch
    assert w._trainer.epoch == 1
    assert updates == []                           # not sent on its own
    clock["t"] += worker_module.UPDATE_INTERVAL
    w._train_batch()
    assert len(updates) == 1
    update = updates[0]
    assert [r.event.epoch for r in update.epochs] == [1]
    assert len(update.batches) == 2 and update.views is not None


def test_an_epoch_end_is_sent_at_once_when_training_is_not_running(qtbot, monkeypatch):
    clock = {"t": 100.0}
    w, updates = _worker_one_batch_before_an_epoch_end(monkeypatch, clock)
    w._mode = "paused"                             # (as when a batch is stepped)
    clock["t"] += 0.01
    w._record(w._trainer.step_batch())
    assert [[r.event.epoch for r in u.epochs] for u in updates] == [[1]]
