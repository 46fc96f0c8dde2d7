"""The status bar: run state, epoch, batch, samples per second and elapsed training time.

The epoch follows the settings at once ("Epoch 1 of 2" as soon as Epochs says 2); a finished
run says "Done" (or "Stopped" when Stop ended it inside its last epoch).

A key whose action is disabled (Space on an invalid network) is not silent: the status bar
says why nothing happened (``explain_when_disabled``)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QLabel, QStatusBar
from superqt.utils import qthrottled

from .training.panel import is_done, shown_batch, shown_epoch, target_epoch

_STATE_TEXT = {"idle": "Ready", "running": "Training", "paused": "Paused",
               "finished": "Stopped"}


def _elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class StudioStatusBar(QStatusBar):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.state = state
        self.labels = {}
        fm = self.fontMetrics()
        for key, tip, widest in (
                ("run", "What training is doing", "Finished"),
                ("epoch", "The epoch being trained, and the last one of this run",
                 "Epoch 10000 of 10000"),
                ("batch", "Batch within the current epoch", "Batch 100000/100000"),
                ("speed", "Training speed", "1,000,000 samples/s"),
                ("elapsed", "Time spent training in this run", "100:00:00")):
            lab = QLabel()
            lab.setObjectName(f"status_{key}")
            lab.setToolTip(tip)
            lab.setAlignment(Qt.AlignCenter)
            # A fixed size: new texts many times a second must not re-layout the window.
            lab.setFixedSize(fm.horizontalAdvance(widest) + 20, fm.height() + 6)
            self.addPermanentWidget(lab)
            self.labels[key] = lab
        self._show_progress = qthrottled(self._show, timeout=200, leading=False)
        state.progressChanged.connect(self._on_state_progress_changed)
        state.runStateChanged.connect(self._on_state_run_state_changed)
        state.dataChanged.connect(self._on_state_data_changed)
        state.configChanged.connect(self._on_state_config_changed)
        self._on_state_run_state_changed(state.run_state)
        self._show()
        self.showMessage("Loading the data set…")

    def explain_when_disabled(self, action, why, what: str = "Training did not start") -> None:
        """While ``action`` is disabled, its shortcut shows "<what>: <why()>" here instead of
        doing nothing (a disabled action's key would otherwise be swallowed silently)."""
        keys = action.shortcuts()
        if not keys or self.parent() is None:
            return
        shortcuts = []
        for key in keys:
            sc = QShortcut(key, self.parent())
            sc.setContext(action.shortcutContext())
            sc.activated.connect(lambda: self._explain(what, why))
            shortcuts.append(sc)

        def follow():
            for sc in shortcuts:
                sc.setEnabled(not action.isEnabled())
        action.changed.connect(follow)
        follow()

    def _explain(self, what: str, why) -> None:
        reason = why()
        self.showMessage(f"{what}: {reason}" if reason else what, 8000)

    def _on_state_progress_changed(self, p) -> None:
        self._show_progress()

    def _on_state_config_changed(self, config) -> None:
        self._show()

    def _show(self) -> None:
        p, rs = self.state.progress, self.state.run_state
        self.labels["epoch"].setText(f"Epoch {shown_epoch(p)} of "
                                     f"{target_epoch(p, rs, self.state.config.epochs)}")
        self.labels["batch"].setText(f"Batch {shown_batch(p)}/{p.batches_per_epoch or '–'}")
        self.labels["speed"].setText(f"{p.samples_per_sec:,.0f} samples/s"
                                     if p.samples_per_sec else "– samples/s")
        self.labels["elapsed"].setText(_elapsed(p.elapsed))

    def _on_state_run_state_changed(self, run_state: str) -> None:
        text = _STATE_TEXT.get(run_state, run_state)
        if is_done(self.state.progress, run_state):
            text = "Done"
        self.labels["run"].setText(text)
        if hasattr(self, "_show_progress"):
            self._show()
        self.labels["run"].setProperty("runState", run_state)
        self.labels["run"].style().unpolish(self.labels["run"])
        self.labels["run"].style().polish(self.labels["run"])

    def _on_state_data_changed(self, data) -> None:
        self.showMessage(f"{data.dataset.upper() or 'Data'} loaded: {data.n_train:,} training "
                         f"images, {len(data.labels):,} {data.name} images", 6000)
