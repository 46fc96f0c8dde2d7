"""Panels out of view do no drawing until looked at; panels in view take turns
(app.views.seen)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QWidget

from app.views.seen import WhenSeen


class _Panel(QLabel):
    def __init__(self, text):
        super().__init__(text)
        self.when_seen = WhenSeen(self)
        self.drawn = 0

    def draw(self):
        self.drawn += 1


def _two_tabbed_panels(qtbot):
    win = QMainWindow()
    win.setCentralWidget(QWidget())
    docks, panels = [], []
    for name in ("front", "behind"):
        panel = _Panel(name)
        dock = QDockWidget(name, win)
        dock.setWidget(panel)
        win.addDockWidget(Qt.RightDockWidgetArea, dock)
        docks.append(dock)
        panels.append(panel)
    win.tabifyDockWidget(docks[0], docks[1])
    docks[0].raise_()
    qtbot.addWidget(win)
    win.resize(500, 400)
    win.show()
    qtbot.waitExposed(win)
    return win, docks, panels


def test_a_tabbed_panel_draws_only_once_its_tab_is_picked(qtbot):
    win, docks, (front, behind) = _two_tabbed_panels(qtbot)
    assert behind.isVisible()                 # Qt keeps a tab behind "visible" ...
    for _ in range(5):                        # ... but it does not draw, however often asked;
        behind.when_seen.request(behind.draw)
        front.when_seen.request(front.draw)
    qtbot.waitUntil(lambda: front.drawn == 1)  # one in view draws in its next turn, once
    qtbot.wait(50)
    assert behind.drawn == 0 and front.drawn == 1
    docks[1].raise_()                         # picked: it catches up, once
    qtbot.waitUntil(lambda: behind.drawn == 1)
    behind.when_seen.request(behind.draw)     # in view: in its next turn
    qtbot.waitUntil(lambda: behind.drawn == 2)
    docks[1].close()                          # closed: waits again, until shown
    behind.when_seen.request(behind.draw)
    assert behind.drawn == 2
    docks[1].show()
    qtbot.waitUntil(lambda: behind.drawn == 3)


def test_a_tab_behind_another_dragged_out_to_float_is_seen(qtbot):
    """Floating a tab that was behind another: Qt says nothing of it becoming visible (it
    counted it visible all along); the panel still catches up and says it is seen (the
    histogram panel then asks the worker for histograms)."""
    win, docks, (front, behind) = _two_tabbed_panels(qtbot)
    assert not behind.when_seen.seen()
    behind.when_seen.request(behind.draw)
    seen = []
    behind.when_seen.seenChanged.connect(seen.append)
    docks[1].setFloating(True)
    docks[1].move(win.geometry().topLeft())
    qtbot.waitUntil(lambda: behind.drawn == 1)
    assert seen[-1] is True and behind.when_seen.seen()      # (Qt may say False first)
    docks[1].setFloating(False)               # back behind the front tab
    qtbot.waitUntil(lambda: seen[-1] is False)
    assert not behind.when_seen.seen()


def test_a_panel_on_its_own_always_draws(qtbot):
    panel = _Panel("alone")                   # a script's or a test's panel: never deferred
    qtbot.addWidget(panel)
    panel.when_seen.request(panel.draw)
    assert panel.drawn == 1


def test_panels_in_view_take_turns_one_per_event(qtbot):
    import time

    from app.views.seen import TURN_MS, take_turn
    order, times = [], []
    jobs = {n: (lambda n=n: (order.append(n), times.append(time.perf_counter())))
            for n in "abc"}
    for name in ("a", "b", "a", "c"):         # asked twice: still one turn
        take_turn(jobs[name])
    assert order == []                        # not in the event that asked
    qtbot.waitUntil(lambda: len(order) == 3)
    assert order == ["a", "b", "c"]
    assert min(np.diff(times)) >= 0.8 * TURN_MS / 1000     # each in a turn of its own
