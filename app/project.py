"""Project files: the whole session (network, settings, weights, history) in nncore's format.

A project is an ``nncore.io.Checkpoint`` saved with ``kind="project"``. What only the app needs
goes into ``Checkpoint.extra`` (JSON) and ``Checkpoint.arrays`` (NumPy):

- ``extra["app"]``: ``{"config": TrainingConfig dict, "builder_spec": the spec in the builder
  (may differ from the trained one if it was edited after training), "position": where training
  is, to continue exactly (epoch, batch, step, random generator states, ...), "target_epoch"}``
- ``arrays["order"]``: the shuffled sample order of the current epoch;
  ``arrays["curve/..."]``, ``arrays["grad_norm/..."]``: the bounded plot curves (app.history).

Qt-free: the worker thread writes and reads these files.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from nncore import io
from nncore.errors import ModelFileError
from nncore.session import TrainingConfig
from nncore.train import History, TrainState

from .history import RunHistory

SUFFIX = ".nnproj"
FILE_FILTER = "NN Studio projects (*.nnproj);;NN Studio models (*.nnmodel *.nns);;All files (*)"
APP_KEY = "app"


def checkpoint_for(trainer, config: TrainingConfig, builder_spec: dict, history: RunHistory,
                   class_names: list, preprocessing, target_epoch: int,
                   state: TrainState | None = None) -> io.Checkpoint:
    """The Checkpoint of a live session (called in the worker thread). ``state``: a state the
    trainer passed through (e.g. ``trainer.good_state``, the end of the last epoch) to save
    instead of the current one; both histories are then cut at its step."""
    ck = io.checkpoint_from_trainer(trainer, state=state, class_names=list(class_names),
                                    preprocessing=preprocessing.to_dict())
    if state is None:
        state = trainer.snapshot()
    elif history.steps > state.step:
        history = copy.deepcopy(history)
        history.truncate(state.step, state.epoch)
    ck.extra = {APP_KEY: {
        "config": config.to_dict(),
        "builder_spec": copy.deepcopy(builder_spec),
        "target_epoch": int(target_epoch),
        "position": {
            "epoch": state.epoch, "batch": state.batch, "step": state.step,
            "net_rng": state.net_rng, "shuffle_rng": state.shuffle_rng,
            "initial_loss": state.initial_loss, "smoothed_loss": state.smoothed_loss,
            "epoch_sums": list(state.epoch_sums), "lr": state.lr,
        },
    }}
    ck.arrays = {"order": np.asarray(state.order, dtype=np.int64), **history.to_arrays()}
    return ck


@dataclass
class OpenedProject:
    """What a project file holds, parsed and checked (the network is not built yet)."""
    path: str
    checkpoint: io.Checkpoint
    config: TrainingConfig
    builder_spec: dict
    history: RunHistory
    epochs: list              # EpochEvents
    position: dict | None     # None: start a new run on these weights
    target_epoch: int


def read_project(path) -> OpenedProject:
    """Load a project (or a plain model/checkpoint file); ModelFileError for anything wrong."""
    loaded = io.load(path)
    if not isinstance(loaded, io.Checkpoint):      # a network file: weights only
        net = loaded
        loaded = io.Checkpoint(spec=net.to_spec(), weights=net.get_weights(),
                               dtype=net.dtype.name)
    ck = loaded
    app = ck.extra.get(APP_KEY) if isinstance(ck.extra, dict) else None
    try:
        if isinstance(app, dict):
            config = TrainingConfig.from_dict(app["config"])
            builder_spec = app.get("builder_spec") or ck.spec
            position = app.get("position")
            target = int(app.get("target_epoch", 0))
        elif isinstance(ck.extra, dict) and isinstance(ck.extra.get("config"), dict):
            # written by nn-train: its settings are in extra["config"]
            config = TrainingConfig.from_dict(ck.extra["config"])
            builder_spec, position, target = ck.spec, None, 0
        else:
            config = TrainingConfig()
            if ck.loss:
                config.loss = copy.deepcopy(ck.loss)
            if ck.optimizer.get("type"):
                config.optimizer = {"type": ck.optimizer["type"],
                                    "config": dict(ck.optimizer.get("config", {}))}
            bs = ck.training.get("batch_size")
            if isinstance(bs, int):
                config.batch_size = bs
            config.validate()
            builder_spec, position, target = ck.spec, None, 0
        history_obj = History.from_dict(ck.history or {})
        epochs = list(history_obj.epochs)
        curves = {k: v for k, v in ck.arrays.items() if k.startswith(("curve/", "grad_norm/"))}
        step = int(position["step"]) if position else 0
        if curves:
            history = RunHistory.from_arrays(curves, steps=step, epochs=len(epochs))
        else:
            history = _history_from(history_obj)
        if position is not None and "order" not in ck.arrays:
            raise ModelFileError(f"{path}: the project lacks its sample order")
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: the project's settings are inconsistent ({e})") from None
    return OpenedProject(str(path), ck, config, builder_spec, history, epochs, position, target)


def _history_from(history: History) -> RunHistory:
    """Plot curves rebuilt from nncore's own history (files without app curves)."""
    h = RunHistory()
    # batches per epoch: the first epoch's last step (its length), for the curves' smoothing
    per = history.epochs[0].step if history.epochs else 0

    class _Batch:   # the fields RunHistory.add_batch reads
        def __init__(self, step, loss, acc):
            self.step, self.loss, self.accuracy, self.grad_norms = step, loss, acc, {}
            self.batches_per_epoch = per
    for step, loss, acc in zip(history.batch_steps, history.batch_loss, history.batch_accuracy):
        h.add_batch(_Batch(step, loss, acc))
    for ev in history.epochs:
        h.add_epoch(ev)
    return h


def train_state(project: OpenedProject, trainer) -> TrainState:
    """The TrainState that continues ``project``, for ``trainer.restore``: exactly where it
    was for the app's projects; at the start of the next epoch for other checkpoints."""
    ck, pos = project.checkpoint, project.position
    if pos is None:
        here = trainer.snapshot()
        epoch = int(ck.training.get("epoch", 0) or 0)
        step = int(ck.training.get("step", 0) or 0)
        return TrainState(
            weights=ck.weights, optimizer=ck.optimizer.get("state") or here.optimizer,
            net_rng=here.net_rng, shuffle_rng=here.shuffle_rng, epoch=epoch, batch=0,
            order=here.order, step=step,
            initial_loss=None, smoothed_loss=None, epoch_sums=(0.0, 0.0, 0, 0.0),
            lr=float(ck.optimizer.get("config", {}).get("lr", here.lr)))
    order = np.asarray(ck.arrays["order"], dtype=np.int64)
    if len(order) != len(trainer.x_train):
        raise ModelFileError(f"{project.path}: the project was trained on {len(order)} samples "
                             f"but its data set now has {len(trainer.x_train)}")
    opt_state = ck.optimizer.get("state") or trainer.optimizer.state_dict()
    return TrainState(
        weights=ck.weights, optimizer=opt_state, net_rng=pos["net_rng"],
        shuffle_rng=pos["shuffle_rng"], epoch=int(pos["epoch"]), batch=int(pos["batch"]),
        order=order, step=int(pos["step"]),
        initial_loss=pos["initial_loss"], smoothed_loss=pos["smoothed_loss"],
        epoch_sums=tuple(pos["epoch_sums"]), lr=float(pos["lr"]))
