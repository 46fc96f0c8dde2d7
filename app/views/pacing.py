"""Pacing of the live views: the GUI thread keeps to a CPU budget while training runs.

Training runs in a worker thread, but Python lets only one thread run Python code at a time:
every millisecond the window spends drawing is a millisecond the worker may wait (measured:
the worker loses about twice the GUI thread's share of a core). The pacer measures the GUI
thread's own CPU time (``time.thread_time``) twice a second while training runs; above ``BUDGET`` of one core it slows the views' redraws down (up to ``MAX_SLOWDOWN``
times their normal interval), below half of it it speeds them up again. On a fast machine the
views redraw at their normal rate; on a slow or busy one, less often, and training keeps its
pace.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

#: Fraction of one core the GUI thread may use for itself while training runs.
BUDGET = 0.05
MAX_SLOWDOWN = 6.0
STEP = 1.5


class DrawPacer(QObject):
    slowdownChanged = Signal(float)

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.slowdown = 1.0
        self.last_fraction = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._mark = None
        state.runStateChanged.connect(self._on_state_run_state_changed)

    def _on_state_run_state_changed(self, run_state: str) -> None:
        if run_state == "running":
            self._mark = (time.perf_counter(), time.thread_time())
            self._timer.start()
        else:
            self._timer.stop()
            self._set(1.0)          # paused or idle: redraw at the normal rate

    def _on_timer_timeout(self) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        w0, c0 = self._mark
        self._mark = (wall, cpu)
        if wall - w0 <= 0:
            return
        self.last_fraction = (cpu - c0) / (wall - w0)
        if self.last_fraction > BUDGET:
            self._set(min(self.slowdown * STEP, MAX_SLOWDOWN))
        elif self.last_fraction < BUDGET / 2:
            self._set(max(self.slowdown / STEP, 1.0))

    def _set(self, slowdown: float) -> None:
        if slowdown != self.slowdown:
            self.slowdown = slowdown
            self.slowdownChanged.emit(slowdown)
