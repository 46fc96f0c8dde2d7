"""The training loop, as plain Python: no GUI, no printing.

    trainer = Trainer(net, CrossEntropyLoss(), SGD(net, lr=0.1), x_train, y_train, x_val, y_val)
    ev = trainer.step_batch()           # one forward/backward/update on the next batch
    epoch = trainer.run_epoch()         # the rest of the current epoch, then evaluation
    state = trainer.snapshot()          # everything needed to rewind ...
    trainer.restore(state)              # ... and replay bit for bit

One training step: batch -> forward -> loss -> backward -> optimizer step -> BatchEvent.
A non-finite or exploding loss raises ``Diverged`` *before* the update is applied; the last good
state (``trainer.good_state``) is kept for rewinding.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np

from .errors import DataError, TrainingError
from .history import EpochEvent, History
from .losses import class_indices, predict_proba
from .layers.activations import Softmax
from .metrics import accuracy, confusion_matrix


def _chance_loss(loss, y, output_shape) -> float:
    """The loss of a network that knows nothing: ln K for cross-entropy over K classes (uniform
    probabilities), the targets' variance for MSE (outputs at the targets' mean); 1e-3 at least."""
    from .losses import CrossEntropyLoss, MSELoss, as_one_hot
    k = output_shape[0] if len(output_shape) == 1 else 0
    if isinstance(loss, CrossEntropyLoss) and k > 1:
        return max(math.log(k), 1e-3)
    if isinstance(loss, MSELoss) and len(y):
        t = as_one_hot(y, k, np.float64) if y.ndim == 1 and k else np.asarray(y, np.float64)
        return max(float(np.var(t, axis=0).mean()), 1e-3)
    return 1e-3


def _check_probabilities(loss, out) -> None:
    """CrossEntropyLoss(from_logits=False) needs probabilities: DataError, with what to do,
    when the network's output is not (e.g. the Softmax layer was left out)."""
    if getattr(loss, "from_logits", True) or out.ndim != 2 or not out.size:
        return
    lo, hi = float(out.min()), float(out.max())
    sums = out.sum(axis=1, dtype=np.float64)
    worst = float(sums[np.argmax(np.abs(sums - 1.0))])
    if lo < 0 or hi > 1.001 or abs(worst - 1.0) > 1e-3:   # (NaN passes: reported as Diverged)
        raise DataError(f"cross-entropy expects probabilities (each row between 0 and 1, "
                        f"summing to 1), but the network's outputs range from {lo:.3g} to "
                        f"{hi:.3g} and a row sums to {worst:.3g}: end the network with "
                        f"Softmax, or use CrossEntropyLoss(from_logits=True)")


class Diverged(TrainingError):
    """The loss became non-finite or exploded. ``reason`` says which; ``step`` where."""

    def __init__(self, reason: str, step: int, loss: float):
        self.reason, self.step, self.loss = reason, step, loss
        super().__init__(reason)


@dataclass
class BatchEvent:
    step: int                  # batches trained so far in total (this one included)
    epoch: int                 # 0-based epoch this batch belongs to
    batch: int                 # 1-based index of this batch within its epoch
    batches_per_epoch: int
    loss: float
    accuracy: float
    samples_per_sec: float
    lr: float
    grad_norms: dict[int, float]   # layer index -> ‖dL/dW‖ over all its weights
    epoch_event: "EpochEvent | None" = None   # set when this batch completed an epoch


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    probabilities: np.ndarray      # (N, K)
    predictions: np.ndarray        # (N,)
    targets: np.ndarray            # (N,) class indices
    confusion: np.ndarray          # (K, K)


@dataclass
class TrainState:
    """A complete copy of the training state at one moment."""
    weights: dict
    optimizer: dict
    net_rng: dict
    shuffle_rng: dict
    epoch: int
    batch: int
    order: np.ndarray
    step: int                  # the history is kept up to this step and this epoch
    initial_loss: float | None
    smoothed_loss: float | None
    epoch_sums: tuple
    lr: float


