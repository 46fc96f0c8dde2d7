"""Pacing of the live views: the GUI thread keeps to a CPU budget while training runs.

Training runs in a worker thread, but Python lets only one thread run Python code at a time:
every millisecond the window spends drawing is a millisecond the worker may wait (measured:
the worker loses about twice the GUI thread's share of a core). The pacer measures the GUI
thread's own CPU time (``time.thread_time``) twice a second while training runs; above
``BUDGET`` of one core it slows the views' redraws down (up to ``MAX_SLOWDOWN`` times their
normal interval) and the worker's updates (status bar, progress, curves' new points: up to
``worker.MAX_UPDATE_SLOWDOWN`` times, measured: on two cores, updates twice a second instead of
five cost the training thread 6.5-8% of its time instead of 8.5-10.5%); after a second
below half of it, it speeds them up again. On a fast machine the views redraw at their normal
rate; on a slow or busy one, less often, and training keeps its pace.

``gate`` (a ``DrawGate``) is the other half: while the GUI thread draws (a panel's turn to
redraw, a plot's paint, an update from the worker), the training thread waits between batches,
so the two do not take turns on the interpreter lock in the middle of a redraw: sharing it, a
redraw waits for the lock each time Qt calls back into Python (for up to
``sys.getswitchinterval()``, 5 ms), and took two to three times its own CPU time. Measured with
``scripts/bench_gui.py`` (every panel in view, 2 epochs, three runs each): the longest stall
31-52 ms with the gate against 51-65 ms without, and training no slower.
"""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QAbstractEventDispatcher, QObject, QTimer, Signal

#: Fraction of one core the GUI thread may use for itself while training runs.
BUDGET = 0.05
MAX_SLOWDOWN = 6.0
STEP = 1.5
#: Half-second measurements in a row under half the budget before redraws speed up again: the
#: GUI thread's work comes in bursts (an epoch's end), and a pacer that sped up after every
#: quiet half second swung between 2% and 8% of a core (measured) instead of keeping to 5%.
QUIET_TO_SPEED_UP = 2
#: The first measurement of a run that is over budget slows redraws down this many times at
#: once, not STEP: the start of a run is when the window has most to do (buttons, fields,
#: first points, ranges), and slowing by STEP the pacer took 2 s to get there, spending 8-20%
#: of a core meanwhile. (The first redraws come at the normal rate: the learner sees the
#: first points at once.)
START_STEP = STEP * STEP


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
        self._quiet = 0             # measurements in a row under half the budget
        self._first = False         # the next measurement is the run's first
        state.runStateChanged.connect(self._on_state_run_state_changed)

    def _on_state_run_state_changed(self, run_state: str) -> None:
        if run_state == "running":
            self._mark = (time.perf_counter(), time.thread_time())
            self._quiet = 0
            self._first = True
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
        self._quiet = self._quiet + 1 if self.last_fraction < BUDGET / 2 else 0
        first, self._first = self._first, False
        if self.last_fraction > BUDGET:
            self._set(min(self.slowdown * (START_STEP if first else STEP), MAX_SLOWDOWN))
        elif self._quiet >= QUIET_TO_SPEED_UP:
            self._quiet = 0
            self._set(max(self.slowdown / STEP, 1.0))

    def _set(self, slowdown: float) -> None:
        if slowdown != self.slowdown:
            self.slowdown = slowdown
            self.slowdownChanged.emit(slowdown)


#: The longest the training thread waits for one of the GUI thread's redraws (seconds): a GUI
#: thread that never gets to wait for events (or a very slow redraw) cannot stall training.
MAX_HOLD = 0.1


class DrawGate:
    """The training thread waits between batches while the GUI thread draws.

    GUI thread: ``hold()`` before drawing (a panel's turn to redraw, an update from the
    worker); the gate opens again when the event loop has nothing left to do — the redraw's
    paint included — and is about to wait for events (``QAbstractEventDispatcher.aboutToBlock``).
    Training thread: ``wait()`` between batches; it waits at most ``MAX_HOLD`` for one hold, and
    not at all while the gate is open (one ``Event.is_set``).
    """

    def __init__(self):
        self._open = threading.Event()
        self._open.set()
        self._holds = 0             # holds so far (GUI thread)
        self._waited = 0            # the hold the training thread last waited for
        self._dispatcher = None

    def hold(self) -> None:
        """Close the gate until the GUI thread's event loop next goes idle (GUI thread)."""
        if not self._open.is_set():
            return
        dispatcher = QAbstractEventDispatcher.instance()
        if dispatcher is None:
            return                  # no event loop to tell when drawing is over
        self._holds += 1
        self._open.clear()
        self._dispatcher = dispatcher
        dispatcher.aboutToBlock.connect(self.release)

    def release(self) -> None:
        """Open the gate (GUI thread; also done by ``aboutToBlock``)."""
        if self._dispatcher is not None:
            try:
                self._dispatcher.aboutToBlock.disconnect(self.release)
            except (RuntimeError, TypeError):
                pass
            self._dispatcher = None
        self._open.set()

    def is_open(self) -> bool:
        return self._open.is_set()

    def wait(self) -> None:
        """Between batches (training thread): wait while the GUI thread draws."""
        if self._open.is_set():
            return
        holds = self._holds
        if holds == self._waited:
            return                  # waited MAX_HOLD for this one already: go on
        self._waited = holds
        self._open.wait(MAX_HOLD)


#: The one gate: there is one GUI thread, whatever the number of windows and workers.
gate = DrawGate()
