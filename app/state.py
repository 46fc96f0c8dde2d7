"""StudioState: the one model object that the window's panels bind to.

It lives in the GUI thread and only ever holds copies (never arrays the worker is writing).
Panels read its attributes and connect to its signals; they never talk to each other or to the
worker directly. The training controller is what feeds it (from the worker's throttled signals).

Payloads (all plain Python / NumPy, defined in nncore so they stay Qt-free):
- ``spec``: the network spec dict being edited (nncore.Network.from_spec format).
- ``config``: nncore.session.TrainingConfig.
- ``data``: an EvalData: class_names, the evaluation images as uint8 (N, C, H, W), their labels,
  and the Preprocessing that turns images into network input.
- ``snapshot``: a ModelSnapshot: spec, dtype, weights (dict of copies), step, epoch — enough to
  rebuild the network in any thread: ``snapshot.build()``.
- batch events: nncore.train.BatchEvent; epoch reports: EpochReport (the EpochEvent plus the
  Evaluation on the evaluation set: probabilities, predictions, targets, confusion).
- ``inspection``: list of nncore.inspect.LayerReport for the last trained batch (set when paused
  or stepping).

Added for the window's own panels (all optional for other panels):
- ``history``: app.history.RunHistory, the bounded curves of the run (loss, accuracy, gradient
  norms); views redraw from it on ``batchTrained`` / ``epochEvaluated`` / ``historyReset``.
- ``batches`` keeps only the newest ``MAX_RECENT_BATCHES`` events, and ``epochs`` keeps every
  EpochReport but only the newest one keeps its ``evaluation`` (older ones have None), so memory
  stays flat on long runs. While training runs, ``batchTrained`` is emitted once per throttled
  update with the newest event; all events of that update are already in ``batches``/``history``.
- ``progress``: a Progress (epoch, batch, samples/s, elapsed) -> ``progressChanged``.
- ``views``: a ViewData (weight/gradient histograms, weight tiles) -> ``viewsChanged``.
- ``spec_check``: a SpecCheck (per-layer shapes and the first error) -> ``specChecked``.
- ``failure``: the last worker Failure -> ``workerFailed``.
- ``project_path`` -> ``projectChanged``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from nncore.session import TrainingConfig

from .history import RunHistory

#: How many of the newest BatchEvents ``StudioState.batches`` keeps.
MAX_RECENT_BATCHES = 2000


@dataclass
class EvalData:
    class_names: list
    images: np.ndarray          # uint8 (N, C, H, W) as stored in the data set
    labels: np.ndarray          # (N,) int
    preprocessing: object       # nncore.data.Preprocessing
    name: str = "test"          # "test" or "validation"
    dataset: str = ""           # data set name, e.g. "mnist"
    n_train: int = 0            # size of the training split actually trained on


@dataclass
class ModelSnapshot:
    spec: dict
    dtype: str
    weights: dict
    step: int = 0
    epoch: int = 0

    def build(self):
        """A fresh nncore Network with these weights (call it off the GUI thread)."""
        from nncore import Network
        net = Network.from_spec(self.spec, dtype=self.dtype)
        net.set_weights(self.weights)
        return net


@dataclass
class EpochReport:
    event: object               # nncore.train.EpochEvent
    evaluation: object          # nncore.train.Evaluation on the evaluation set


@dataclass
class Progress:
    """Where training is: shown by the status bar and the epoch progress bar."""
    step: int = 0               # batches trained in total
    epoch: int = 0              # epochs completed
    batch: int = 0              # batches done in the current epoch
    batches_per_epoch: int = 0
    target_epoch: int = 0       # training runs until ``epoch`` reaches this
    samples_per_sec: float = 0.0
    elapsed: float = 0.0        # seconds spent training in this run
    lr: float = 0.0
    rewind_step: int = -1       # where Rewind goes (batches in all); -1: nowhere
    rewind_epoch: int = 0       # ... its epochs completed


@dataclass
class Histogram:
    edges: np.ndarray           # (bins + 1,)
    counts: np.ndarray          # (bins,)
    zero_fraction: float = 0.0  # share of values exactly 0
    clipped: float = 0.0        # share of values outside the edges (the extreme tails)


@dataclass
class TileImage:
    """A layer's weights as one mosaic image of tiles (one per unit or per filter)."""
    layer: int
    image: np.ndarray           # (H, W) float32 mosaic; NaN between tiles
    tiles: int
    tile_shape: tuple
    grid: tuple                 # (rows, cols)
    vmax: float                 # symmetric colour range: [-vmax, vmax]
    caption: str = ""
    grouped: bool = False       # each tile a block of kernels (a filter's, one per channel)


