"""Drawing only what the learner can see.

A panel in a dock tabbed behind another is not hidden as far as Qt is concerned: it stays
"visible", is moved off screen, and gets no show or hide events when its tab is picked — its
dock emits ``visibilityChanged`` instead. ``on_screen`` tells whether a widget can be seen;
``WhenSeen`` holds a panel's drawing work until it can.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QDockWidget, QWidget


def on_screen(widget: QWidget) -> bool:
    """Shown, and not off screen (a dock tabbed behind another) or clipped away entirely."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def _dock_of(widget: QWidget) -> QDockWidget | None:
    w = widget.parentWidget()
    while w is not None and not isinstance(w, QDockWidget):
        w = w.parentWidget()
    return w


class WhenSeen(QObject):
    """A panel's drawing work, done only while the panel can be seen.

    ``request(job)`` runs ``job()`` at once if the panel is on screen; otherwise the job is
    remembered — once, however often it is asked for — and run when the panel comes into view
    (it is shown, or its dock's tab is picked): a panel out of view costs nothing while training
    runs, and catches up in one go when looked at.

    A panel that is not part of any window (made on its own, in a script or a test) has nothing
    to tell it when it is seen, so it always keeps up to date.
    """

    def __init__(self, widget: QWidget):
        super().__init__(widget)
        self.widget = widget
        self.pending: dict = {}            # job -> None, in the order first asked for
        self._dock = None
        self._dock_shown = True            # its tab is the one picked (from visibilityChanged)
        self._catching_up = False
        self._scheduled = False
        widget.installEventFilter(self)

    def seen(self) -> bool:
        w = self.widget
        if w.parentWidget() is None or self._catching_up:
            return True
        self._follow_dock()
        if self._dock is None:
            return on_screen(w)
        return self._dock_shown and w.isVisible()

    def request(self, job) -> None:
        if self.seen():
            self.pending.pop(job, None)
            job()
        else:
            self.pending[job] = None

    def catch_up(self) -> None:
        """Run every remembered job now (in the order first asked for)."""
        self._scheduled = False
        self._catching_up = True
        try:
            while self.pending:
                job = next(iter(self.pending))
                del self.pending[job]
                job()
        finally:
            self._catching_up = False

    # ---- coming into view --------------------------------------------------------------------
    def _follow_dock(self) -> None:
        dock = _dock_of(self.widget)
        if dock is not self._dock:
            if self._dock is not None:
                self._dock.visibilityChanged.disconnect(self._on_dock_visibility_changed)
            self._dock = dock
            if dock is not None:
                self._dock_shown = on_screen(dock)
                dock.visibilityChanged.connect(self._on_dock_visibility_changed)

    def _on_dock_visibility_changed(self, visible: bool) -> None:
        self._dock_shown = visible
        if visible:
            self._catch_up_soon()

    def eventFilter(self, obj, event) -> bool:
        if obj is self.widget and event.type() == QEvent.Type.Show:
            self._catch_up_soon()
        return False

    def _catch_up_soon(self) -> None:
        """After the dock layout has put the panel in place (the same event would be too
        early: a tab's dock is moved on screen after it says it is visible)."""
        if self.pending and not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self.catch_up)
