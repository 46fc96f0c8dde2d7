"""Drawing only what the learner can see, one panel at a time.

A panel in a dock tabbed behind another is not hidden as far as Qt is concerned: it stays
"visible", is moved off screen, and gets no show or hide events when its tab is picked — its
dock emits ``visibilityChanged`` instead. ``on_screen`` tells whether a widget can be seen;
``WhenSeen`` holds a panel's drawing work until it can.

Panels in view take turns (``take_turn``): their redraws run one per event, ``TURN_MS``
apart, so that each is painted before the next starts. Several panels that want to redraw at
the same moment (new weights arrive for the tiles, the histograms and the diagram together)
then make several short pauses of the event loop instead of one long one. While a turn's
redraw and its paint run, the training thread waits between batches (``pacing.gate``).
"""
from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QWidget

from .pacing import gate

#: Milliseconds between two panels' turns: time for the first one's paint to happen between.
TURN_MS = 12


def on_screen(widget: QWidget) -> bool:
    """Shown, and not off screen (a dock tabbed behind another) or clipped away entirely."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


class _Turns(QObject):
    """A queue of drawing jobs, run one per timer event (each at most once in the queue)."""

    def __init__(self):
        super().__init__()
        self.jobs: dict = {}
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(TURN_MS)
        self.timer.timeout.connect(self._on_timer_timeout)

    def add(self, job) -> None:
        self.jobs[job] = None
        if not self.timer.isActive():
            self.timer.start()

    def _on_timer_timeout(self) -> None:
        if not self.jobs:
            return
        job = next(iter(self.jobs))
        del self.jobs[job]
        if self.jobs:
            self.timer.start()
        owner = getattr(job, "__self__", None)
        if isinstance(owner, QObject) and not shiboken6.isValid(owner):
            return                          # its panel has gone meanwhile
        gate.hold()                         # training waits until this is drawn (pacing.gate)
        job()


_turns: _Turns | None = None


def take_turn(job) -> None:
    """Run ``job()`` soon, in an event of its own, after the jobs already waiting."""
    global _turns
    if _turns is None or not shiboken6.isValid(_turns):
        _turns = _Turns()
    _turns.add(job)


def _dock_of(widget: QWidget) -> QDockWidget | None:
    w = widget.parentWidget()
    while w is not None and not isinstance(w, QDockWidget):
        w = w.parentWidget()
    return w


class WhenSeen(QObject):
    """A panel's drawing work, done only while the panel can be seen.

    ``request(job)``: if the panel is on screen, ``job()`` runs in the panel's next turn
    (``take_turn``); otherwise the job is remembered — once, however often it is asked for —
    and run when the panel comes into view (it is shown, or its dock's tab is picked): a panel
    out of view costs nothing while training runs, and catches up in one go when looked at.

    A panel that is not part of any window (made on its own, in a script or a test) has nothing
    to tell it when it is seen, so it always keeps up to date, at once.

    The panel calls ``catch_up_soon()`` from its ``showEvent`` (a closed dock opened again);
    a tab being picked is learnt from the dock. (It is the panel's child and keeps no reference
    to it: no reference cycle for Python's garbage collector to break while Qt still uses it.)
    """

    #: The panel's dock tab was picked (True) or another one was, or the dock closed (False).
    seenChanged = Signal(bool)

    def __init__(self, widget: QWidget):
        super().__init__(widget)
        self.pending: dict = {}            # job -> None, in the order first asked for
        self._dock = None
        self._dock_shown = True            # its tab is the one picked (from visibilityChanged)
        self._scheduled = False

    def seen(self) -> bool:
        w = self.parent()
        if w.parentWidget() is None:
            return True
        self._follow_dock()
        if self._dock is None:
            return on_screen(w)
        return self._dock_shown and w.isVisible()

    def request(self, job) -> None:
        if self.parent().parentWidget() is None:
            job()                           # on its own: now
        elif self.seen():
            self.pending.pop(job, None)
            take_turn(job)
        else:
            self.pending[job] = None

    def catch_up(self) -> None:
        """Give every remembered job a turn (in the order first asked for)."""
        self._scheduled = False
        jobs, self.pending = list(self.pending), {}
        for job in jobs:
            take_turn(job)

    # ---- coming into view --------------------------------------------------------------------
    def _follow_dock(self) -> None:
        dock = _dock_of(self.parent())
        if dock is not self._dock:
            if self._dock is not None:
                self._dock.visibilityChanged.disconnect(self._on_dock_visibility_changed)
                self._dock.topLevelChanged.disconnect(self._on_dock_top_level_changed)
            self._dock = dock
            if dock is not None:
                self._dock_shown = on_screen(dock)
                dock.visibilityChanged.connect(self._on_dock_visibility_changed)
                dock.topLevelChanged.connect(self._on_dock_top_level_changed)

    def _on_dock_visibility_changed(self, visible: bool) -> None:
        self._dock_shown = visible
        if visible:
            self.catch_up_soon()
        self.seenChanged.emit(visible)

    def _on_dock_top_level_changed(self, _floating: bool) -> None:
        """Floated or docked again: a tab behind another that is dragged out says nothing of
        being visible (Qt counted it visible all along), so look once it is in place."""
        QTimer.singleShot(0, self._look_again)

    def _look_again(self) -> None:
        dock = self._dock
        if dock is None or not shiboken6.isValid(dock):
            return
        shown = on_screen(dock)
        if shown != self._dock_shown:
            self._on_dock_visibility_changed(shown)

    def catch_up_soon(self) -> None:
        """After the dock layout has put the panel in place (the same event would be too
        early: a tab's dock is moved on screen after it says it is visible)."""
        if self.pending and not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self.catch_up)
