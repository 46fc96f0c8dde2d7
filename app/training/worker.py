"""The training worker: one thread that owns the Trainer and obeys commands between batches.

The GUI never touches the network. It sends commands (``send("run")``, ``send("pause")``, ...)
through a queue; the worker's loop takes one command or trains one batch, never interrupting a
batch. What the GUI sees comes back as Qt signals carrying copies, throttled:

- ``updated(Update)`` at most ``1 / UPDATE_INTERVAL`` times a second while training runs: the
  batches trained since the last update, finished epochs, the position; every
  ``HEAVY_INTERVAL`` seconds (and whenever training stops) also a weight snapshot and the
  histograms and tiles of the weight views;
- ``runStateChanged(str)``: "idle", "running", "paused", "finished";
- ``failed(Failure)``: any exception, as a message with the traceback as details; the worker
  then waits for the next command, so training can start again;
- ``historyReset(step, epochs)``: the run was rebuilt (0, 0) or rewound to ``step``;
- ``inspected(list)``: nncore.inspect.layer_reports after a stepped batch or a pause;
- ``dataLoaded(EvalData)``, ``projectSaved(path)``, ``projectOpened(OpenedProject)``.
"""
from __future__ import annotations

import atexit
import copy
import json
import math
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QThread, Signal

from nncore import data as nn_data
from nncore import infer_shapes, inspect as nn_inspect, io
from nncore.errors import DataError, ModelFileError, SpecError
from nncore.network import layer_from_config
from nncore.session import TrainingConfig, build_trainer, prepare_data
from nncore.train import Diverged, History, evaluate

from .. import project
from ..history import RunHistory
from ..state import EpochReport, EvalData, Failure, ModelSnapshot, Progress
from ..views.pacing import gate
from . import blas
from .payloads import view_data

#: Seconds between updates to the GUI while training runs (5 a second: the plots redraw at
#: most 5 times a second; every update costs the GUI thread, and so the training thread that
#: shares Python's interpreter lock with it, the same however many batches it carries).
UPDATE_INTERVAL = 1 / 5
#: Seconds between weight snapshots and weight views while training runs.
HEAVY_INTERVAL = 0.5
#: When the window cannot keep to its CPU budget (app.views.pacing), updates come up to this
#: many times less often: every update costs the GUI thread the same however many batches
#: it carries, and what the GUI thread spends the training thread loses about twice over.
MAX_UPDATE_SLOWDOWN = 2.5
#: While this many updates wait in the GUI's event queue, the worker keeps collecting batches
#: instead of sending more: a slow GUI gets fewer, larger updates, never a growing backlog.
MAX_IN_FLIGHT = 1
#: Networks up to this many weights are built as soon as they are edited (to show their
#: initial weights); bigger ones are built when training starts.
PREVIEW_MAX_PARAMS = 5_000_000


#: Workers whose thread outlived ``shutdown``'s wait; joined at exit (``_join_unjoined``).
_UNJOINED: set = set()


@atexit.register
def _join_unjoined() -> None:
    for worker in list(_UNJOINED):
        worker._thread.wait()


@dataclass
class Update:
    batches: list = field(default_factory=list)       # nncore.train.BatchEvent
    epochs: list = field(default_factory=list)        # EpochReport
    progress: Progress | None = None
    snapshot: ModelSnapshot | None = None
    views: object = None                              # ViewData


def _canonical(spec: dict) -> dict:
    """The spec with every field written out (defaults included), so that two specs of the same
    network compare equal however they were written."""
    try:
        layers = [{"type": type(layer).__name__, **layer.get_config()}
                  for layer in (layer_from_config(i, e) for i, e in enumerate(spec["layers"]))]
        return {"input_shape": list(spec["input_shape"]), "layers": layers}
    except (SpecError, KeyError, TypeError):
        return spec


def _run_key(spec: dict, config: TrainingConfig) -> str:
    """What decides a run: changing any of it means a new run (learning-rate-like optimizer
    settings and the number of epochs can change during a run)."""
    spec = _canonical(spec)
    c = config.to_dict()
    c.pop("epochs")
    c["optimizer"] = c["optimizer"]["type"]
    return json.dumps([spec, c], sort_keys=True, default=str)


