"""Data sets: IDX files, named data sets, preparation.

Minimal first version (the built-in MNIST only); the full module replaces it behind the same API:
``load_dataset(name) -> Dataset``, ``list_datasets()``, ``Preprocessing``, ``train_val_split``.
"""
from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass, field

import numpy as np

import resources

from ..errors import DataError


def read_idx(path) -> np.ndarray:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray          # (N, C, H, W) uint8
    y_train: np.ndarray          # (N,) int64
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str] = field(default_factory=list)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])


def load_dataset(name: str = "mnist") -> Dataset:
    if name != "mnist":
        raise DataError(f"unknown data set {name!r}")
    d = resources.path("mnist")
    x_tr = read_idx(d / "train-images-idx3-ubyte.gz")[:, None]
    y_tr = read_idx(d / "train-labels-idx1-ubyte.gz").astype(np.int64)
    x_te = read_idx(d / "t10k-images-idx3-ubyte.gz")[:, None]
    y_te = read_idx(d / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return Dataset("mnist", x_tr, y_tr, x_te, y_te, [str(i) for i in range(10)])


@dataclass
class Preprocessing:
    """Scale to [0, 1]; optionally standardise with statistics of the training split."""
    scale: float = 1.0 / 255.0
    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def fit(cls, x_train, standardize: bool = False) -> "Preprocessing":
        p = cls()
        if standardize:
            xs = x_train.astype(np.float32) * p.scale
            p.mean, p.std = float(xs.mean()), float(xs.std() or 1.0)
        return p

    def apply(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32) * np.float32(self.scale)
        if self.mean != 0.0 or self.std != 1.0:
            x = (x - np.float32(self.mean)) / np.float32(self.std)
        return x

    def to_dict(self) -> dict:
        return {"scale": self.scale, "mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessing":
        return cls(**d)


def train_val_split(x, y, val_fraction: float, seed: int = 0):
    """Stratified, seeded split: ((x_train, y_train), (x_val, y_val))."""
    rng = np.random.default_rng(seed)
    val_idx = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        val_idx.append(idx[:int(round(len(idx) * val_fraction))])
    val_idx = np.sort(np.concatenate(val_idx))
    mask = np.ones(len(y), dtype=bool)
    mask[val_idx] = False
    return (x[mask], y[mask]), (x[val_idx], y[val_idx])