@dataclass
class ViewData:
    """Display data the worker prepares from the network (the GUI thread computes nothing)."""
    step: int
    weight_hists: dict | None   # layer index -> Histogram of its weights W (None: not made,
    grad_hists: dict | None     # ... -> Histogram of dL/dW          no panel shows them)
    tiles: TileImage | None
    tile_layers: list           # [(layer index, caption)] of layers that can be shown as tiles
    layer_names: dict           # layer index -> "Dense(units=128)"


@dataclass
class SpecCheck:
    """Shape inference of the spec being edited."""
    rows: list                  # nncore.infer_shapes rows of the valid layers before the error
    error: object = None        # nncore.SpecError or None
    total_params: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Failure:
    """Something went wrong in the worker; shown as a message with a details section."""
    title: str
    message: str
    details: str = ""
    kind: str = "error"         # "error", "diverged", "file", "settings"
    can_rewind: bool = False
    advice: str = ""            # what to do next (the message box's informative text)


class StudioState(QObject):
    specChanged = Signal(dict)
    configChanged = Signal(object)
    dataChanged = Signal(object)          # EvalData
    snapshotChanged = Signal(object)      # ModelSnapshot (throttled while training)
    batchTrained = Signal(object)         # nncore.train.BatchEvent
    epochEvaluated = Signal(object)       # EpochReport
    inspectionChanged = Signal(object)    # list[nncore.inspect.LayerReport]
    runStateChanged = Signal(str)         # "idle", "running", "paused", "finished"
    historyReset = Signal()               # history cleared or rewound: views redraw from state
    progressChanged = Signal(object)      # Progress
    viewsChanged = Signal(object)         # ViewData
    specChecked = Signal(object)          # SpecCheck
    workerFailed = Signal(object)         # Failure
    projectChanged = Signal(str)          # path of the open project ("" for none)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.spec: dict = {}
        self.config = TrainingConfig()
        self.data: EvalData | None = None
        self.snapshot: ModelSnapshot | None = None
        self.batches: list = []           # BatchEvents so far
        self.epochs: list = []            # EpochReports so far
        self.inspection: list | None = None
        self.run_state = "idle"
        self.history = RunHistory()
        self.progress = Progress()
        self.views: ViewData | None = None
        self.spec_check = SpecCheck(rows=[])
        self.failure: Failure | None = None
        self.project_path = ""

    # ---- setters: set the attribute, then tell the panels ------------------------------------
    def set_spec(self, spec: dict) -> None:
        self.spec = copy.deepcopy(spec)
        self.specChanged.emit(self.spec)

    def set_config(self, config: TrainingConfig) -> None:
        self.config = config
        self.configChanged.emit(config)

    def set_spec_check(self, check: SpecCheck) -> None:
        self.spec_check = check
        self.specChecked.emit(check)

    def set_run_state(self, run_state: str) -> None:
        if run_state != self.run_state:
            self.run_state = run_state
            self.runStateChanged.emit(run_state)

    def set_project_path(self, path: str) -> None:
        self.project_path = path
        self.projectChanged.emit(path)

    @property
    def last_report(self) -> EpochReport | None:
        return self.epochs[-1] if self.epochs else None

    def add_batches(self, events: list) -> None:
        """Record BatchEvents (history and the bounded ``batches``), then emit once."""
        if not events:
            return
        self.history.add_batches(events)
        self.batches.extend(events)
        if len(self.batches) > MAX_RECENT_BATCHES:
            del self.batches[:len(self.batches) - MAX_RECENT_BATCHES]
        self.batchTrained.emit(events[-1])

    def add_epoch(self, report: EpochReport) -> None:
        if self.epochs and self.epochs[-1].evaluation is not None:
            self.epochs[-1] = EpochReport(self.epochs[-1].event, None)
        self.epochs.append(report)
        self.history.add_epoch(report.event)
        self.epochEvaluated.emit(report)

    def reset_history(self, step: int = 0, epochs: int = 0) -> None:
        """Forget everything after ``step`` (0: everything), then emit historyReset."""
        if step <= 0:
            self.history.clear()
            self.batches.clear()
            self.epochs.clear()
        else:
            self.history.truncate(step, epochs)
            self.batches[:] = [b for b in self.batches if b.step <= step]
            del self.epochs[epochs:]
        self.inspection = None
        self.historyReset.emit()