def _data_key(config: TrainingConfig) -> tuple:
    return (config.dataset, config.subset_per_class, config.val_split, config.seed,
            config.standardize)


def _diverged_details(exc, trainer) -> str:
    """The numbers of a divergence: where, the loss, the learning rate, the last good state."""
    lines = [f"Batch: {exc.step:,} (batches in all)", f"Loss of that batch: {exc.loss:.4g}"]
    if trainer is not None:
        opt = trainer.optimizer
        settings = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                             for k, v in opt.get_config().items())
        lines.append(f"Optimizer: {type(opt).__name__} ({settings})")
        lines.append(f"Last good state: {_where(trainer.good_state)}")
    return "\n".join(lines)


def _where(state) -> str:
    """Where a TrainState is, in words: 'batch 2,340 (epoch 3, batch 466 of it)'."""
    if state is None or not state.step:
        return "the initial weights"
    if state.batch == 0:
        return f"batch {state.step:,}, the end of epoch {state.epoch}"
    return f"batch {state.step:,} (epoch {state.epoch + 1}, its batch {state.batch:,})"


def _diverged_advice(trainer) -> str:
    """What to do next, with this run's numbers."""
    rewind = ("Rewind to last good state goes back to " + _where(trainer.good_state) + ". "
              if trainer is not None else "")
    lr = getattr(getattr(trainer, "optimizer", None), "lr", None)
    smaller = (f"divide the learning rate by 10 (it is {lr:g}: try {lr / 10:g})"
               if isinstance(lr, (int, float)) else "divide the learning rate by 10")
    return (f"{rewind}Before training on, {smaller}; standardised inputs or the Adam "
            f"optimizer also help.")


