"""The views' CPU budget (app.views.pacing)."""
from __future__ import annotations

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

    second(0.30)                                   # 30% of a core: over the 10% budget
    second(0.30)
    assert seen == [1.5, 2.25] and pacer.last_fraction == 0.30
    for _ in range(10):
        second(0.5)
    assert pacer.slowdown == pacing.MAX_SLOWDOWN   # never slower than this
    second(0.07)                                   # within budget: stays
    assert pacer.slowdown == pacing.MAX_SLOWDOWN
    second(0.02)                                   # well under: faster again
    assert pacer.slowdown == pacing.MAX_SLOWDOWN / 1.5
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
