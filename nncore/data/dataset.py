"""Dataset (the loaded images and labels) and DatasetInfo (what a data set is, without loading it)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError


@dataclass
class Dataset:
    """A loaded data set, fully validated: nothing is ever half-loaded.

    x_train : (N, C, H, W) uint8      y_train : (N,) int64 in 0..len(class_names)-1
    x_test  : (M, C, H, W) uint8      y_test  : (M,) int64

    ``location`` is the folder or file the data came from (None for data made in memory) and
    ``files`` the files read; ``notes`` says anything the loader decided (for example which part
    was held out as the test set). Arrays may be read-only (the built-in MNIST is shared between
    callers): copy before changing them.
    """
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str] = field(default_factory=list)
    location: str | None = None
    files: list[str] = field(default_factory=list)
    title: str = ""
    credit: str = ""
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        where = self.location or self.name
        self.x_train = _images(self.x_train, f"{where}: training images")
        self.x_test = _images(self.x_test, f"{where}: test images")
        self.y_train = _labels(self.y_train, f"{where}: training labels")
        self.y_test = _labels(self.y_test, f"{where}: test labels")
        for split, x, y in (("training", self.x_train, self.y_train),
                            ("test", self.x_test, self.y_test)):
            if len(x) != len(y):
                raise DataError(f"{where}: the {split} set has {len(x):,} images but "
                                f"{len(y):,} labels")
        if len(self.x_train) == 0:
            raise DataError(f"{where}: the training set is empty")
        if self.x_test.shape[1:] != self.x_train.shape[1:]:
            raise DataError(f"{where}: test images are {self.x_test.shape[1:]}, training images "
                            f"{self.x_train.shape[1:]}: they must be the same shape")
        top = max(int(self.y_train.max()), int(self.y_test.max()) if len(self.y_test) else 0)
        if not self.class_names:
            self.class_names = [str(i) for i in range(top + 1)]
        self.class_names = [str(c) for c in self.class_names]
        if top >= len(self.class_names):
            raise DataError(f"{where}: label {top} is out of range for the "
                            f"{len(self.class_names)} classes {self.class_names}")
        if self.location is not None:
            self.location = str(self.location)
        self.files = [str(f) for f in self.files]
        self.title = self.title or self.name

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def info(self) -> "DatasetInfo":
        return DatasetInfo(self.name, self.title, self.image_shape, list(self.class_names),
                           len(self.x_train), len(self.x_test), self.location, True,
                           credit=self.credit)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train={len(self.x_train):,}, test={len(self.x_test):,}, "
                f"image_shape={self.image_shape}, classes={len(self.class_names)}, "
                f"location={self.location!r})")


@dataclass(frozen=True)
class DatasetInfo:
    """What the data set combo shows, known without loading the data.

    ``available`` is False when the data set cannot be loaded here; ``reason`` then says why and
    how to get it (``downloadable`` tells whether ``nncore.data.download(name)`` can). Sizes and
    shape are None when they are not known before loading."""
    name: str
    title: str
    image_shape: tuple | None
    class_names: list
    train_size: int | None
    test_size: int | None
    location: str | None
    available: bool
    reason: str = ""
    downloadable: bool = False
    credit: str = ""


def _images(x, what) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.uint8:
        raise DataError(f"{what}: expected uint8 pixels (0-255), received dtype {x.dtype}")
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or min(x.shape[1:], default=0) < 1:
        raise DataError(f"{what}: expected an array (N, C, H, W), received shape {x.shape}")
    return x


def _labels(y, what) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or (y.size and y.dtype.kind not in "iu"):
        raise DataError(f"{what}: expected a 1-D array of class indices, received shape "
                        f"{y.shape} of {y.dtype}")
    y = y.astype(np.int64, copy=False)
    if y.size and y.min() < 0:
        raise DataError(f"{what}: label {int(y.min())} is negative")
    return y

