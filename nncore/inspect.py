"""What a network computes and learns, as numbers: the data behind the app's inspection views.

Everything here is plain NumPy and works the same from the app, from ``nn-train`` or from a
notebook:

- ``layer_reports(net, weights_before)`` — the backward-pass inspector: for every layer of the
  batch just trained, shapes, activation statistics, dL/d(output), each weight's gradient and
  the update-to-weight ratio ‖ΔW‖/‖W‖, and the formula the layer applies.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


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