class Trainer:
    """Owns a network, a loss, an optimizer and the data, and trains batch by batch.

    x_train: (N, *input_shape) float; y_train: (N,) class indices or (N, K) one-hot rows.
    """

    def __init__(self, net, loss, optimizer, x_train, y_train, x_val=None, y_val=None,
                 batch_size: int = 64, seed: int = 0, schedule=None, shuffle: bool = True,
                 divergence_factor: float = 10.0):
        self.net, self.loss, self.optimizer = net, loss, optimizer
        self.x_train, self.y_train = self._check_data(x_train, y_train, "training")
        if len(self.x_train) == 0:
            raise DataError("the training set is empty")
        if x_val is not None:
            self.x_val, self.y_val = self._check_data(x_val, y_val, "validation")
        else:
            self.x_val = self.y_val = None
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise DataError(f"batch size must be an integer >= 1, received {batch_size!r}")
        if batch_size > len(self.x_train):
            raise DataError(f"batch size {batch_size} is larger than the training set "
                            f"({len(self.x_train)} samples)")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.schedule = schedule
        self.base_lr = optimizer.lr
        self.divergence_factor = divergence_factor
        self.rng = np.random.default_rng(seed)
        #: An ``nncore.threads.ThreadChooser`` told how long each step took, or None.
        self.threads = None
        self.history = History()
        self.epoch = 0          # epochs completed
        self.batch = 0          # batches done in the current epoch
        self.step = 0           # batches done in total
        self.initial_loss = None
        self.smoothed_loss = None
        self._speed = None
        self._epoch_sums = (0.0, 0.0, 0, 0.0)   # loss*n, correct, n, seconds
        self._chance_loss = _chance_loss(loss, self.y_train, self.net.output_shape)
        # Class indices of the training labels (checked above), for each batch's accuracy;
        # None when the network's output is not one score per class.
        out_shape = self.net.output_shape
        self._labels = class_indices(self.y_train, out_shape[0]) \
            if len(out_shape) == 1 and self.y_train.ndim <= 2 else None
        self._ends_in_softmax = bool(self.net.layers) and isinstance(self.net.layers[-1], Softmax)
        self._new_order()
        self.good_state = self.snapshot()

    # ---- data --------------------------------------------------------------------------------
    def _check_data(self, x, y, what):
        x = self.net.check_input(x)
        if y is None:
            raise DataError(f"the {what} set has images but no labels")
        y = np.asarray(y)
        if len(y) != len(x):
            raise DataError(f"the {what} set has {len(x)} images but {len(y)} labels")
        n_out = self.net.output_shape[0] if len(self.net.output_shape) == 1 else None
        if n_out is not None and y.ndim <= 2:
            class_indices(y, n_out)  # raises DataError for labels out of range
        return x, y

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(len(self.x_train) / self.batch_size)

    def _new_order(self):
        n = len(self.x_train)
        self.order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        if self.schedule is not None:
            self.optimizer.lr = self.schedule.lr_at(self.base_lr, self.epoch)

    # ---- one step ----------------------------------------------------------------------------
    def step_batch(self) -> BatchEvent:
        """Train on the next batch. Raises ``Diverged`` (without updating) on a bad loss."""
        t0 = time.perf_counter()
        idx = self.order[self.batch * self.batch_size:(self.batch + 1) * self.batch_size]
        x, y = self.x_train[idx], self.y_train[idx]
        # A diverging batch must leave no trace: keep what the forward pass changes besides
        # the weights (BatchNorm running statistics, the Dropout generator) to put it back.
        kept = ({k: a.copy() for k, a in self._layer_state_arrays()}, self.net.rng_state())
        try:
            # overflow here shows up as a non-finite loss or gradient, reported as Diverged
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                out = x
                for layer in self.net.layers:
                    out = layer.forward(out, True)
                    layer.last_output = out   # kept for nncore.inspect.layer_reports
                if not self._ends_in_softmax:   # a Softmax's output always is probabilities
                    _check_probabilities(self.loss, out)
                loss = self.loss.forward(out, y)
                # A training step needs no dL/d(input images): the first weight layer skips it.
                self.net.backward(self.loss.backward(), input_grad=False)
                norms = {i: math.sqrt(sum(float(np.vdot(g, g)) for g in layer.grads.values()))
                         for i, layer in enumerate(self.net.layers) if layer.grads}
            self.initial_loss, self.smoothed_loss = self._check_divergence(loss, norms)
        except BaseException:          # Diverged, DataError, KeyboardInterrupt, ...
            arrays, rng_state = kept
            for k, a in self._layer_state_arrays():
                a[...] = arrays[k]
            self.net.set_rng_state(rng_state)
            raise
        self.optimizer.step()
        acc = self._batch_accuracy(out, idx)
        dt = time.perf_counter() - t0
        if self.threads is not None:
            self.threads.observe(dt, len(idx))
        speed = len(idx) / dt if dt > 0 else 0.0
        self._speed = speed if self._speed is None else 0.9 * self._speed + 0.1 * speed
        self.step += 1
        self.batch += 1
        s_loss, s_correct, s_n, s_sec = self._epoch_sums
        self._epoch_sums = (s_loss + loss * len(idx), s_correct + acc * len(idx),
                            s_n + len(idx), s_sec + dt)
        self.history.add_batch(self.step, loss, acc)
        event = BatchEvent(self.step, self.epoch, self.batch, self.batches_per_epoch, loss, acc,
                           self._speed, self.optimizer.lr, norms)
        if self.batch >= self.batches_per_epoch:
            event.epoch_event = self._finish_epoch()
        return event

    def _batch_accuracy(self, out, idx):
        """Accuracy on the training samples ``idx`` (their labels were checked once, at the
        start: ``self._labels``)."""
        if out.ndim != 2 or self._labels is None:
            return float("nan")
        return float(np.count_nonzero(out.argmax(axis=1) == self._labels[idx])) / len(idx)

    def _layer_state_arrays(self):
        for i, layer in enumerate(self.net.layers):
            for name, arr in layer.state_arrays().items():
                yield f"{i}.{name}", arr

    def _check_divergence(self, loss, norms) -> tuple[float, float]:
        """(initial_loss, smoothed_loss) after this batch, or Diverged (nothing changed)."""
        if not math.isfinite(loss):
            raise Diverged(f"the loss became {loss} at step {self.step + 1}: the weights have "
                           f"grown too large. Try a smaller learning rate, or normalise the "
                           f"inputs.", self.step + 1, loss)
        bad = [i for i, n in norms.items() if not math.isfinite(n)]
        if bad:
            layer = f"layer {bad[0] + 1} ({type(self.net.layers[bad[0]]).__name__})"
            raise Diverged(f"the gradient of {layer} became infinite at step {self.step + 1}. "
                           f"Try a smaller learning rate.", self.step + 1, loss)
        initial = loss if self.initial_loss is None else self.initial_loss
        smoothed = loss if self.smoothed_loss is None else 0.8 * self.smoothed_loss + 0.2 * loss
        # Judged against the start, but never against less than the loss of a network that
        # knows nothing: a trained network starting near 0 may well have harder batches later.
        reference = max(initial, self._chance_loss)
        if smoothed > self.divergence_factor * reference:
            raise Diverged(f"the loss exploded: {smoothed:.3g} on average, more than "
                           f"{self.divergence_factor:g}× "
                           + (f"its starting value {initial:.3g}" if initial >= self._chance_loss
                              else f"that of guessing ({self._chance_loss:.3g})")
                           + ". Try a smaller learning rate.", self.step + 1, loss)
        return initial, smoothed

    def _finish_epoch(self) -> EpochEvent:
        s_loss, s_correct, s_n, s_sec = self._epoch_sums
        val = self.evaluate(self.x_val, self.y_val) if self.x_val is not None else None
        ev = EpochEvent(epoch=self.epoch + 1, step=self.step, train_loss=s_loss / s_n,
                        train_accuracy=s_correct / s_n,
                        val_loss=val.loss if val else None,
                        val_accuracy=val.accuracy if val else None,
                        seconds=s_sec, samples_per_sec=s_n / s_sec if s_sec else 0.0,
                        confusion=val.confusion if val else None)
        self.history.add_epoch(ev)
        self.epoch += 1
        self.batch = 0
        self._epoch_sums = (0.0, 0.0, 0, 0.0)
        self._new_order()
        self.good_state = self.snapshot()
        return ev

    def run_epoch(self, on_batch=None, should_stop=None) -> EpochEvent | None:
        """Train to the end of the current epoch. ``on_batch(event)`` is called after each batch;
        ``should_stop()`` is asked before each: if true, returns None where it stopped."""
        while True:
            if should_stop is not None and should_stop():
                return None
            ev = self.step_batch()
            if on_batch is not None:
                on_batch(ev)
            if ev.epoch_event is not None:
                return ev.epoch_event

    def fit(self, epochs: int, on_batch=None, on_epoch=None, should_stop=None) -> History:
        """Run ``epochs`` more epochs (or until ``should_stop``)."""
        for _ in range(epochs):
            ev = self.run_epoch(on_batch, should_stop)
            if ev is None:
                break
            if on_epoch is not None:
                on_epoch(ev)
        return self.history

    # ---- evaluation --------------------------------------------------------------------------
    def evaluate(self, x, y, batch_size: int = 1000) -> Evaluation:
        return evaluate(self.net, self.loss, x, y, batch_size)

    # ---- checkpoints -------------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, ck, x_train, y_train, x_val=None, y_val=None) -> "Trainer":
        """A Trainer that continues from ``ck`` (a ``nncore.io.Checkpoint``, e.g. from
        ``nncore.io.load``) on the given data: network, optimizer state, learning rate and
        schedule, random generators, position in the epoch and history. On the same data, its
        next steps are bit-identical to those the saved trainer would have taken."""
        from .registry import get
        if not ck.optimizer.get("type"):
            raise TrainingError("the checkpoint holds no optimizer (a weights-only file): build "
                                "a Trainer with an optimizer and set the weights instead")
        net = ck.build_network()
        loss = ck.build_loss()
        opt = ck.build_optimizer(net)
        t = ck.training
        schedule = None
        if t.get("schedule"):
            schedule = get("schedule", t["schedule"]["type"])(**t["schedule"].get("config", {}))
        trainer = cls(net, loss, opt, x_train, y_train, x_val, y_val,
                      batch_size=t.get("batch_size", 64), schedule=schedule,
                      shuffle=t.get("shuffle", True),
                      divergence_factor=t.get("divergence_factor", 10.0))
        order = trainer.order if ck.order is None else np.asarray(ck.order)
        if len(order) != len(trainer.x_train):
            raise DataError(f"the checkpoint was trained on {len(order)} samples, received "
                            f"{len(trainer.x_train)}: continue it on the same data")
        trainer.base_lr = t.get("base_lr", opt.lr)
        trainer.history = History.from_dict(ck.history)
        trainer.restore(TrainState(
            weights=net.get_weights(), optimizer=opt.state_dict(),
            net_rng=t.get("net_rng", net.rng_state()),
            shuffle_rng=t.get("shuffle_rng", copy.deepcopy(trainer.rng.bit_generator.state)),
            epoch=t.get("epoch", 0), batch=t.get("batch", 0), order=order,
            step=t.get("step", 0),
            initial_loss=t.get("initial_loss"), smoothed_loss=t.get("smoothed_loss"),
            epoch_sums=tuple(t.get("epoch_sums", (0.0, 0.0, 0, 0.0))),
            lr=t.get("lr", opt.lr)))
        trainer.good_state = trainer.snapshot()
        return trainer

    # ---- snapshots ---------------------------------------------------------------------------
    def snapshot(self) -> TrainState:
        return TrainState(
            weights=self.net.get_weights(), optimizer=self.optimizer.state_dict(),
            net_rng=self.net.rng_state(), shuffle_rng=copy.deepcopy(self.rng.bit_generator.state),
            epoch=self.epoch, batch=self.batch, order=self.order.copy(), step=self.step,
            initial_loss=self.initial_loss, smoothed_loss=self.smoothed_loss,
            epoch_sums=self._epoch_sums, lr=self.optimizer.lr)

    def restore(self, state: TrainState) -> None:
        """Go back to ``state``: weights, optimizer, random generators, position, history.

        A ``good_state`` later than ``state`` belongs to the steps just undone: ``state`` (good
        when it was taken) becomes the good state instead, so that a later rewind to the good
        state never jumps forward into them."""
        self.net.set_weights(state.weights)
        self.optimizer.load_state_dict(state.optimizer)
        self.optimizer.lr = state.lr
        self.net.set_rng_state(state.net_rng)
        self.rng.bit_generator.state = copy.deepcopy(state.shuffle_rng)
        self.epoch, self.batch, self.step = state.epoch, state.batch, state.step
        self.order = state.order.copy()
        self.history.truncate(state.step, state.epoch)
        self.initial_loss, self.smoothed_loss = state.initial_loss, state.smoothed_loss
        self._epoch_sums = state.epoch_sums
        self._speed = None
        if self.good_state is not None and self.good_state.step > state.step:
            self.good_state = state


def evaluate(net, loss, x, y, batch_size: int = 1000) -> Evaluation:
    """Loss, accuracy, probabilities and confusion matrix of ``net`` on (x, y), in eval mode."""
    x = net.check_input(x)
    y = np.asarray(y)
    if len(y) != len(x):
        raise DataError(f"{len(x)} images but {len(y)} labels")
    k = net.output_shape[0]
    targets = class_indices(y, k)
    from_logits = getattr(loss, "from_logits", False)
    total, probs = 0.0, []
    for i in range(0, len(x), batch_size):
        out = net.forward(x[i:i + batch_size])
        total += loss.forward(out, y[i:i + batch_size]) * len(out)
        probs.append(predict_proba(out, from_logits))
    p = np.concatenate(probs) if probs else np.zeros((0, k), dtype=net.dtype)
    pred = p.argmax(axis=1) if len(p) else np.zeros(0, dtype=np.intp)
    n = max(len(x), 1)
    return Evaluation(loss=total / n, accuracy=accuracy(targets, pred), probabilities=p,
                      predictions=pred, targets=targets,
                      confusion=confusion_matrix(targets, pred, k))