def failure_from(exc: BaseException, trainer=None) -> Failure:
    """A readable message for an exception from the worker. The details say what helps (the
    reason, the numbers, the file, nncore's message); only a genuine fault (an exception
    nothing here expects) gets its traceback, for whoever debugs it."""
    if isinstance(exc, Diverged):
        return Failure("Training diverged", f"Training paused: {exc.reason}",
                       _diverged_details(exc, trainer), kind="diverged", can_rewind=True,
                       advice=_diverged_advice(trainer))
    if isinstance(exc, MemoryError):
        return Failure("Out of memory",
                       "The computer ran out of memory while training. Make the network smaller "
                       "(fewer units or filters) or the batch size smaller, then train again.",
                       f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if isinstance(exc, (SpecError, DataError)):
        parts = [str(exc)] + [f"{name.capitalize()}: {getattr(exc, name)}"
                              for name in ("field", "expected", "received")
                              if getattr(exc, name, None) is not None]
        title = "The network cannot be built" if isinstance(exc, SpecError) else \
            "The data does not fit"
        return Failure(title, str(exc), "\n".join(parts), kind="settings")
    if isinstance(exc, ModelFileError):
        return Failure("The file cannot be opened", str(exc), f"nncore: {exc}", kind="file")
    if isinstance(exc, OSError):
        path = exc.filename if exc.filename is not None else ""
        details = (f"File: {path}\n" if path else "") + \
            f"Problem: {exc.strerror or exc} (error {exc.errno})"
        return Failure("The file cannot be written", str(exc), details, kind="file")
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return Failure("Training stopped by an error",
                   f"{type(exc).__name__}: {exc}. The network and its history are kept; "
                   f"you can train again.", details)


class _Thread(QThread):
    def __init__(self, worker):
        super().__init__()
        self.setObjectName("trainingWorkerThread")
        self._worker = worker

    def run(self):
        self._worker._loop()


class TrainingWorker(QObject):
    updated = Signal(object)
    runStateChanged = Signal(str)
    failed = Signal(object)
    historyReset = Signal(int, int)
    inspected = Signal(object)
    dataLoaded = Signal(object)
    projectSaved = Signal(str)
    projectOpened = Signal(object)
    runOutdated = Signal(bool)   # the settings or network changed: the next Train starts anew

    def __init__(self, parent=None):
        super().__init__(parent)
        self._queue: queue.Queue = queue.Queue()
        self._thread = _Thread(self)
        # everything below belongs to the worker thread once it runs
        self._spec: dict = {}
        self._config = TrainingConfig()
        self._trainer = None
        self._trainer_key = None
        self._trainer_spec = None
        self._trainer_config = None
        self._dataset = None
        self._prepared = None
        self._prepared_key = None
        self._mode = "idle"
        self._target_epoch = 0
        self._run_start_epoch = 0
        self._stop_at_epoch_end = False
        self._pause_point = None
        self._pending: list = []
        self._pending_epochs: list = []
        self._last_emit = 0.0
        self._last_heavy = 0.0
        self._heavy_due = False
        self._sent_weights = None       # which weights the GUI last got (see _weights_key)
        self._restores = 0
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self._elapsed = 0.0
        self._running_since = None
        self._tile_layer = None
        self._tile_aspect = 2.0         # width / height of the weight tiles' panel
        self._grads_computed = False    # the trainer's dL/dW come from a step of this session
        self._update_slowdown = 1.0     # (set_update_slowdown)
        self._hists_wanted = False      # a panel shows the histograms (set_histograms_wanted)
        self._last_eval = None
        self._quit = False

    # ---- GUI side ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def send(self, name: str, *args) -> None:
        """Queue a command; the worker takes it before its next batch."""
        self._queue.put((name, args))

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop after the current batch and join the thread. True if it ended in time; if not
        (a batch longer than the timeout), the worker is kept until its thread ends, and
        joined when Python exits at the latest: a QThread must never be destroyed running."""
        if not self._thread.isRunning():
            return True
        self._queue.put(("quit", ()))
        if self._thread.wait(timeout_ms):
            return True
        _UNJOINED.add(self)
        self._thread.finished.connect(lambda: _UNJOINED.discard(self))
        if not self._thread.isRunning():        # it ended while we connected
            _UNJOINED.discard(self)
        return False

    def is_alive(self) -> bool:
        return self._thread.isRunning()

    def acknowledge(self) -> None:
        """The GUI has handled an update (called by the controller, in the GUI thread)."""
        with self._in_flight_lock:
            self._in_flight = max(0, self._in_flight - 1)

    # ---- the loop (worker thread) ------------------------------------------------------------
    def _loop(self) -> None:
        blas.limit_for_training()       # one BLAS thread per core but one (app.training.blas)
        while not self._quit:
            try:
                self._iterate()
            except Exception as e:  # noqa: BLE001 - every error reaches the window
                try:
                    self._fail(e)
                except Exception:  # noqa: BLE001 - even reporting failed: keep serving
                    traceback.print_exc()
        self._flush(heavy=False)

    def _iterate(self) -> None:
        """Take one command, or (while running and none is waiting) train one batch."""
        running = self._mode == "running"
        if not running:
            self._flush(heavy=False)
        try:
            name, args = self._queue.get(block=not running)
        except queue.Empty:
            name, args = None, ()
        if name is None:                # (outside the except: an error here is not "during
            self._train_batch()         # the handling of queue.Empty")
            return
        getattr(self, f"_cmd_{name}")(*args)

    def _fail(self, exc: BaseException) -> None:
        self._stop_at_epoch_end = False
        # The window learns that training stopped, then why. A failure outside training (a
        # file that cannot be opened, say) leaves the run as it was.
        mode = self._mode
        if mode == "running" or self._trainer is None:
            mode = "paused" if self._trainer is not None and self._trainer.step else "idle"
        self._set_mode(mode, force=True)
        self.failed.emit(failure_from(exc, self._trainer))

    # ---- commands ----------------------------------------------------------------------------
    def _cmd_quit(self):
        self._leave_running()
        self._quit = True

    def _cmd_configure(self, spec: dict, config: TrainingConfig):
        # (the controller sends a configuration 150 ms after the last edit, not every keystroke)
        self._spec, self._config = copy.deepcopy(spec), copy.deepcopy(config)
        same_run = (self._trainer is not None
                    and _run_key(self._spec, self._config) == self._trainer_key)
        self.runOutdated.emit(not same_run and self._trainer is not None
                              and self._trainer.step > 0)
        if same_run:
            self._apply_live_settings()
            return
        if self._mode == "running":
            return                      # a new run starts when this one is over
        if self._trainer is None or self._trainer.step == 0:
            self._preview()

    def _apply_live_settings(self):
        self._trainer_config.optimizer = copy.deepcopy(self._config.optimizer)
        self._trainer_config.epochs = self._config.epochs
        opt = self._trainer.optimizer
        for name, value in self._config.optimizer.get("config", {}).items():
            if name in opt.hparams and getattr(opt, name) != value:
                setattr(opt, name, value)
                if name == "lr":
                    self._trainer.base_lr = value
        if self._mode in ("running", "paused") and self._run_start_epoch is not None:
            self._target_epoch = self._run_start_epoch + self._config.epochs
        if self._mode != "running":
            self._flush(heavy=False, force=True)    # the window shows the new target now

    def _cmd_prepare(self):
        """Load the data set now (at startup), so the first Train is immediate."""
        self._prepare()
        self._preview()

    def _cmd_run(self):
        if self._mode == "running":
            return
        self._ensure_trainer()
        if self._mode in ("idle", "finished") or self._target_epoch <= self._trainer.epoch:
            self._run_start_epoch = self._trainer.epoch
            self._target_epoch = self._trainer.epoch + self._config.epochs
        self._stop_at_epoch_end = False
        self._set_mode("running")

    def _cmd_pause(self):
        if self._mode != "running":
            return
        self._step_inspected()          # the batch after the click, with its inspection
        self._pause_point = self._trainer.snapshot()
        self._remember_good(self._pause_point)
        self._set_mode("paused")

    def _remember_good(self, state):
        """Where training was paused is a good state (the learner saw it, its loss was fine):
        after a divergence, "Rewind to last good state" goes there if it is the latest."""
        good = self._trainer.good_state
        if good is None or good.step < state.step:
            self._trainer.good_state = state

    def _begin_run_if_none(self):
        """Stepping from idle or finished begins a run of ``epochs`` epochs, as Train would."""
        if self._mode in ("idle", "finished") or self._target_epoch <= self._trainer.epoch:
            self._run_start_epoch = self._trainer.epoch
            self._target_epoch = self._trainer.epoch + self._config.epochs

    def _cmd_step_batch(self):
        if self._mode == "running":
            return
        self._ensure_trainer()
        self._begin_run_if_none()
        if self._pause_point is None:
            self._pause_point = self._trainer.snapshot()
            self._remember_good(self._pause_point)
        self._step_inspected()
        self._set_mode("paused", force=True)

    def _cmd_step_epoch(self):
        if self._mode == "running":
            return
        self._ensure_trainer()
        self._begin_run_if_none()
        if self._pause_point is None:
            self._pause_point = self._trainer.snapshot()
            self._remember_good(self._pause_point)
        self._stop_at_epoch_end = True
        self._set_mode("running")

    def _cmd_stop(self):
        if self._mode in ("running", "paused"):
            self._stop_at_epoch_end = False
            self._set_mode("finished")

    def _cmd_reset(self):
        self._leave_running()
        self._trainer = None
        self._pause_point = None
        self._pending, self._pending_epochs = [], []
        self._elapsed = 0.0
        self.historyReset.emit(0, 0)
        self.runOutdated.emit(False)
        self._set_mode("idle")
        self._preview()

    def _cmd_rewind(self, to_good_state: bool = False):
        if self._trainer is None or self._mode == "running":
            return
        target = self._trainer.good_state if to_good_state else self._pause_point
        if target is None:
            return
        self._pending, self._pending_epochs = [], []
        self._trainer.restore(target)   # (a later good state, now undone, becomes this one)
        self._keep_settings_in_force()
        self._restores += 1
        self.historyReset.emit(self._trainer.step, self._trainer.epoch)
        self._set_mode("paused", force=True)

    def _keep_settings_in_force(self):
        """After a rewind, the optimizer's settings are the window's, not those the state was
        taken with (a learner who set the learning rate to 50 and rewinds sees 50 in the field
        and trains with 50: the field and the rate in use agree). Unchanged settings give the
        state's own values back, so a rewind still replays identically."""
        t = self._trainer
        opt = t.optimizer
        settings = self._config.optimizer.get("config", {})
        for name, value in settings.items():
            if name in opt.hparams and name != "lr":
                setattr(opt, name, value)
        t.base_lr = settings.get("lr", t.base_lr)
        opt.lr = t.schedule.lr_at(t.base_lr, t.epoch) if t.schedule is not None else t.base_lr

    def _cmd_set_tile_layer(self, index):
        self._tile_layer = index
        self._sent_weights = None       # the views must be made again
        if self._mode != "running":
            self._flush(heavy=True, force=True)

    def _cmd_set_update_slowdown(self, factor: float):
        """Send updates ``factor`` (1 to MAX_UPDATE_SLOWDOWN) times less often than normal."""
        self._update_slowdown = min(max(float(factor), 1.0), MAX_UPDATE_SLOWDOWN)

    def _cmd_set_histograms_wanted(self, wanted: bool):
        """Histograms of the weights and gradients are made only while a panel shows them;
        one coming into view gets them at once (or, while training runs, with the next
        update)."""
        wanted = bool(wanted)
        if wanted == self._hists_wanted:
            return
        self._hists_wanted = wanted
        if wanted:
            self._sent_weights = None           # the same weights, but views with histograms
            self._heavy_due = True
            if self._mode != "running":
                self._flush(heavy=True, force=True)

    def _cmd_set_tile_aspect(self, aspect: float):
        """The tiles' panel changed shape: lay them out again to fill it."""
        self._tile_aspect = aspect
        self._cmd_set_tile_layer(self._tile_layer)

    def _cmd_save(self, path: str, builder_spec: dict, history: RunHistory):
        self._flush(heavy=False)        # the file gets the state between two batches
        if self._trainer is None:       # never trained: save the initial weights
            self._new_trainer()
        ck = project.checkpoint_for(self._trainer, self._trainer_config, builder_spec, history,
                                    self._prepared.class_names, self._prepared.preprocessing,
                                    self._target_epoch)
        io.save(ck, path, kind="project")
        self.projectSaved.emit(path)

    def _cmd_autosave(self, builder_spec: dict, history: RunHistory, write):
        """Hand the recovery checkpoint to ``write`` (app.recovery encodes and writes it in a
        thread of its own): while training runs, the state at the end of the last epoch
        (``good_state``), else the current one. Skipped until the window's curves reach it."""
        t = self._trainer
        if t is None or t.step == 0 or self._prepared is None:
            return
        state = t.good_state if self._mode == "running" else t.snapshot()
        if history.steps < state.step:
            return                      # the window has not drawn it yet: the next request
        write(project.checkpoint_for(t, self._trainer_config, builder_spec, history,
                                     self._prepared.class_names, self._prepared.preprocessing,
                                     self._target_epoch, state=state))

    def _cmd_open(self, path: str):
        """Open a project: nothing changes unless it loads completely."""
        if self._mode == "running":
            self._cmd_pause()
        opened = project.read_project(path)
        ck, config = opened.checkpoint, opened.config
        prepared = self._prepare(config, emit=False)
        trainer = build_trainer(ck.spec, config, prepared, dtype=ck.dtype)
        trainer.history = History.from_dict(ck.history or {})
        trainer.restore(project.train_state(opened, trainer))
        # it loaded: switch over
        self._spec, self._config = copy.deepcopy(opened.builder_spec), config
        self._install(trainer, ck.spec)
        self._pause_point = trainer.snapshot()   # Rewind goes back to the file's state
        self._elapsed = 0.0
        self._target_epoch = opened.target_epoch
        self._run_start_epoch = max(0, opened.target_epoch - config.epochs)
        self._emit_data()
        self.projectOpened.emit(opened)
        self.runOutdated.emit(bool(trainer.step)
                              and _run_key(self._spec, self._config) != self._trainer_key)
        # a run saved when it was done opens done ("Done: 1 of 1 epochs", Train), not paused
        # with a Resume that would train a new run anyway
        done = trainer.step and trainer.batch == 0 and trainer.epoch >= self._target_epoch
        self._set_mode("finished" if done else "paused" if trainer.step else "idle",
                       force=True)

    # ---- building ----------------------------------------------------------------------------
    def _dataset_for(self, name: str):
        if self._dataset is None or self._dataset.name != name:
            self._dataset = None
            self._dataset = nn_data.load_dataset(name)
        return self._dataset

    def _prepare(self, config: TrainingConfig | None = None, emit: bool = True):
        config = config or self._config
        if self._prepared is None or self._prepared_key != _data_key(config):
            prepared = prepare_data(config, self._dataset_for(config.dataset))
            self._prepared, self._prepared_key = prepared, _data_key(config)
            if emit:
                self._emit_data()
        return self._prepared

    def _emit_data(self):
        p = self._prepared
        self.dataLoaded.emit(EvalData(class_names=list(p.class_names), images=p.eval_images,
                                      labels=p.y_eval, preprocessing=p.preprocessing,
                                      name=p.eval_name, dataset=self._prepared_key[0],
                                      n_train=len(p.x_train)))

    def _install(self, trainer, spec):
        self._trainer = trainer
        self._trainer_spec = copy.deepcopy(spec)
        self._trainer_key = _run_key(spec, self._config)
        self._trainer_config = copy.deepcopy(self._config)
        trainer.evaluate = self._evaluate_and_keep
        self._last_eval = None
        self._pending, self._pending_epochs = [], []
        self._grads_computed = False    # a new or opened network: its dL/dW are zeros, not
        #                                 gradients (a file keeps no gradients)

    def _evaluate_and_keep(self, x, y, batch_size: int = 1000):
        t = self._trainer
        self._last_eval = evaluate(t.net, t.loss, x, y, batch_size)
        return self._last_eval

    def _new_trainer(self):
        prepared = self._prepare()
        trainer = build_trainer(self._spec, self._config, prepared)
        self._install(trainer, self._spec)
        self._pause_point = None
        self._elapsed = 0.0
        self.historyReset.emit(0, 0)
        self.runOutdated.emit(False)

    def _ensure_trainer(self):
        if self._trainer is None or self._trainer_key != _run_key(self._spec, self._config):
            self._new_trainer()
            self._mode = "idle"

    def _preview(self):
        """Build the edited network (small ones only) so its initial weights can be shown."""
        if not self._spec or (self._trainer is not None and self._trainer.step > 0):
            return
        try:
            total = sum(r["params"] for r in infer_shapes(self._spec))
        except SpecError:
            return
        if total > PREVIEW_MAX_PARAMS:
            return
        try:
            if self._trainer is None or self._trainer_key != _run_key(self._spec, self._config):
                self._new_trainer()
        except (SpecError, DataError):
            return                       # shown where it was entered; Train reports it too
        self._flush(heavy=True, force=True)

    # ---- training ----------------------------------------------------------------------------
    def _train_batch(self):
        gate.wait()                     # not while the window draws (app.views.pacing.gate)
        ev = self._trainer.step_batch()
        self._grads_computed = True
        self._record(ev)
        if ev.epoch_event is not None:
            if self._trainer.epoch >= self._target_epoch:
                self._stop_at_epoch_end = False
                self._set_mode("finished")      # the run's last epoch, stepped or not: done
                return
            if self._stop_at_epoch_end:
                self._stop_at_epoch_end = False
                self._set_mode("paused")
                return
        now = time.perf_counter()
        slower = self._update_slowdown
        if now - self._last_emit >= UPDATE_INTERVAL * slower:
            self._flush(heavy=self._heavy_due or now - self._last_heavy >= HEAVY_INTERVAL * slower,
                        wait_for_gui=True)

    def _step_inspected(self):
        net = self._trainer.net
        before = net.get_weights()
        t0 = time.perf_counter()
        ev = self._trainer.step_batch()
        self._grads_computed = True
        if self._running_since is None:
            self._elapsed += time.perf_counter() - t0
        self._record(ev)
        self._flush(heavy=True, force=True)     # the batch (and weights) before its inspection
        try:
            reports = nn_inspect.layer_reports(net, before)
        except Exception as e:  # noqa: BLE001 - the inspector must not stop training
            self.failed.emit(Failure("The inspector failed", f"{type(e).__name__}: {e}",
                                     traceback.format_exc()))
            return
        self.inspected.emit(reports)

    def _record(self, ev):
        self._pending.append(ev)
        if ev.epoch_event is not None:
            self._pending_epochs.append(EpochReport(ev.epoch_event, self._last_eval))
            self._heavy_due = True
            # While training runs, the epoch goes with the next regular update (at most
            # UPDATE_INTERVAL later): an update of its own at every epoch end was one more
            # redraw of every view each epoch, and a small network's epochs last under a second.
            if self._mode != "running":
                self._flush(heavy=True, wait_for_gui=True)

    # ---- talking to the GUI ------------------------------------------------------------------
    def _progress(self) -> Progress:
        t = self._trainer
        if t is None:
            return Progress()
        elapsed = self._elapsed
        if self._running_since is not None:
            elapsed += time.perf_counter() - self._running_since
        speed = t._speed or 0.0
        back = self._pause_point
        return Progress(step=t.step, epoch=t.epoch, batch=t.batch,
                        rewind_step=back.step if back is not None else -1,
                        rewind_epoch=back.epoch if back is not None else 0,
                        batches_per_epoch=t.batches_per_epoch,
                        target_epoch=max(self._target_epoch, t.epoch),
                        samples_per_sec=speed if math.isfinite(speed) else 0.0,
                        elapsed=elapsed, lr=float(t.optimizer.lr))

    def _flush(self, heavy: bool, force: bool = False, wait_for_gui: bool = False):
        """Send what happened since the last update. ``force``: send even if nothing did;
        ``wait_for_gui``: not while the GUI has not handled the previous update yet."""
        if not (self._pending or self._pending_epochs or force):
            return
        if wait_for_gui and self._in_flight >= MAX_IN_FLIGHT:
            return
        update = Update(batches=self._pending, epochs=self._pending_epochs,
                        progress=self._progress())
        self._pending, self._pending_epochs = [], []
        now = time.perf_counter()
        if heavy and self._trainer is not None and self._weights_key() != self._sent_weights:
            t = self._trainer
            self._sent_weights = self._weights_key()
            update.snapshot = ModelSnapshot(spec=copy.deepcopy(self._trainer_spec),
                                            dtype=t.net.dtype.name, weights=t.net.get_weights(),
                                            step=t.step, epoch=t.epoch)
            update.views = view_data(t.net, t.step, self._tile_layer, self._tile_aspect,
                                     with_grads=self._grads_computed,
                                     with_hists=self._hists_wanted)
            self._last_heavy = now
            self._heavy_due = False
        self._last_emit = now
        with self._in_flight_lock:
            self._in_flight += 1
        self.updated.emit(update)

    def _weights_key(self):
        """Changes whenever the weights may have: another trainer, a batch, a rewind."""
        t = self._trainer
        return (id(t), t.step, self._restores) if t is not None else None

    def _set_mode(self, mode: str, force: bool = False):
        if mode == "running" and self._mode != "running":
            self._running_since = time.perf_counter()
        elif mode != "running":
            self._leave_running()
        changed = mode != self._mode
        self._mode = mode
        if changed or force:
            self._flush(heavy=mode != "running", force=True)
            self.runStateChanged.emit(mode)

    def _leave_running(self):
        if self._running_since is not None:
            self._elapsed += time.perf_counter() - self._running_since
            self._running_since = None
