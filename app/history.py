"""Bounded curves for the live plots: memory stays flat however long training runs.

A ``Series`` keeps (x, y) points in two preallocated arrays. While it has room, every point is
kept exactly (so one more batch is one more point on the plot). When it is full, neighbouring
points are merged pairwise (x and y averaged) and from then on new points are averaged in
groups of the same size: the whole curve keeps one resolution, and a run of hours still fits
in ``capacity`` points.

``RunHistory`` groups the curves one training run produces: loss per batch (raw and smoothed),
accuracy, per-epoch training/validation loss and accuracy, and each layer's gradient norm.
Qt-free, so it is easy to test and to save in a project file.
"""
from __future__ import annotations

import math

import numpy as np

#: Points kept per curve before old points are merged.
DEFAULT_CAPACITY = 20_000


class Series:
    """(x, y) points, at most ``capacity`` of them, at the same resolution over the whole run.

    Until the series is full each point is stored as it comes. When it is full, neighbouring
    points are merged pairwise (x and y averaged), so every stored point then stands for
    ``stride`` = 2, 4, 8, ... original points; new points are averaged in groups of ``stride``
    before they are stored. The group being filled is shown as a provisional last point, so
    the curve is always up to date.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        if capacity < 4 or capacity % 2:
            raise ValueError(f"capacity must be an even number >= 4, received {capacity}")
        self.capacity = capacity
        self._x = np.empty(capacity + 1, dtype=np.float64)   # + 1: the provisional point
        self._y = np.empty(capacity + 1, dtype=np.float64)
        self.n = 0                   # stored points
        self.stride = 1              # original points per stored point
        self._acc = [0.0, 0.0, 0]    # sum of x, sum of y, count of the group being filled

    def __len__(self) -> int:
        return self.n + (1 if self._acc[2] else 0)

    def _with_partial(self) -> int:
        if self._acc[2]:
            sx, sy, k = self._acc
            self._x[self.n] = sx / k
            self._y[self.n] = sy / k
            return self.n + 1
        return self.n

    @property
    def x(self) -> np.ndarray:
        """The x values (a view: copy it to keep it)."""
        return self._x[:self._with_partial()]

    @property
    def y(self) -> np.ndarray:
        return self._y[:self._with_partial()]

    def last(self) -> tuple[float, float] | None:
        n = self._with_partial()
        return (float(self._x[n - 1]), float(self._y[n - 1])) if n else None

    def append(self, x: float, y: float) -> None:
        acc = self._acc
        acc[0] += x
        acc[1] += y
        acc[2] += 1
        if acc[2] < self.stride:
            return
        if self.n == self.capacity:
            self._merge()            # the stride doubles: this group keeps filling
            return
        self._x[self.n] = acc[0] / acc[2]
        self._y[self.n] = acc[1] / acc[2]
        self.n += 1
        self._acc = [0.0, 0.0, 0]

    def extend(self, xs, ys) -> None:
        """``append`` each point, whole groups at a time where they fit (the same result: a
        group's sums are taken in the same order)."""
        xs = np.asarray(xs, dtype=np.float64).ravel()
        ys = np.asarray(ys, dtype=np.float64).ravel()
        i, n = 0, len(xs)
        while i < n:
            k = self.stride
            groups = min((n - i) // k, self.capacity - self.n)
            if self._acc[2] or groups <= 0:
                self.append(float(xs[i]), float(ys[i]))      # a group already begun, or full
                i += 1
                continue
            end = self.n + groups
            if k == 1:
                self._x[self.n:end] = xs[i:i + groups]
                self._y[self.n:end] = ys[i:i + groups]
            else:
                self._x[self.n:end] = xs[i:i + groups * k].reshape(groups, k).cumsum(1)[:, -1] / k
                self._y[self.n:end] = ys[i:i + groups * k].reshape(groups, k).cumsum(1)[:, -1] / k
            self.n = end
            i += groups * k

    def _merge(self) -> None:
        half = self.n // 2
        self._x[:half] = 0.5 * (self._x[0:2 * half:2] + self._x[1:2 * half:2])
        self._y[:half] = 0.5 * (self._y[0:2 * half:2] + self._y[1:2 * half:2])
        self.n = half
        self.stride *= 2

    def truncate(self, x_max: float) -> None:
        """Drop every point with x > x_max (after a rewind)."""
        self._acc = [0.0, 0.0, 0]
        self.n = int(np.searchsorted(self._x[:self.n], x_max, side="right"))

    def clear(self) -> None:
        self.n = 0
        self.stride = 1
        self._acc = [0.0, 0.0, 0]

    def to_array(self) -> np.ndarray:
        """(n, 2) copy: columns x and y (the provisional point included)."""
        return np.stack([self.x, self.y], axis=1) if len(self) else np.zeros((0, 2))

    @classmethod
    def from_array(cls, arr, capacity: int = DEFAULT_CAPACITY) -> "Series":
        s = cls(capacity)
        arr = np.asarray(arr, dtype=np.float64).reshape(-1, 2)
        s.extend(arr[:, 0], arr[:, 1])
        return s


class RunHistory:
    """Every curve of one training run, bounded.

    Batch curves use the global step (1-based batch count) as x; epoch curves too (the step at
    which the epoch ended), so batch and epoch points share one axis.
    """

    #: Weight of the newest batch in the smoothed curves (an exponential moving average), at
    #: least: with epochs shorter than 2/SMOOTHING − 1 = 39 batches it is 2/(batches + 1), so
    #: the curve follows about one epoch — the span the epoch points average over. (A fixed
    #: 0.05 on a 16-batch epoch kept the first batches' loss in the curve for epochs.) The
    #: average is bias-corrected, as Adam's are: the weights of the points seen so far are
    #: made to sum to 1, instead of the first point standing for all the batches before it —
    #: which held the curve above every recent loss for a whole short run (tester 7).
    SMOOTHING = 0.05
    BATCH_CURVES = ("loss", "loss_smooth", "accuracy_smooth")
    EPOCH_CURVES = ("train_loss", "val_loss", "train_accuracy", "val_accuracy")

    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        self.capacity = capacity
        self.curves = {name: Series(capacity) for name in self.BATCH_CURVES + self.EPOCH_CURVES}
        self.grad_norms: dict[int, Series] = {}
        self.steps = 0           # batches recorded
        self.epochs = 0          # epochs recorded
        self._ema = {"loss": None, "accuracy": None}    # (weighted sum, sum of weights)
        self._weight = self.SMOOTHING                     # the last weight used

    def __getitem__(self, name: str) -> Series:
        return self.curves[name]

    # ---- adding ------------------------------------------------------------------------------
    def smoothing(self, batches_per_epoch: int) -> float:
        """The newest batch's weight in the smoothed curves, for epochs of this many batches."""
        return max(self.SMOOTHING, 2 / (max(int(batches_per_epoch), 1) + 1))

    def _smooth(self, key: str, value: float, weight: float) -> float:
        """The smoothed value after ``value``: Σ wᵢ·vᵢ / Σ wᵢ with wᵢ = weight·(1 − weight)^age
        over the finite values so far (a non-finite one is left out)."""
        return float(self._smooth_all(key, np.array([value], dtype=np.float64), weight)[0])

    def add_batch(self, event) -> None:
        """Record one nncore.train.BatchEvent."""
        step = event.step
        weight = self.smoothing(event.batches_per_epoch)
        self.curves["loss"].append(step, event.loss)
        self.curves["loss_smooth"].append(step, self._smooth("loss", event.loss, weight))
        if math.isfinite(event.accuracy):
            self.curves["accuracy_smooth"].append(
                step, self._smooth("accuracy", event.accuracy, weight))
        for layer, norm in event.grad_norms.items():
            series = self.grad_norms.get(layer)
            if series is None:
                series = self.grad_norms[layer] = Series(self.capacity)
            series.append(step, norm)
        self.steps = step

    def add_batches(self, events) -> None:
        """``add_batch`` for each of ``events`` (a throttled update's worth), on arrays."""
        if not events:
            return
        n = len(events)
        steps = np.fromiter((e.step for e in events), np.float64, n)
        loss = np.fromiter((e.loss for e in events), np.float64, n)
        acc = np.fromiter((e.accuracy for e in events), np.float64, n)
        weight = self.smoothing(events[-1].batches_per_epoch)
        self.curves["loss"].extend(steps, loss)
        self.curves["loss_smooth"].extend(steps, self._smooth_all("loss", loss, weight))
        finite = np.isfinite(acc)
        self.curves["accuracy_smooth"].extend(steps[finite],
                                              self._smooth_all("accuracy", acc[finite], weight))
        layers = events[0].grad_norms.keys()
        if all(e.grad_norms.keys() == layers for e in events):
            for layer in layers:
                series = self.grad_norms.get(layer)
                if series is None:
                    series = self.grad_norms[layer] = Series(self.capacity)
                series.extend(steps, np.fromiter((e.grad_norms[layer] for e in events),
                                                 np.float64, n))
        else:                               # the layers changed within the update: one by one
            for e in events:
                for layer, norm in e.grad_norms.items():
                    series = self.grad_norms.get(layer)
                    if series is None:
                        series = self.grad_norms[layer] = Series(self.capacity)
                    series.append(e.step, norm)
        self.steps = events[-1].step

    def _smooth_all(self, key: str, values: np.ndarray, weight: float) -> np.ndarray:
        """``_smooth`` of each value in turn, as an array (a value before any finite one is
        shown as it is)."""
        a, b = weight, 1 - weight
        self._weight = weight
        total, norm = self._ema[key] or (0.0, 0.0)
        out = []
        isfinite = math.isfinite
        for v in values.tolist():
            if isfinite(v):
                total, norm = b * total + a * v, b * norm + a
            out.append(total / norm if norm > 0 else v)
        self._ema[key] = (total, norm)
        return np.array(out, dtype=np.float64)

    def add_epoch(self, event) -> None:
        """Record one nncore.train.EpochEvent."""
        self.curves["train_loss"].append(event.step, event.train_loss)
        self.curves["train_accuracy"].append(event.step, event.train_accuracy)
        if event.val_loss is not None:
            self.curves["val_loss"].append(event.step, event.val_loss)
        if event.val_accuracy is not None:
            self.curves["val_accuracy"].append(event.step, event.val_accuracy)
        self.epochs = event.epoch

    # ---- going back --------------------------------------------------------------------------
    def truncate(self, step: int, epochs: int) -> None:
        """Keep what happened up to ``step`` (after a rewind to that step)."""
        for series in list(self.curves.values()) + list(self.grad_norms.values()):
            series.truncate(step)
        self.steps, self.epochs = step, epochs
        for key, curve in (("loss", "loss_smooth"), ("accuracy", "accuracy_smooth")):
            # the state after the kept points: their count gives the sum of their weights
            # (exact unless the curve was thinned: by then that sum is 1 to float precision)
            last, kept = self.curves[curve].last(), len(self.curves[curve])
            norm = 1 - (1 - self._weight) ** kept
            self._ema[key] = (last[1] * norm, norm) if last and math.isfinite(last[1]) \
                else None

    def clear(self) -> None:
        self.truncate(0, 0)
        self.grad_norms.clear()

    # ---- files -------------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every curve as an (n, 2) array, for a project file."""
        out = {f"curve/{name}": s.to_array() for name, s in self.curves.items()}
        out.update({f"grad_norm/{layer}": s.to_array() for layer, s in self.grad_norms.items()})
        return out

    @classmethod
    def from_arrays(cls, arrays: dict, steps: int = 0, epochs: int = 0,
                    capacity: int = DEFAULT_CAPACITY) -> "RunHistory":
        h = cls(capacity)
        for key, arr in arrays.items():
            kind, _, name = key.partition("/")
            if kind == "curve" and name in h.curves:
                h.curves[name] = Series.from_array(arr, capacity)
            elif kind == "grad_norm" and name.isdigit():
                h.grad_norms[int(name)] = Series.from_array(arr, capacity)
        h.truncate(steps, epochs)   # also restores the smoothing state
        return h
