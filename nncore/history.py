"""What training produced so far, bounded: memory stays flat however long training runs.

``History`` keeps, per batch, the step number, the loss and the accuracy (three parallel lists:
``batch_steps``, ``batch_loss``, ``batch_accuracy``), and the ``EpochEvent``s in ``epochs``.

Bounded, not lossy where it matters:

- the newest ``recent`` batches are kept one point each, exactly as they were trained, so a
  rewind to a recent pause (``truncate``) leaves exactly the points up to that step;
- older batches are merged into groups of ``stride`` consecutive steps: a group is one point
  at its last step, holding the group's mean loss and mean accuracy. Groups are aligned on
  multiples of the stride (steps 1..s, s+1..2s, ...), so the same run gives the same points
  however it was paused, rewound, saved and continued;
- when more than ``capacity`` groups accumulate, neighbouring groups are merged pairwise and
  the stride doubles: the whole older curve keeps one resolution, and a run of days still
  fits in ``capacity + recent`` points (about 2 MB with the defaults);
- epochs: the newest ``CONFUSIONS_KEPT`` keep their confusion matrix (older ones keep their
  losses and accuracies); beyond ``EPOCH_CAPACITY`` events, every second one older than the
  newest ``RECENT_EPOCHS`` is dropped (a run of tiny epochs over a weekend stays small).

Per-batch gradient norms are not kept here: every ``BatchEvent`` carries them, and whoever
plots them keeps its own bounded curves (the app does).
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace

import numpy as np

from .errors import DataError

#: Newest batches kept one point each (more than an epoch of MNIST at batch size 64, so a
#: rewind to the last epoch's end is exact too).
RECENT_BATCHES = 4096
#: Merged points kept for everything older, before they are merged pairwise.
MERGED_CAPACITY = 16_384
#: The newest epochs keep their confusion matrix; older EpochEvents are kept without it.
CONFUSIONS_KEPT = 100
#: Epochs kept one event each (the newest) ...
RECENT_EPOCHS = 1024
#: ... and at most this many in all: beyond it, every second older event is dropped.
EPOCH_CAPACITY = 4096


@dataclass
class EpochEvent:
    epoch: int                 # 1-based number of epochs completed
    step: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float
    samples_per_sec: float
    confusion: np.ndarray | None = None


class History:
    """Per-batch points (bounded, see the module) and every epoch; ``Trainer.restore`` truncates
    it with ``truncate(step, epoch)``."""

    def __init__(self, capacity: int = MERGED_CAPACITY, recent: int = RECENT_BATCHES):
        if not isinstance(capacity, int) or capacity < 2:
            raise ValueError(f"capacity must be an integer >= 2, received {capacity!r}")
        if not isinstance(recent, int) or recent < 0:
            raise ValueError(f"recent must be an integer >= 0, received {recent!r}")
        self.capacity, self.recent = capacity, recent
        self.batch_steps: list[int] = []
        self.batch_loss: list[float] = []
        self.batch_accuracy: list[float] = []
        self.epochs: list[EpochEvent] = []
        self.stride = 1              # steps per group among the merged points
        self.merged = 0              # the first ``merged`` points are groups ...
        self._counts: list[int] = []  # ... of this many batches each

    def __len__(self) -> int:
        return len(self.batch_steps)

    def __repr__(self) -> str:
        return (f"History({len(self)} batch points, {self.merged} of them merged by "
                f"{self.stride}, {len(self.epochs)} epochs)")

    # ---- adding ------------------------------------------------------------------------------
    def add_batch(self, step: int, loss: float, accuracy: float) -> None:
        """Record batch ``step`` (steps must increase)."""
        self.batch_steps.append(int(step))
        self.batch_loss.append(float(loss))
        self.batch_accuracy.append(float(accuracy))
        if len(self.batch_steps) - self.merged >= self.recent + self.stride:
            self._age()

    def add_epoch(self, event: EpochEvent) -> None:
        """Record an epoch. Events older than the newest ``CONFUSIONS_KEPT`` are replaced by
        copies without their confusion matrix (the event objects themselves are not changed:
        others may hold them); beyond ``EPOCH_CAPACITY`` the older events are thinned."""
        self.epochs.append(event)
        old = len(self.epochs) - CONFUSIONS_KEPT - 1
        if old >= 0 and self.epochs[old].confusion is not None:
            self.epochs[old] = replace(self.epochs[old], confusion=None)
        if len(self.epochs) > EPOCH_CAPACITY:
            older = self.epochs[:-RECENT_EPOCHS]
            self.epochs[:-RECENT_EPOCHS] = older[::2]

    def _group(self, step: int, stride: int | None = None) -> int:
        return (step - 1) // (stride or self.stride)

    def _age(self) -> None:
        """Merge the oldest single points into groups, one whole group at a time, as long as
        ``recent`` single points remain after it."""
        steps = self.batch_steps
        while True:
            start, n = self.merged, len(steps)
            if n - start <= self.recent:
                return
            g = self._group(steps[start])
            end = start + 1
            while end < n and self._group(steps[end]) == g:
                end += 1
            if end == n or n - end < self.recent:
                return              # the group is not complete yet, or too recent
            self._fold(start, end)
            while self.merged > self.capacity:
                self._halve()

    def _fold(self, start: int, end: int) -> None:
        """Points [start, end) (one group) become one merged point, or join the last merged
        point if that is the same group (half of it, left over by a halving)."""
        k = end - start
        loss = math.fsum(self.batch_loss[start:end])
        acc = math.fsum(self.batch_accuracy[start:end])
        step = self.batch_steps[end - 1]
        if self.merged and self._group(self.batch_steps[start - 1]) == self._group(step):
            c = self._counts[-1]
            i = start - 1
            self.batch_loss[i] = (self.batch_loss[i] * c + loss) / (c + k)
            self.batch_accuracy[i] = (self.batch_accuracy[i] * c + acc) / (c + k)
            self.batch_steps[i] = step
            self._counts[-1] = c + k
            for lst in (self.batch_steps, self.batch_loss, self.batch_accuracy):
                del lst[start:end]
            return
        self.batch_loss[start] = loss / k
        self.batch_accuracy[start] = acc / k
        self.batch_steps[start] = step
        for lst in (self.batch_steps, self.batch_loss, self.batch_accuracy):
            del lst[start + 1:end]
        self._counts.append(k)
        self.merged += 1

    def _halve(self) -> None:
        """Merge neighbouring groups pairwise: the stride doubles."""
        stride = 2 * self.stride
        m = self.merged
        steps, losses, accs, counts = [], [], [], []
        for i in range(m):
            step, c = self.batch_steps[i], self._counts[i]
            loss, acc = self.batch_loss[i] * c, self.batch_accuracy[i] * c
            if steps and self._group(steps[-1], stride) == self._group(step, stride):
                total = counts[-1] + c
                losses[-1] = (losses[-1] * counts[-1] + loss) / total
                accs[-1] = (accs[-1] * counts[-1] + acc) / total
                steps[-1], counts[-1] = step, total
            else:
                steps.append(step)
                losses.append(loss / c)
                accs.append(acc / c)
                counts.append(c)
        self.batch_steps[:m], self.batch_loss[:m], self.batch_accuracy[:m] = steps, losses, accs
        self._counts = counts
        self.merged = len(steps)
        self.stride = stride

    def copy(self) -> "History":
        """An independent copy (the EpochEvents themselves are shared: nothing changes them)."""
        h = History(self.capacity, self.recent)
        h.batch_steps, h.batch_loss = list(self.batch_steps), list(self.batch_loss)
        h.batch_accuracy, h.epochs = list(self.batch_accuracy), list(self.epochs)
        h.stride, h.merged, h._counts = self.stride, self.merged, list(self._counts)
        return h

    # ---- going back --------------------------------------------------------------------------
    def truncate(self, step: int, epoch: int) -> None:
        """Keep what happened up to batch ``step`` and epoch ``epoch`` (a rewind). Exact for
        the single points; a merged group that reaches past ``step`` is dropped whole."""
        i = bisect.bisect_right(self.batch_steps, step)
        for lst in (self.batch_steps, self.batch_loss, self.batch_accuracy):
            del lst[i:]
        if i < self.merged:
            self.merged = i
            del self._counts[i:]
        while self.epochs and self.epochs[-1].epoch > epoch:
            self.epochs.pop()

    # ---- files -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"batch_steps": list(self.batch_steps), "batch_loss": list(self.batch_loss),
                "batch_accuracy": list(self.batch_accuracy),
                "merged": {"stride": self.stride, "counts": list(self._counts)},
                "epochs": [{k: (v.tolist() if isinstance(v, np.ndarray) else v)
                            for k, v in e.__dict__.items()} for e in self.epochs]}

    @classmethod
    def from_dict(cls, d: dict, capacity: int = MERGED_CAPACITY,
                  recent: int = RECENT_BATCHES) -> "History":
        """The inverse of ``to_dict``; DataError if anything is not what ``to_dict`` writes.
        Files from before the history was bounded (no ``batch_steps``: steps 1, 2, ...) load
        too, merged as if they had been trained now."""
        if not isinstance(d, dict):
            raise DataError(f"a training history must be an object, received {type(d).__name__}")
        lists = {}
        for name in ("batch_loss", "batch_accuracy", "epochs"):
            lists[name] = d.get(name, [])
            if not isinstance(lists[name], list):
                raise DataError(f"history {name} must be a list")
        for name in ("batch_loss", "batch_accuracy"):
            if not all(_is_real(v) for v in lists[name]):
                raise DataError(f"history {name} must hold numbers only")
        n = len(lists["batch_loss"])
        if len(lists["batch_accuracy"]) != n:
            raise DataError("history batch_loss and batch_accuracy differ in length")
        steps = d.get("batch_steps", list(range(1, n + 1)))
        if (not isinstance(steps, list) or len(steps) != n
                or not all(_is_count(s, 1) for s in steps)
                or any(a >= b for a, b in zip(steps, steps[1:]))):
            raise DataError("history batch_steps must be increasing whole numbers >= 1, one "
                            "per batch point")
        merged = d.get("merged", {"stride": 1, "counts": []})
        if (not isinstance(merged, dict) or not _is_count(merged.get("stride"), 1)
                or not isinstance(merged.get("counts"), list)
                or not all(_is_count(c, 1) for c in merged["counts"])
                or len(merged["counts"]) > n):
            raise DataError("history merged must hold a stride and a count per merged point")
        epochs = [_epoch_from_dict(e) for e in lists["epochs"]]
        h = cls(capacity, recent)
        m = len(merged["counts"])
        h.stride, h.merged, h._counts = merged["stride"], m, list(merged["counts"])
        h.batch_steps = list(steps[:m])
        for e in epochs:                  # (older files may hold more than is kept now)
            h.add_epoch(e)
        h.batch_loss = [float(v) for v in lists["batch_loss"][:m]]
        h.batch_accuracy = [float(v) for v in lists["batch_accuracy"][:m]]
        while h.merged > h.capacity:
            h._halve()
        for s, loss, acc in zip(steps[m:], lists["batch_loss"][m:],
                                lists["batch_accuracy"][m:]):
            h.add_batch(s, loss, acc)
        return h


def _is_real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_count(v, lo: int = 0) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= lo


def _epoch_from_dict(e) -> EpochEvent:
    names = set(EpochEvent.__dataclass_fields__)
    required = names - {"confusion"}
    if not isinstance(e, dict) or not required <= set(e) or not set(e) <= names:
        raise DataError(f"each history epoch must have the fields {', '.join(sorted(names))}")
    if not all(_is_count(e[k]) for k in ("epoch", "step")):
        raise DataError("history epoch numbers must be whole numbers >= 0")
    for k in ("train_loss", "train_accuracy", "seconds", "samples_per_sec"):
        if not _is_real(e[k]):
            raise DataError(f"history epoch {k} must be a number")
    for k in ("val_loss", "val_accuracy"):
        if e[k] is not None and not _is_real(e[k]):
            raise DataError(f"history epoch {k} must be a number or empty")
    e = dict(e)
    if e.get("confusion") is not None:
        c = e["confusion"]
        ok = (isinstance(c, list) and all(isinstance(r, list) and len(r) == len(c) for r in c)
              and all(_is_count(v) for r in c for v in r))
        if not ok:
            raise DataError("a history confusion matrix must be a square table of counts")
        e["confusion"] = np.array(c, dtype=np.int64).reshape(len(c), len(c))
    return EpochEvent(**e)
