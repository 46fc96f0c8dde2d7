"""Classification metrics from true and predicted class indices."""
from __future__ import annotations

import numpy as np

from .errors import DataError


def _labels(values, what: str, n_classes: int | None = None) -> np.ndarray:
    """Class indices as int64, or DataError naming what is wrong."""
    a = np.asarray(values)
    if a.ndim != 1:
        raise DataError(f"{what} must be a list of class indices, received shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        if (not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating)
                or not np.all(np.isfinite(a)) or np.any(a != np.round(a))):
            raise DataError(f"{what} must be whole numbers, received {a.dtype} values")
    a = a.astype(np.int64)
    if n_classes is not None and a.size and (a.min() < 0 or a.max() >= n_classes):
        bad = a[(a < 0) | (a >= n_classes)][0]
        raise DataError(f"{what} must be in 0..{n_classes - 1}, received {bad}")
    return a


def _pair(y_true, y_pred, n_classes=None):
    t = _labels(y_true, "true labels", n_classes)
    p = _labels(y_pred, "predictions", n_classes)
    if len(t) != len(p):
        raise DataError(f"{len(t)} true labels but {len(p)} predictions")
    return t, p


def accuracy(y_true, y_pred) -> float:
    """Fraction of predictions equal to the truth (0.0 for no samples)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred)) if y_true.size else 0.0


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """(K, K) int64 counts: row = true class, column = predicted class."""
    if not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise DataError(f"the number of classes must be an integer >= 1, received {n_classes!r}")
    y_true, y_pred = _pair(y_true, y_pred, int(n_classes))
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes)


def per_class_report(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class from a confusion matrix.

    A class never predicted has precision 0; a class with no samples has recall 0 (no NaN)."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)
    support = cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"precision": precision, "recall": recall, "f1": f1,
            "support": support.astype(np.int64)}


def most_confused(cm: np.ndarray, top: int = 5) -> list[tuple[int, int, int]]:
    """The ``top`` largest off-diagonal cells as (true, predicted, count), largest first; equal
    counts in reading order (by true class, then predicted class). Empty cells are left out."""
    cm = np.asarray(cm)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    flat = off.ravel()
    order = np.lexsort((np.arange(flat.size), -flat))[:top]   # count down, then index up
    k = cm.shape[1]
    return [(int(i // k), int(i % k), int(flat[i])) for i in order if flat[i] > 0]
