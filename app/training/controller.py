"""The training controller: the GUI-thread side of training.

It turns what the learner does (Train, Pause, Step, ...) into commands for the worker, and
what the worker reports into StudioState, whose signals the panels follow. It never computes.
"""
from __future__ import annotations

import copy

from PySide6.QtCore import QObject, QTimer, Signal

from ..state import EpochReport, Failure, StudioState
from ..views.pacing import gate
from .worker import TrainingWorker

#: Edits are sent to the worker this long after the last one (typing sends many).
CONFIGURE_DELAY_MS = 150


class TrainingController(QObject):
    """Commands: train, pause, toggle, step_batch, step_epoch, stop, reset_weights, rewind,
    save_project, open_project, shutdown. Everything it learns goes into ``state``."""

    projectSaved = Signal(str)
    projectOpened = Signal(str)
    runOutdatedChanged = Signal(bool)

    def __init__(self, state: StudioState, parent=None):
        super().__init__(parent)
        self.state = state
        self.run_outdated = False
        self.before_start = None    # check(go) before a command that may start a run
        self.worker = TrainingWorker()
        w = self.worker
        w.updated.connect(self._on_worker_updated)
        w.runStateChanged.connect(self._on_worker_run_state_changed)
        w.failed.connect(self._on_worker_failed)
        w.historyReset.connect(self._on_worker_history_reset)
        w.inspected.connect(self._on_worker_inspected)
        w.dataLoaded.connect(self._on_worker_data_loaded)
        w.projectSaved.connect(self._on_worker_project_saved)
        w.projectOpened.connect(self._on_worker_project_opened)
        w.runOutdated.connect(self._on_worker_run_outdated)
        self._configure_timer = QTimer(self)
        self._configure_timer.setSingleShot(True)
        self._configure_timer.setInterval(CONFIGURE_DELAY_MS)
        self._configure_timer.timeout.connect(self._send_configuration)
        state.specChanged.connect(self._on_state_spec_changed)
        state.configChanged.connect(self._on_state_config_changed)
        self._started = False

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker thread and let it load the data set in the background."""
        if self._started:
            return
        self._started = True
        self.worker.start()
        self._send_configuration()
        self.worker.send("prepare")

    def shutdown(self) -> bool:
        """Stop training after the current batch and join the worker thread."""
        self._configure_timer.stop()
        if not self._started:
            return True
        return self.worker.shutdown()

    # ---- commands ----------------------------------------------------------------------------
    @property
    def can_train(self) -> bool:
        return self.state.spec_check.ok

    def _command(self, name: str, *args) -> None:
        if self._configure_timer.isActive():      # the newest edit goes first
            self._configure_timer.stop()
            self._send_configuration()
        self.worker.send(name, *args)

    def _start(self, name: str) -> None:
        """A command that may start a run: ``before_start(go)`` (app.memory_guard) first."""
        if self.before_start is None or self.state.run_state == "running":
            self._command(name)
        else:
            self.before_start(lambda: self._command(name))

    def train(self) -> None:
        if self.can_train:
            self._start("run")

    def pause(self) -> None:
        self._command("pause")

    def toggle(self) -> None:
        """Train/Pause: what the Space key does."""
        if self.state.run_state == "running":
            self.pause()
        else:
            self.train()

    def step_batch(self) -> None:
        if self.can_train:
            self._start("step_batch")

    def step_epoch(self) -> None:
        if self.can_train:
            self._start("step_epoch")

    def stop(self) -> None:
        self._command("stop")

    def reset_weights(self) -> None:
        self._command("reset")

    def rewind(self, to_good_state: bool = False) -> None:
        """Back to where training was last paused (or, after divergence, the last good state)."""
        self._command("rewind", to_good_state)

    def set_tile_layer(self, index: int) -> None:
        self._command("set_tile_layer", index)

    def set_update_slowdown(self, factor: float) -> None:
        """Updates from the worker come ``factor`` times less often (at most
        ``worker.MAX_UPDATE_SLOWDOWN``): the window's pacer asks for it when drawing takes more
        than its CPU budget (app.views.pacing)."""
        self._command("set_update_slowdown", factor)

    def set_histograms_wanted(self, wanted: bool) -> None:
        """Whether a panel shows the weight and gradient histograms: the worker makes them
        only then."""
        self._command("set_histograms_wanted", wanted)

    def set_tile_aspect(self, aspect: float) -> None:
        """The weight tiles' panel is ``aspect`` times wider than tall (tiles laid out to fit)."""
        self._command("set_tile_aspect", aspect)

    def save_project(self, path: str) -> None:
        self._command("save", str(path), copy.deepcopy(self.state.spec),
                      copy.deepcopy(self.state.history))

    def autosave(self, write) -> None:
        """Ask the worker for a recovery checkpoint, passed to ``write`` (app.recovery)."""
        self._command("autosave", copy.deepcopy(self.state.spec),
                      copy.deepcopy(self.state.history), write)

    def open_project(self, path: str) -> None:
        self._command("open", str(path))

    # ---- model -> worker ---------------------------------------------------------------------
    def _on_state_spec_changed(self, spec) -> None:
        self._configure_timer.start()

    def _on_state_config_changed(self, config) -> None:
        self._configure_timer.start()

    def _send_configuration(self) -> None:
        if self._started:
            self.worker.send("configure", copy.deepcopy(self.state.spec),
                             copy.deepcopy(self.state.config))

    # ---- worker -> model ---------------------------------------------------------------------
    def _on_worker_updated(self, update) -> None:
        gate.hold()             # the training thread waits until the window has taken it in
        try:
            self._apply_update(update)
        finally:
            self.worker.acknowledge()

    def _apply_update(self, update) -> None:
        s = self.state
        s.add_batches(update.batches)
        for report in update.epochs:
            s.add_epoch(report)
        if update.progress is not None:
            s.progress = update.progress
            s.progressChanged.emit(update.progress)
        if update.snapshot is not None:
            s.snapshot = update.snapshot
            s.snapshotChanged.emit(update.snapshot)
        if update.views is not None:
            s.views = update.views
            s.viewsChanged.emit(update.views)

    def _on_worker_run_state_changed(self, run_state: str) -> None:
        gate.hold()             # (panels redraw at once when training stops or pauses)
        self.state.set_run_state(run_state)

    def _on_worker_failed(self, failure: Failure) -> None:
        self.state.failure = failure
        self.state.workerFailed.emit(failure)

    def _on_worker_history_reset(self, step: int, epochs: int) -> None:
        self.state.reset_history(step, epochs)

    def _on_worker_inspected(self, reports) -> None:
        self.state.inspection = reports
        self.state.inspectionChanged.emit(reports)

    def _on_worker_data_loaded(self, data) -> None:
        self.state.data = data
        self.state.dataChanged.emit(data)

    def _on_worker_project_saved(self, path: str) -> None:
        self.state.set_project_path(path)
        self.projectSaved.emit(path)

    def _on_worker_project_opened(self, opened) -> None:
        s = self.state
        s.set_config(opened.config)
        s.set_spec(opened.builder_spec)
        s.history = opened.history
        s.batches = []
        s.epochs = [EpochReport(ev, None) for ev in opened.epochs]
        s.inspection = None
        s.historyReset.emit()
        s.set_project_path(opened.path)
        self.projectOpened.emit(opened.path)

    def _on_worker_run_outdated(self, outdated: bool) -> None:
        if outdated != self.run_outdated:
            self.run_outdated = outdated
            self.runOutdatedChanged.emit(outdated)
