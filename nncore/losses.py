"""Loss functions: a number that says how wrong the network's output is, and its gradient.

``loss.forward(output, target)`` returns the mean loss over the batch (a float) and remembers
what ``loss.backward()`` needs to return dL/d(output), same shape as ``output``.
Targets are class indices (N,) or one-hot rows (N, K).
"""
from __future__ import annotations

import numpy as np

from .errors import DataError
from .hparams import HParam
from .registry import register
from .layers.activations import softmax


def as_one_hot(target, n_classes: int, dtype) -> np.ndarray:
    """(N, K) one-hot rows from class indices (N,) or from rows that already are (N, K)."""
    target = np.asarray(target)
    if target.ndim == 2:
        if target.shape[1] != n_classes:
            raise DataError(f"one-hot targets must have {n_classes} columns (one per output), "
                            f"received shape {target.shape}")
        return target.astype(dtype, copy=False)
    return np.eye(n_classes, dtype=dtype)[class_indices(target, n_classes)]


def class_indices(target, n_classes: int) -> np.ndarray:
    """Validated int class indices (N,) from indices or one-hot rows."""
    target = np.asarray(target)
    if target.ndim == 2:
        if target.shape[1] != n_classes:
            raise DataError(f"one-hot targets must have {n_classes} columns (one per output), "
                            f"received shape {target.shape}")
        return target.argmax(axis=1)
    if target.ndim != 1:
        raise DataError(f"targets must be class indices (N,) or one-hot rows (N, {n_classes}), "
                        f"received shape {target.shape}")
    if target.size and not np.issubdtype(target.dtype, np.integer):
        if not np.all(np.isfinite(target)) or np.any(target != np.round(target)):
            raise DataError("class-index targets must be whole numbers, received "
                            f"{target.dtype} values such as {target.ravel()[0]!r}")
        target = target.astype(np.int64)
    if target.size and (target.min() < 0 or target.max() >= n_classes):
        bad = target[(target < 0) | (target >= n_classes)][0]
        raise DataError(f"labels must be in 0..{n_classes - 1} (one per output), received {bad}")
    return target.astype(np.intp, copy=False)


def _check_batch(output, target):
    output = np.asarray(output)
    if output.ndim != 2:
        raise DataError(f"the loss expects output of shape (N, classes), received {output.shape}")
    if len(target) != len(output):
        raise DataError(f"number of targets ({len(target)}) does not match the batch size "
                        f"({len(output)})")
    return output


class Loss:
    """Base class: ``forward(output, target) -> float`` and ``backward() -> dL/d(output)``."""
    #: settings name -> description (nncore.hparams), shown as a form in the app
    hparams: dict = {}
    formula = ""

    @classmethod
    def describe(cls) -> str:
        return (cls.__doc__ or cls.__name__).strip().splitlines()[0]

    def get_config(self) -> dict:
        return {}

    def forward(self, output, target) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    __call__ = forward


@register("loss")
class CrossEntropyLoss(Loss):
    """Cross-entropy: −mean log p[true class]. For classification with a Softmax output.

    ``from_logits=False`` (default, the explicit way): ``output`` holds probabilities, i.e. the
    network ends with a Softmax layer. A probability of 0 would give log 0 = −inf, so
    probabilities are clipped from below to the smallest normal number of their dtype
    (``np.finfo(dtype).tiny``: 1.2e-38 in float32, capping one sample's loss at about 87.3); the
    gradient through a clipped probability is 0.

    ``from_logits=True``: ``output`` holds raw scores; a fused, stable log-softmax is applied
    here (as PyTorch's nn.CrossEntropyLoss does), and the network should not end with Softmax.
    """
    formula = ("L = −(1/N) Σₙ log p[n, yₙ]\n"
               "dL/dp = −Y / (N·p)     (probabilities)\n"
               "dL/dz = (softmax(z) − Y) / N   (logits, or Softmax + cross-entropy together)")

    hparams = {"from_logits": HParam("bool", "Outputs are raw scores (no Softmax layer at the "
                                             "end): apply a stable log-softmax inside the loss.")}

    def __init__(self, from_logits: bool = False):
        self.from_logits = from_logits

    def get_config(self):
        return {"from_logits": self.from_logits}

    def forward(self, output, target):
        output = _check_batch(output, target)
        n, k = output.shape
        idx = class_indices(target, k)
        self.shape, self.idx, self.dtype = output.shape, idx, output.dtype
        self.soft = None if np.asarray(target).ndim == 1 else as_one_hot(target, k, output.dtype)
        rows = np.arange(n)
        if self.from_logits:
            shifted = output - output.max(axis=1, keepdims=True)
            log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            log_p = shifted - log_sum
            self.p = np.exp(log_p)
            if self.soft is not None:
                return float(-(self.soft * log_p).sum() / n)
            return float(-log_p[rows, idx].sum() / n)
        tiny = np.finfo(output.dtype).tiny
        self.p = output
        if self.soft is not None:
            self.clipped = np.maximum(output, tiny)
            return float(-(self.soft * np.log(self.clipped)).sum() / n)
        # class indices: only the true class's probability of each row matters
        self.clipped = np.maximum(output[rows, idx], tiny)          # (N,)
        return float(-np.log(self.clipped).sum() / n)

    def backward(self):
        n = self.shape[0]
        if self.from_logits:
            y = self.soft if self.soft is not None else None
            grad = self.p.copy()
            if y is None:
                grad[np.arange(n), self.idx] -= 1
            else:
                # d/dz of −Σ y·log softmax(z) is softmax(z)·Σy − y: just p − y for rows that
                # sum to 1, but target rows may not (as in PyTorch).
                grad *= y.sum(axis=1, keepdims=True)
                grad -= y
            return grad / self.dtype.type(n)
        tiny = np.finfo(self.dtype).tiny
        if self.soft is not None:
            live = self.p >= tiny  # clipped entries carry no gradient
            return np.where(live, -self.soft / (self.dtype.type(n) * self.clipped), 0).astype(
                self.dtype)
        rows = np.arange(n)
        live = self.p[rows, self.idx] >= tiny
        grad = np.zeros(self.shape, dtype=self.dtype)
        grad[rows, self.idx] = np.where(live, -1.0 / (n * self.clipped), 0)
        return grad


@register("loss")
class MSELoss(Loss):
    """Mean squared error: mean of (output − target)² over all entries.

    Class-index targets are turned into one-hot rows first, so MSE can train a classifier too.
    """
    formula = "L = (1/(N·K)) Σ (out − y)²\ndL/d(out) = 2(out − y)/(N·K)"

    def forward(self, output, target):
        output = np.asarray(output)
        target = np.asarray(target)
        if len(target) != len(output):
            raise DataError(f"number of targets ({len(target)}) does not match the batch size "
                            f"({len(output)})")
        if target.shape != output.shape:
            if output.ndim == 2 and target.ndim == 1:
                target = as_one_hot(target, output.shape[1], output.dtype)
            else:
                raise DataError(f"MSE targets must have the output's shape {output.shape}, "
                                f"received {target.shape}")
        self.diff = output - target.astype(output.dtype, copy=False)
        return float(np.mean(self.diff * self.diff))

    def backward(self):
        return self.diff * self.diff.dtype.type(2.0 / self.diff.size)


def predict_proba(output, from_logits: bool) -> np.ndarray:
    """Class probabilities from a network output (softmax applied to logits)."""
    return softmax(output, axis=1) if from_logits else output
