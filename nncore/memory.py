"""How much memory a training run needs, estimated from the spec alone (nothing is allocated).

    est = estimate_training_memory(spec, batch_size=64, optimizer={"type": "Adam"},
                                   n_train=60_000, n_eval=10_000)
    est.total                 # bytes
    est.parts()               # [("training data", bytes), ("activations", bytes), ...]
    est.advice()              # what to make smaller, biggest part first

What a training step holds, and how it is counted (``N`` = batch size, per-sample sizes from
shape inference, ``itemsize`` = 4 for float32):

- weights, their gradients (one array per weight array, kept between steps), and the
  optimizer's buffers (SGD with momentum: 1 per weight, Adam: 2, RMSprop: 1 or 2; found by
  letting the optimizer take one step on a 6-weight network, so added optimizers count too);
- snapshots: copies of weights and optimizer buffers kept for rewinding (``Trainer.good_state``;
  the app also keeps the point where training was paused);
- activations of one step: every layer's output is kept until the step ends (the trainer
  keeps them for the inspector), plus what layers keep for their backward pass — Conv2D its
  im2col matrix, (OH·OW) × (kh·kw·C + 1) per sample, often the biggest array of all; Dropout
  its mask; BatchNorm the normalised input; ReLU a buffer of zeros — plus, at the peak, the
  gradients the backward pass keeps (each layer's, for the inspector) and the temporaries of
  the layer being worked on (Conv2D: its col2im buffers and padded input gradient), and the
  temporaries of the update (twice the largest layer's weights);
- evaluation: the same forward arrays for a batch of ``eval_batch`` images, the
  probabilities of the whole evaluation set, and half of the training step's arrays (they are
  replaced layer by layer); it does not overlap a training step: the larger of the two counts;
- the prepared data: training and evaluation images as network input (float32), plus
  ``extra_data_bytes`` (e.g. the raw uint8 images a program keeps too).

The estimate is meant to be within a factor of about 1.5 of what NumPy really allocates
(tests compare it with tracemalloc's peak for small networks); Python's own overhead and
NumPy's temporary arrays inside single operations are not counted.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from . import layers as _layers
from .hparams import pair
from .network import _parse, infer_shapes
from .registry import get

#: Samples per batch when a Trainer evaluates (``Trainer.evaluate``'s default).
EVAL_BATCH = 1000


@dataclass
class MemoryEstimate:
    """Bytes of each part of a training run; ``total`` is what the run needs at its peak."""
    weights: int
    gradients: int
    optimizer: int
    snapshots: int
    activations: int        # one training step at its peak (im2col included)
    im2col: int             # the part of ``activations`` in Conv2D im2col matrices
    evaluation: int         # evaluating: forward arrays of one eval batch + probabilities
    data: int
    batch_size: int = 0

    @property
    def total(self) -> int:
        return (self.weights + self.gradients + self.optimizer + self.snapshots
                + max(self.activations, self.evaluation) + self.data)

    def parts(self) -> list[tuple[str, int]]:
        """(what, bytes), largest first."""
        parts = [("training data", self.data), ("weights", self.weights),
                 ("gradients", self.gradients), ("optimizer buffers", self.optimizer),
                 ("snapshots for rewinding", self.snapshots),
                 (f"activations of a batch of {self.batch_size}", self.activations),
                 ("evaluation", self.evaluation)]
        return sorted(parts, key=lambda p: -p[1])

    def advice(self) -> str:
        """What to reduce, for the two largest parts, in one line."""
        return "; ".join(self.advice_lines())

    def advice_lines(self) -> list[str]:
        """What to reduce, for the two largest parts: "what: size — what to do"."""
        tips = {
            "training data": "train on fewer images (\"Images per class\")",
            "weights": "use fewer units or filters, or add pooling before the first Dense "
                       "layer",
            "gradients": "use fewer units or filters (every weight has a gradient)",
            "optimizer buffers": "use SGD without momentum (Adam keeps two numbers per "
                                 "weight)",
            "snapshots for rewinding": "use fewer units or filters",
            "evaluation": "use fewer units or filters (or a larger stride in Conv2D "
                          "layers): evaluation runs batches of 1000 images",
        }
        act = "use a smaller batch size (activations grow with it)"
        if self.im2col:
            act += (f", or fewer filters or a larger stride in the Conv2D layers (their im2col "
                    f"matrices take {format_bytes(self.im2col)} of it)")
        out = []
        for what, size in self.parts()[:2]:
            tip = act if what.startswith("activations") else tips[what]
            out.append(f"{what}: {format_bytes(size)} — {tip}")
        return out


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def optimizer_buffers_per_weight(optimizer: dict | None) -> float:
    """How many arrays the size of the weights ``optimizer`` ({"type", "config"}) keeps: it
    takes one step on a network of 6 weights and its buffers are counted."""
    if not optimizer or not optimizer.get("type"):
        return 0.0
    from .network import Network
    net = Network.from_spec({"input_shape": [2], "layers": [{"type": "Dense", "units": 2}]})
    opt = get("optimizer", optimizer["type"])(net, **optimizer.get("config", {}))
    for layer in net.layers:
        for g in layer.grads.values():
            g[...] = 0.5
    opt.step()
    opt.step()
    held = sum(a.size for st in opt.state.values() for a in st.values())
    return held / sum(layer.num_params for layer in net.layers)


def _footprint(layer, shape_in, shape_out, needs_dx: bool) -> tuple[int, int, int, int]:
    """Values per sample: (kept from forward to the end of the step, of which im2col, the
    gradient kept from backward, temporaries of this layer's backward pass). ``needs_dx``: the
    backward pass computes dL/d(input) (not the first layer with weights of a training step)."""
    a_in, a_out = math.prod(shape_in), math.prod(shape_out)
    kept, cols = a_out, 0                 # the output (kept for the inspector)
    temp = 0
    if isinstance(layer, _layers.Conv2D):
        c, h, w = shape_in
        f, oh, ow = shape_out
        kh, kw = pair(layer.kernel_size)
        pt, pb, pl, pr = layer._pads()
        cols = oh * ow * (kh * kw * c + (1 if layer.use_bias else 0))
        kept += cols
        padded = (h + pt + pb) * (w + pl + pr) * c
        # col2im: a buffer per kernel tap, and dL/d(input) padded; forward's padded copy
        temp = kh * kw * oh * ow * c + padded - a_in if needs_dx else a_out
        if pt or pb or pl or pr:
            temp = max(temp, padded)
    elif isinstance(layer, _layers.ReLU):
        kept += a_in                      # its buffer of zeros
        temp = a_in // 4                  # the mask (bytes)
    elif isinstance(layer, _layers.Dropout):
        kept += a_in                      # the mask
    elif isinstance(layer, _layers.BatchNorm):
        kept += a_in                      # the normalised input
        temp = 3 * a_in
    elif isinstance(layer, _layers.MaxPool2D):
        temp = 3 * a_out
    elif isinstance(layer, _layers.Flatten):
        kept = 0                          # a view of its input (a copy after Conv2D)
    elif isinstance(layer, _layers.Activation):
        temp = a_in                       # f'(x)
    # backward keeps the gradient it received (for the inspector) and makes dL/d(input),
    # which is the next layer's received gradient
    return kept, cols, a_out, temp


def estimate_training_memory(spec: dict, batch_size: int, optimizer: dict | None = None,
                             n_train: int = 0, n_eval: int = 0, dtype: str = "float32",
                             eval_batch: int = EVAL_BATCH, snapshots: int = 1,
                             extra_data_bytes: int = 0,
                             data_itemsize: int = 4) -> MemoryEstimate:
    """Estimate the bytes training ``spec`` needs (SpecError if the spec is invalid).

    batch_size: samples per step; optimizer: {"type", "config"} as in TrainingConfig;
    n_train / n_eval: training and evaluation images; snapshots: copies of the weights and
    optimizer state kept for rewinding; extra_data_bytes: data held besides the prepared
    images; data_itemsize: bytes per value of the prepared images (float32: 4)."""
    rows = infer_shapes(spec)                 # SpecError for an invalid spec
    input_shape, layer_objs = _parse(spec)
    itemsize = np.dtype(dtype).itemsize
    n_params = sum(r["params"] for r in rows)
    weights = n_params * itemsize
    buffers = optimizer_buffers_per_weight(optimizer)
    opt_bytes = int(round(buffers * weights))
    # an update makes temporaries the size of the weight array it works on (lr·g, ...)
    step_temp = 2 * max((r["params"] for r in rows), default=0) * itemsize

    a0 = math.prod(input_shape)
    shapes = [tuple(input_shape)] + [tuple(r["output_shape"]) for r in rows]
    first_weighted = next((i for i, r in enumerate(rows) if r["params"]), len(rows))
    kept_ps, cols_ps, grads_ps, temp_ps = a0, 0, 0, 0   # the batch itself is kept too
    for i, layer in enumerate(layer_objs):
        kept, cols, grad, temp = _footprint(layer, shapes[i], shapes[i + 1],
                                            needs_dx=i > first_weighted)
        kept_ps += kept
        cols_ps += cols
        if i >= first_weighted:           # a training step skips the backward of the others
            grads_ps += grad
            temp_ps = max(temp_ps, temp)
    k = math.prod(shapes[-1])
    activations = batch_size * (kept_ps + grads_ps + temp_ps + 2 * k) * itemsize + step_temp
    im2col = batch_size * cols_ps * itemsize
    eb = min(eval_batch, max(n_eval, 1))
    # evaluating replaces the training step's arrays layer by layer: half of them are
    # counted as still there
    # (the batches evaluated are views of the evaluation images: no copy of the input)
    evaluation = (eb * (kept_ps - a0) + 2 * n_eval * k) * itemsize + activations // 2
    data = (n_train + n_eval) * a0 * data_itemsize + extra_data_bytes
    return MemoryEstimate(weights=weights, gradients=weights, optimizer=opt_bytes,
                          snapshots=snapshots * (weights + opt_bytes), activations=activations,
                          im2col=im2col, evaluation=evaluation, data=data,
                          batch_size=batch_size)


def machine_memory() -> tuple[int | None, int | None]:
    """(physical memory, memory available now) in bytes, from /proc/meminfo or sysconf; None
    where it cannot be told."""
    total = available = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("MemTotal", "MemAvailable"):
                    value = int(rest.split()[0]) * 1024
                    if key == "MemTotal":
                        total = value
                    else:
                        available = value
    except (OSError, ValueError, IndexError):
        pass
    if total is None:
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            total = None
    return total, available
