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
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from nncore.session import TrainingConfig


@dataclass
class EvalData:
    class_names: list
    images: np.ndarray          # uint8 (N, C, H, W) as stored in the data set
    labels: np.ndarray          # (N,) int
    preprocessing: object       # nncore.data.Preprocessing
    name: str = "test"          # "test" or "validation"


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
