"""Turning stored images into training input: scaling, standardisation, splits, subsets, batches.

Everything random takes a seed (or a ``np.random.Generator``), so the same seed gives the same
split, subset and batch order on every machine.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import DataError


# ---- scaling -------------------------------------------------------------------------------------
@dataclass
class Preprocessing:
    """x -> (x * scale - mean) / std, as float32.

    ``scale`` maps stored pixels 0..255 to [0, 1]. ``mean`` and ``std`` are 0 and 1 unless
    ``fit(..., standardize=True)`` measured them on the training split (in the scaled units).
    It is saved with the model (``to_dict``), so predictions use exactly what training used."""
    scale: float = 1.0 / 255.0
    mean: float = 0.0
    std: float = 1.0

    def __post_init__(self):
        for name in ("scale", "mean", "std"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise DataError(f"preprocessing {name} must be a finite number, received {v!r}")
            setattr(self, name, float(v))
        if self.scale <= 0 or self.std <= 0:
            raise DataError(f"preprocessing scale and std must be positive, received "
                            f"scale={self.scale}, std={self.std}")

    @classmethod
    def fit(cls, x_train, standardize: bool = False) -> "Preprocessing":
        """Measure the statistics on ``x_train`` (the training split only, never the test set).

        x_train : (N, ...) uint8 0..255. For uint8 the mean and standard deviation are exact
        (integer sums over chunks, without a float copy of the set)."""
        p = cls()
        if not standardize:
            return p
        x = np.asarray(x_train)
        if x.size == 0:
            raise DataError("cannot standardise: the training set is empty")
        if x.dtype == np.uint8:
            n, total, squares = x.size, 0, 0
            flat = x.reshape(-1)
            for i in range(0, n, 1 << 18):
                chunk = flat[i:i + (1 << 18)].astype(np.uint32)
                total += int(chunk.sum(dtype=np.uint64))
                squares += int((chunk * chunk).sum(dtype=np.uint64))
            mean = total / n * p.scale
            var = (n * squares - total * total) / (n * n) * p.scale ** 2   # exact integers
        else:
            xs = x.astype(np.float64) * p.scale
            mean, var = float(xs.mean()), float(xs.var())
        std = math.sqrt(var)
        p.mean, p.std = mean, (std if std > 1e-12 else 1.0)
        return p

    def apply(self, x) -> np.ndarray:
        """float32 network input of the same shape as ``x``."""
        out = np.array(x, dtype=np.float32)     # a new array, changed in place from here on
        out *= np.float32(self.scale)
        if self.mean != 0.0 or self.std != 1.0:
            out -= np.float32(self.mean)
            out /= np.float32(self.std)
        return out

    def to_dict(self) -> dict:
        return {"scale": self.scale, "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessing":
        """The inverse of ``to_dict``; an empty dict gives the default (scale to [0, 1])."""
        if not isinstance(d, dict):
            raise DataError(f"preprocessing must be an object {{scale, mean, std}}, received {d!r}")
        unknown = set(d) - {"scale", "mean", "std"}
        if unknown:
            raise DataError(f"unknown preprocessing setting(s) {sorted(unknown)}; expected "
                            f"scale, mean, std")
        return cls(**d)


# ---- splits and subsets --------------------------------------------------------------------------
def _check_xy(x, y):
    if len(x) != len(y):
        raise DataError(f"{len(x)} images but {len(y)} labels")
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"expected labels of shape (N,), received {y.shape}")
    return y


def split_counts(counts, fraction: float) -> np.ndarray:
    """How many of each class go to the held-out part: per class about ``fraction`` of it, and
    exactly round(fraction * total) in all (largest remainders get the extra ones)."""
    counts = np.asarray(counts, dtype=np.int64)
    exact = counts * fraction
    take = np.floor(exact).astype(np.int64)
    extra = int(round(counts.sum() * fraction)) - int(take.sum())
    if extra > 0:
        order = np.lexsort((np.arange(len(counts)), -(exact - take)))
        order = [i for i in order if take[i] < counts[i]]
        take[order[:extra]] += 1
    return take


def stratified_indices(y, fraction: float, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices (kept, held_out): each class split in the same proportion, seeded."""
    y = np.asarray(y)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or \
            not 0.0 < fraction < 1.0:
        raise DataError(f"the held-out fraction must be between 0 and 1 (exclusive), received "
                        f"{fraction!r}")
    rng = np.random.default_rng(seed)
    classes, inverse = np.unique(y, return_inverse=True)
    take = split_counts(np.bincount(inverse, minlength=len(classes)), fraction)
    held = []
    for k in range(len(classes)):
        idx = np.flatnonzero(inverse == k)
        held.append(rng.permutation(idx)[:take[k]])
    held = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    mask = np.ones(len(y), dtype=bool)
    mask[held] = False
    return np.flatnonzero(mask), held


def train_val_split(x, y, val_fraction: float, seed=0):
    """Stratified, seeded split: ((x_train, y_train), (x_val, y_val)), both in original order.

    Every class keeps the same share in both parts; the validation part has exactly
    round(val_fraction * N) samples. Raises DataError if either part would be empty."""
    y = _check_xy(x, y)
    keep, held = stratified_indices(y, val_fraction, seed)
    if len(held) == 0 or len(keep) == 0:
        raise DataError(f"a validation fraction of {val_fraction} of {len(y)} samples leaves "
                        f"{len(keep)} for training and {len(held)} for validation: both need "
                        f"at least one")
    return (x[keep], y[keep]), (x[held], y[held])


def subset(x, y, n_per_class: int, seed=0):
    """At most ``n_per_class`` random samples of each class (all of a smaller class), seeded,
    in their original order: a quick experiment on a balanced slice of the data."""
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) or \
            n_per_class < 1:
        raise DataError(f"samples per class must be an integer >= 1, received {n_per_class!r}")
    y = _check_xy(x, y)
    rng = np.random.default_rng(seed)
    chosen = [rng.permutation(np.flatnonzero(y == c))[:n_per_class] for c in np.unique(y)]
    idx = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)
    return x[idx], y[idx]


# ---- batches -------------------------------------------------------------------------------------
def batches(x, y, batch_size: int, *, shuffle: bool = True, seed=0, drop_last: bool = False,
            transform=None):
    """One epoch of (x_batch, y_batch) pairs.

    x : (N, ...), y : (N, ...). Shuffling draws one permutation of indices from ``seed`` (an int,
    or a ``np.random.Generator`` to get a new order each epoch) and gathers each batch from it:
    only one batch is copied at a time, never the whole set. Without shuffling the batches are
    views. ``transform`` (e.g. ``Preprocessing.apply``) is applied to each x batch, so the set
    can stay uint8 in memory. The last batch is smaller unless ``drop_last``."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or \
            batch_size < 1:
        raise DataError(f"batch size must be an integer >= 1, received {batch_size!r}")
    if len(x) != len(y):
        raise DataError(f"{len(x)} images but {len(y)} labels")
    n = len(x)
    order = None
    if shuffle:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        order = rng.permutation(n)
    return _batches(x, y, int(batch_size), order, n - n % batch_size if drop_last else n,
                    transform)


def _batches(x, y, batch_size, order, stop, transform):
    for start in range(0, stop, batch_size):
        end = min(start + batch_size, stop)
        if order is None:
            xb, yb = x[start:end], y[start:end]
        else:
            idx = order[start:end]
            xb, yb = x[idx], y[idx]
        yield (transform(xb) if transform is not None else xb), yb
