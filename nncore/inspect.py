"""What a network computes and learns, as numbers: the data behind the app's inspection views.

Everything here is plain NumPy and works the same from the app, from ``nn-train`` or from a
notebook:

- ``layer_reports(net, weights_before)`` — the backward-pass inspector: for every layer of the
  batch just trained, shapes, activation statistics, dL/d(output), each weight's gradient and
  the update-to-weight ratio ‖ΔW‖/‖W‖, and the formula the layer applies.
- ``activations(net, x)`` — every layer's output for one input (feature maps of conv layers).
- ``saliency(net, x, classes)`` — dScore/d(input pixel): which pixels push towards a class.
- ``prepare_drawing(ink)`` — a drawing turned into an MNIST-style 28x28 image, the way MNIST's
  digits were made from NIST's.
- ``cell_indices``, ``per_class_accuracy``, ``evaluation_summary``, ``history_summary`` and the
  writers ``write_json`` / ``write_confusion_csv`` — the confusion-matrix numbers, per epoch, for
  the app's views and for ``nn-train`` alike.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from .errors import DataError
from .metrics import confusion_matrix, most_confused, per_class_report


# ---- backward-pass inspector -----------------------------------------------------------------
@dataclass
class Stats:
    """Summary of an array of activations."""
    mean: float
    std: float
    zero_fraction: float     # fraction of entries exactly 0 (dead ReLUs show up here)
    min: float
    max: float

    @classmethod
    def of(cls, a: np.ndarray) -> "Stats":
        a = np.asarray(a)
        if a.size == 0:
            return cls(0.0, 0.0, 0.0, 0.0, 0.0)
        a64 = a.astype(np.float64, copy=False)
        return cls(mean=float(a64.mean()), std=float(a64.std()),
                   zero_fraction=float(np.count_nonzero(a == 0) / a.size),
                   min=float(a64.min()), max=float(a64.max()))


@dataclass
class ParamReport:
    """One weight array of a layer (W, b, gamma or beta) after a training step."""
    name: str
    shape: tuple
    norm: float                   # ‖W‖ after the step
    grad_norm: float              # ‖dL/dW‖ of the batch
    update_ratio: float | None    # ‖W_after − W_before‖ / ‖W_before‖; None if unknown or W_before = 0
    grad: np.ndarray              # a copy of dL/dW, same shape as the weight


@dataclass
class LayerReport:
    """What one layer did on the last trained batch. Shapes include the batch axis N."""
    index: int
    type: str                     # e.g. "Dense"
    name: str                     # e.g. "Dense(units=128)"
    input_shape: tuple
    output_shape: tuple
    activation: Stats | None      # statistics of the layer's output on this batch
    grad_output_shape: tuple | None
    grad_output_norm: float | None   # ‖dL/d(output)‖
    params: list[ParamReport] = field(default_factory=list)
    formula: str = ""

    def param(self, name: str) -> ParamReport | None:
        """The report of weight ``name`` ("W", "b", "gamma", "beta"), or None."""
        return next((p for p in self.params if p.name == name), None)


def _norm(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    return math.sqrt(float(np.vdot(a, a)))


def layer_reports(net, weights_before: dict | None) -> list[LayerReport]:
    """One LayerReport per layer of ``net``, in order.

    ``net`` has just run forward and backward (and usually the optimizer step) on one batch:
    every layer still holds ``last_output`` (its output on the batch), ``last_grad_output``
    (dL/d(output)) and ``grads``. ``weights_before`` is ``net.get_weights()`` from before the
    optimizer step, giving the update-to-weight ratio ‖ΔW‖/‖W‖ (a healthy step is around 1e-3;
    1e-1 and more means the learning rate is too high, 1e-6 and less that nothing learns);
    with None the ratios are None. Fields a layer cannot provide (no pass yet) are None.
    """
    reports = []
    batch = None
    for i, layer in enumerate(net.layers):
        out = getattr(layer, "last_output", None)
        gout = getattr(layer, "last_grad_output", None)
        if out is not None:
            batch = out.shape[0]
        n = (batch,) if batch is not None else ()
        params = []
        for name, p in layer.params.items():
            g = layer.grads.get(name)
            key = f"{i}.{name}"
            ratio = None
            if weights_before is not None and key in weights_before:
                before = np.asarray(weights_before[key])
                base = _norm(before)
                if base > 0 and before.shape == p.shape:
                    ratio = _norm(p.astype(np.float64) - before) / base
            params.append(ParamReport(
                name=name, shape=tuple(p.shape), norm=_norm(p),
                grad_norm=_norm(g) if g is not None else 0.0, update_ratio=ratio,
                grad=np.array(g, copy=True) if g is not None else np.zeros_like(p)))
        reports.append(LayerReport(
            index=i, type=type(layer).__name__, name=repr(layer),
            input_shape=n + tuple(layer.input_shape or ()),
            output_shape=n + tuple(layer.output_shape or ()),
            activation=Stats.of(out) if out is not None else None,
            grad_output_shape=tuple(gout.shape) if gout is not None else None,
            grad_output_norm=_norm(gout) if gout is not None else None,
            params=params, formula=getattr(layer, "formula", "")))
    return reports


def format_reports(reports: list[LayerReport]) -> str:
    """The reports as a plain-text table (what ``nn-train`` can print after a step)."""
    head = ("#", "layer", "output", "act mean", "act std", "zeros", "‖dL/dY‖", "param",
            "‖W‖", "‖dW‖", "‖ΔW‖/‖W‖")
    rows = [head]
    fmt = lambda v: "—" if v is None else f"{v:.3g}"  # noqa: E731
    for r in reports:
        a = r.activation
        first = (str(r.index), r.type, "×".join(map(str, r.output_shape)),
                 fmt(a and a.mean), fmt(a and a.std), "—" if a is None else f"{a.zero_fraction:.0%}",
                 fmt(r.grad_output_norm))
        if not r.params:
            rows.append(first + ("", "", "", ""))
        for k, p in enumerate(r.params):
            lead = first if k == 0 else ("",) * len(first)
            rows.append(lead + (f"{p.name} {'×'.join(map(str, p.shape))}", fmt(p.norm),
                                fmt(p.grad_norm), fmt(p.update_ratio)))
    widths = [max(len(row[c]) for row in rows) for c in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in rows)


# ---- one image through the network -----------------------------------------------------------
def _one(net, x) -> np.ndarray:
    """A single input (C, H, W) or (features,) — or a batch of one — as a batch of one."""
    x = np.asarray(x)
    if x.shape == tuple(net.input_shape):
        x = x[None]
    return net.check_input(x)


def activations(net, x) -> list[np.ndarray]:
    """Every layer's output for one input ``x`` of shape ``net.input_shape``, in evaluation mode,
    without the batch axis: (C, H, W) feature maps after conv layers, (units,) after Dense."""
    return [a[0] for a in net.forward_all(_one(net, x), training=False)]


def _logit_end(net) -> int:
    """Number of layers up to the class scores: all but a final Softmax."""
    n = len(net.layers)
    return n - 1 if n and type(net.layers[-1]).__name__ == "Softmax" else n


def saliency(net, x, classes) -> np.ndarray:
    """d(score of ``classes[n]``)/d(x[n]) for every input of the batch ``x`` (same shape as x).

    The score is the class's *pre-softmax* score (logit), as in Simonyan et al. (2013): for a
    network ending in Softmax the gradient is taken at that layer's input. The probability would
    be a worse choice: p_c = softmax(z)_c gives dp_c/dz = p_c·(e_c − p), so once the network is
    confident (p_c ≈ 1) every gradient is squashed towards zero, and what is left mixes in the
    other classes' scores (a pixel can raise p_c merely by lowering a rival). The logit's gradient
    shows the pixels that are evidence *for* the class itself, at any confidence.

    Evaluation mode (Dropout off, BatchNorm on running statistics), so every sample is
    independent and one backward pass serves the whole batch. ``x``: (N, *input_shape) or a
    single input; ``classes``: one class index per sample, or one int for all.
    """
    x = np.asarray(x)
    single = x.shape == tuple(net.input_shape)
    xb = _one(net, x) if single else net.check_input(x)
    end = _logit_end(net)
    out = xb
    for layer in net.layers[:end]:
        out = layer.forward(out, False)
    if out.ndim != 2:
        raise DataError(f"saliency needs class scores of shape (N, classes), the network "
                        f"gives {out.shape[1:]}")
    classes = np.broadcast_to(np.asarray(classes, dtype=np.int64), (len(out),))
    if classes.size and (classes.min() < 0 or classes.max() >= out.shape[1]):
        raise DataError(f"classes must be in 0..{out.shape[1] - 1}, received {classes.tolist()}")
    grad = np.zeros_like(out)
    grad[np.arange(len(out)), classes] = 1
    for layer in reversed(net.layers[:end]):
        grad = layer.backward(grad)
    return grad[0] if single else grad


def saliency_map(grad: np.ndarray) -> np.ndarray:
    """(H, W) map to show: the largest |gradient| over the channels of a (C, H, W) gradient."""
    g = np.abs(np.asarray(grad))
    return g.max(axis=0) if g.ndim == 3 else g


# ---- a drawing as MNIST input ----------------------------------------------------------------
#: MNIST's digits fit a 20x20 box inside the 28x28 image, their centre of mass at pixel (14, 14)
#: (measured on the training set: 14.0 ± 0.3 in pixel-index coordinates).
MNIST_SIZE, MNIST_BOX, MNIST_CENTRE = 28, 20, 14.0
#: Pixels with at least this fraction of the strongest ink define the digit's bounding box.
INK_THRESHOLD = 0.3


def _resample_matrix(n_out: int, n_in: int, scale: float, offset: float) -> np.ndarray:
    """(n_out, n_in) weights that resample a line of ``n_in`` pixels to ``n_out``: output pixel i
    covers the input interval [(i − offset)·scale, (i + 1 − offset)·scale).

    Shrinking (scale > 1), each output pixel is the average of the input under it, weighted by
    how much of each input pixel it covers: area averaging, which is what anti-aliases. Enlarging
    (scale ≤ 1), it is linear interpolation at the interval's centre. Input beyond the edges
    counts as 0 (blank paper)."""
    lo = (np.arange(n_out) - offset) * scale
    j = np.arange(n_in)
    if scale > 1:
        overlap = (np.minimum(lo[:, None] + scale, j[None, :] + 1)
                   - np.maximum(lo[:, None], j[None, :]))
        return np.maximum(overlap, 0.0) / scale
    u = lo + 0.5 * scale - 0.5                   # the centre, in pixel-index coordinates
    return np.maximum(0.0, 1.0 - np.abs(j[None, :] - u[:, None]))


def prepare_drawing(ink) -> np.ndarray:
    """A drawing as an MNIST digit: (28, 28) uint8, white (255) ink on black.

    ``ink``: (H, W) or (1, H, W) array of any size where larger means more ink and 0 is blank
    paper (a pad painting black on white passes ``255 − grey``). As LeCun, Cortes and Burges made
    MNIST from NIST's scans:

    1. the digit's bounding box (pixels with at least ``INK_THRESHOLD`` of the strongest ink) is
       scaled, aspect ratio kept, so that its longer side is 20 pixels;
    2. the scaling anti-aliases: each output pixel is the average of the ink under it
       (``_resample_matrix``), which gives grey edges like MNIST's;
    3. the result is placed in the 28x28 field with its centre of mass at pixel (14, 14);
    4. the darkest pixel becomes 255, as in nearly every MNIST image.

    Scale and position are done in one resampling of the original, so nothing is rounded twice.
    A blank drawing gives all zeros.
    """
    a = np.asarray(ink)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2 or min(a.shape) < 1:
        raise DataError(f"a drawing must be a greyscale image (H, W), received shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise DataError(f"a drawing must hold real numbers, received dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise DataError("the drawing contains NaN or infinite values")
    a = np.maximum(a, 0.0)
    peak = a.max()
    out = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.uint8)
    if peak <= 0:
        return out
    rows = np.flatnonzero((a >= INK_THRESHOLD * peak).any(axis=1))
    cols = np.flatnonzero((a >= INK_THRESHOLD * peak).any(axis=0))
    extent = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    scale = extent / MNIST_BOX                       # input pixels per output pixel
    total = a.sum()
    cy = float(a.sum(axis=1) @ (np.arange(a.shape[0]) + 0.5)) / total
    cx = float(a.sum(axis=0) @ (np.arange(a.shape[1]) + 0.5)) / total
    # output pixel i (centre i + ½) looks at input u = (i + ½ − offset)·scale; the centre of
    # mass u = c must land on the centre of pixel 14, i.e. 14.5.
    centre = MNIST_CENTRE + 0.5
    ry = _resample_matrix(MNIST_SIZE, a.shape[0], scale, centre - cy / scale)
    rx = _resample_matrix(MNIST_SIZE, a.shape[1], scale, centre - cx / scale)
    img = ry @ a @ rx.T
    top = img.max()
    if top <= 0:
        return out
    return np.clip(np.rint(img * (255.0 / top)), 0, 255).astype(np.uint8)


def centre_of_mass(image) -> tuple[float, float]:
    """(row, column) centre of mass of a 2-D image in pixel-index coordinates."""
    a = np.asarray(image, dtype=np.float64)
    total = a.sum()
    if total <= 0:
        return (float("nan"), float("nan"))
    return (float(a.sum(axis=1) @ np.arange(a.shape[0])) / total,
            float(a.sum(axis=0) @ np.arange(a.shape[1])) / total)


# ---- confusion matrices, per epoch -----------------------------------------------------------
def cell_indices(targets, predictions, true: int, predicted: int, probabilities=None
                 ) -> np.ndarray:
    """Indices of the samples counted in confusion-matrix cell (true, predicted). With
    ``probabilities`` (N, K) they are ordered by the predicted class's probability, most
    confident first (for an error: the most convincing mistakes first); else by index."""
    targets, predictions = np.asarray(targets), np.asarray(predictions)
    idx = np.flatnonzero((targets == true) & (predictions == predicted))
    if probabilities is not None and len(idx):
        conf = np.asarray(probabilities)[idx, predicted]
        idx = idx[np.argsort(-conf, kind="stable")]
    return idx


def per_class_accuracy(confusions) -> np.ndarray:
    """(E, K): for each confusion matrix (one per epoch) the accuracy on each true class, i.e.
    its recall: cm[k, k] / Σ cm[k, :] (0 for a class without samples)."""
    cms = [np.asarray(cm, dtype=np.float64) for cm in confusions]
    if not cms:
        return np.zeros((0, 0))
    return np.stack([per_class_report(cm)["recall"] for cm in cms])


def normalise_rows(cm) -> np.ndarray:
    """Each row divided by its sum: the fraction of class k predicted as each class."""
    cm = np.asarray(cm, dtype=np.float64)
    s = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, s, out=np.zeros_like(cm), where=s > 0)


def evaluation_summary(evaluation, class_names=None, top: int = 10) -> dict:
    """JSON-able summary of one ``nncore.train.Evaluation``: loss, accuracy, the confusion matrix,
    precision/recall/F1/support per class and the ``top`` most-confused pairs."""
    cm = np.asarray(evaluation.confusion)
    return confusion_summary(cm, class_names, top) | {
        "loss": float(evaluation.loss), "accuracy": float(evaluation.accuracy)}


def confusion_summary(cm, class_names=None, top: int = 10) -> dict:
    """JSON-able summary of a confusion matrix (rows true, columns predicted)."""
    cm = np.asarray(cm, dtype=np.int64)
    k = cm.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    if len(names) != k:
        raise DataError(f"{k} classes in the confusion matrix but {len(names)} class names")
    rep = per_class_report(cm)
    total = int(cm.sum())
    return {
        "classes": names,
        "samples": total,
        "accuracy": float(np.trace(cm) / total) if total else 0.0,
        "confusion": cm.tolist(),
        "per_class": [{"class": names[c], "precision": float(rep["precision"][c]),
                       "recall": float(rep["recall"][c]), "f1": float(rep["f1"][c]),
                       "support": int(rep["support"][c])} for c in range(k)],
        "most_confused": [{"true": names[t], "predicted": names[p], "count": n}
                          for t, p, n in most_confused(cm, top)],
    }


def history_summary(epochs, class_names=None, top: int = 10) -> list[dict]:
    """One ``confusion_summary`` per epoch (``epoch`` numbered from 1) for every EpochEvent of
    ``epochs`` that has a confusion matrix (``Trainer.history.epochs``)."""
    out = []
    for ev in epochs:
        if getattr(ev, "confusion", None) is None:
            continue
        out.append({"epoch": int(ev.epoch), "step": int(ev.step),
                    **confusion_summary(ev.confusion, class_names, top)})
    return out


def confusion_csv(cm, class_names=None) -> str:
    """The matrix as CSV: a header of predicted classes, one row per true class."""
    cm = np.asarray(cm, dtype=np.int64)
    names = [str(c) for c in (class_names if class_names is not None else range(len(cm)))]
    lines = ["true\\predicted," + ",".join(names)]
    lines += [names[i] + "," + ",".join(str(int(v)) for v in row) for i, row in enumerate(cm)]
    return "\n".join(lines) + "\n"


def write_confusion_csv(path, cm, class_names=None) -> None:
    """Write ``confusion_csv`` atomically."""
    from .io import atomic_write_bytes
    atomic_write_bytes(path, confusion_csv(cm, class_names).encode("utf-8"))


def write_json(path, obj) -> None:
    """Write a JSON-able summary (``evaluation_summary``, ``history_summary``) atomically."""
    from .io import atomic_write_bytes
    atomic_write_bytes(path, (json.dumps(obj, indent=1) + "\n").encode("utf-8"))
