"""Gradient checking: is a backward pass right? Compare it with central differences, in float64.

The derivative of a scalar loss L along one coordinate θᵢ of an array (an input or a weight) is
about

    dL/dθᵢ ≈ (L(θ + h·eᵢ) − L(θ − h·eᵢ)) / 2h        (central difference, error of order h²)

Two forward passes per coordinate, no backward pass: so it checks ``backward`` against ``forward``
for any layer, including ones a learner writes. The helpers, from general to specific::

    gradcheck(fn, inputs, grads)                  # any function: fn(*inputs) -> float
    check_layer({"type": "Conv2D", "filters": 3, "stride": 2}, (2, 7, 6))  # one layer
    check_network(net, loss, x, y)                # every layer of a network, on a small batch
    diagnose_network(net, loss, x, y)             # ... and each layer alone: which one is wrong?

Which layer is wrong? In ``check_network`` one wrong backward pass makes every gradient below it
(towards the input) wrong as well, so several layers fail. ``diagnose_network`` also checks every
layer alone, on the input it receives in the network (with a fixed random projection as its
loss), and the loss alone: the layer that fails alone is the one to fix; the ones that fail only
in the network got a wrong gradient from above. ``NetworkDiagnosis.sentence()`` says so.

How the comparison is measured. For one array with analytic gradient a (from backward) and numeric
gradient n (from central differences) at the checked coordinates::

    max relative error = maxᵢ |aᵢ − nᵢ| / max(‖a‖∞, ‖n‖∞, floor)

i.e. the worst error relative to the *largest* gradient entry of that array. (An error relative to
each entry would call tiny entries wrong when they only carry rounding noise.) ``floor`` covers
arrays whose gradient is zero or nearly so: one evaluation of L carries rounding noise of some
units in its last place, so a central difference is uncertain by about
16 · 2.2e-16 · max(|L|, 1) / h; ``floor`` is the gradient size at which that uncertainty reaches
the tolerance, about 3.5e-3 · max(|L|, 1) for h = 1e-6 and tolerance 1e-6. Gradients smaller than
that are compared against the floor: a float64 central difference cannot verify them further. A
check passes when the max relative error is below the tolerance, 1e-6.

Kinks. ReLU at exactly 0 and tied maxima in a max-pool window are points where the function has
no derivative: the slopes on the left and on the right differ and the central difference lands
half-way between them. This is common on real data: MNIST's blank background puts every pixel of a
fresh network's first convolution (zero bias) exactly at ReLU's kink. A coordinate that fails is
looked at again at θ ± 2h and θ ± 4h (four more forward passes):

- if the central difference with step 4h agrees, it passes: the step h was too small for the
  rounding noise of this network's loss (BatchNorm over large feature maps is noisy);
- on a kink the backward pass returns one of the one-sided slopes (PyTorch's choice: ReLU′(0) = 0,
  the first of tied maxima), so the analytic value is compared with both, each estimated from its
  own side only and extrapolated to step 0; if the closer one agrees, it passes. This also covers
  a kink within one step on one side only: the other side's slope is the derivative;
- if the one-sided slopes disagree as much at 4h as at 2h (for a smooth function their
  difference, about step·L″, doubles with the step), θ sits on a kink where the backward pass
  took neither side (several kinks pulling different ways): the coordinate is left out of the
  error.

``kinks`` counts the coordinates found on or beside a kink.

A wrong backward pass cannot hide behind this: the function is smooth at almost every coordinate,
and there the error shows. An array whose every checked coordinate had to be left out reports a
max relative error of NaN and does not pass.

Sampling. Checking every weight of a big layer costs two forward passes per weight, so
``max_coords`` limits each array to that many coordinates: the one with the largest analytic
gradient plus a seeded random sample of the rest. ``check_network`` uses 24 per array by default;
on 8 MNIST images that took 0.04-0.1 s for the 784-128-10 MLP and 0.5-2 s for a CNN (conv 16,
pool, conv 32, pool, dense 10) here, on a machine busy with other work.

Randomness. Layers that draw random numbers in ``forward`` (Dropout) draw them from their
``layer.rng``; its state is put back before every forward pass, so every pass sees the same
mask and the checked function is deterministic.

``nncore.gradcheck`` is this module and can also be called directly:
``nncore.gradcheck(fn, inputs, grads)`` is ``nncore.gradcheck.gradcheck(fn, inputs, grads)``.
"""
from __future__ import annotations

import copy
import math
import sys
import types
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import DataError

#: The tolerance on the max relative error.
TOLERANCE = 1e-6
#: float64 unit roundoff, for the noise estimate of a central difference.
_ROUNDOFF = np.finfo(np.float64).eps
#: Rounding noise of one loss evaluation, in units in the last place of L (about 10 measured).
_NOISE_ULPS = 16


@dataclass
class GradCheck:
    """The result for one array."""
    name: str                 # the array's name (or position) in ``inputs``
    max_rel_error: float      # worst |analytic − numeric| relative to the array's largest gradient
    passed: bool              # max_rel_error < tolerance
    checked: int              # coordinates compared (all, or a sample of max_coords)
    size: int                 # coordinates in the array
    kinks: int = 0            # coordinates found on or beside a kink (see the module docstring)
    max_abs_error: float = 0.0
    scale: float = 0.0        # the denominator: max(‖a‖∞, ‖n‖∞, floor)


@dataclass
class LayerGradCheck:
    """The result for one array of one layer: its input ("input") or one of its params."""
    layer_index: int
    layer_type: str
    param: str                # "input", or a key of ``layer.params`` such as "W"
    max_rel_error: float
    passed: bool
    checked: int
    size: int
    kinks: int = 0
    max_abs_error: float = 0.0
    scale: float = 0.0

    def __str__(self):
        mark = "ok  " if self.passed else "FAIL"
        kinks = f", {self.kinks} at kinks" if self.kinks else ""
        return (f"{mark} layer {self.layer_index} {self.layer_type}.{self.param}: max relative "
                f"error {self.max_rel_error:.2e} ({self.checked}/{self.size} checked{kinks})")


# ---- the one helper ------------------------------------------------------------------------------
def _named(arrays, what) -> list[tuple[str, np.ndarray]]:
    if isinstance(arrays, np.ndarray):
        return [("0", arrays)]
    if isinstance(arrays, dict):
        return [(str(k), v) for k, v in arrays.items()]
    if isinstance(arrays, (list, tuple)):
        return [(str(i), v) for i, v in enumerate(arrays)]
    raise DataError(f"gradcheck {what}: expected an array, a list of arrays or a dict of arrays, "
                    f"received {type(arrays).__name__}")


def _choose(analytic: np.ndarray, max_coords, rng) -> np.ndarray:
    """Flat indices to check: all, or the largest analytic entry plus a random sample."""
    size = analytic.size
    if max_coords is None or size <= max_coords:
        return np.arange(size)
    largest = int(np.argmax(np.abs(analytic).ravel()))
    rest = rng.choice(size - 1, size=max_coords - 1, replace=False)
    rest += rest >= largest  # skip over ``largest``
    return np.concatenate([[largest], rest])


def _probe(fn, arrays, arr, idx, h):
    """L at θ + h·e and at θ − h·e, with the steps actually taken after rounding."""
    old = arr[idx]
    arr[idx] = old + h
    step_up = float(arr[idx] - old)
    f_up = float(fn(*arrays))
    arr[idx] = old - h
    step_down = float(old - arr[idx])
    f_down = float(fn(*arrays))
    arr[idx] = old
    return f_up, step_up, f_down, step_down


def gradcheck(fn: Callable[..., float], inputs, grads, *, eps: float = 1e-6,
              tol: float = TOLERANCE, max_coords: int | None = None, seed: int = 0
              ) -> list[GradCheck]:
    """Compare analytic gradients with central differences, one array at a time.

    fn:      called as ``fn(*arrays)``, returns the scalar loss L as a float. The arrays of
             ``inputs`` are changed *in place* (and put back exactly), so ``fn`` may also ignore
             its arguments and read them elsewhere, e.g. from ``layer.params``.
    inputs:  a float64 array, a list of them or a dict name -> array.
    grads:   the analytic dL/d(array) for each, same structure and shapes.
    eps:     the step h.
    max_coords: check at most this many coordinates per array (None: all).

    Returns one ``GradCheck`` per array, named by its dict key or list position.
    """
    named, named_grads = _named(inputs, "inputs"), _named(grads, "grads")
    if len(named) != len(named_grads):
        raise DataError(f"gradcheck: {len(named)} inputs but {len(named_grads)} gradients")
    arrays = [a for _, a in named]
    for (name, arr), (_, g) in zip(named, named_grads):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.float64:
            raise DataError(f"gradcheck input {name!r}: expected a float64 array (float32 is too "
                            f"coarse for central differences), received "
                            f"{getattr(arr, 'dtype', type(arr).__name__)}")
        if np.shape(g) != arr.shape:
            raise DataError(f"gradcheck input {name!r}: gradient shape {np.shape(g)} does not "
                            f"match the input's shape {arr.shape}")
    rng = np.random.default_rng(seed)
    f0 = float(fn(*arrays))
    floor = _NOISE_ULPS * _ROUNDOFF * max(abs(f0), 1.0) / (eps * tol)
    results = []
    for (name, arr), (_, g) in zip(named, named_grads):
        g = np.asarray(g, dtype=np.float64)
        coords = _choose(g, max_coords, rng)
        analytic = g.ravel()[coords]
        numeric = np.empty(len(coords))
        for j, flat in enumerate(coords):
            f_up, s_up, f_down, s_down = _probe(fn, arrays, arr,
                                                np.unravel_index(flat, arr.shape), eps)
            numeric[j] = (f_up - f_down) / (s_up + s_down)
        scale = max(float(np.max(np.abs(g), initial=0.0)),
                    float(np.max(np.abs(numeric), initial=0.0)), floor)
        err = np.abs(analytic - numeric) / scale
        kink = np.zeros(len(coords), dtype=bool)
        for j in np.flatnonzero(err >= tol):   # rare: look again, with larger steps
            idx = np.unravel_index(coords[j], arr.shape)
            second, kink[j] = _second_look(fn, arrays, arr, idx, eps, f0, analytic[j], scale,
                                           tol)
            if second is not None:
                err[j] = second
        compared = err[~np.isnan(err)]
        if len(coords) and not len(compared):   # every checked coordinate sits on a kink
            max_err = float("nan")
        else:
            max_err = float(np.max(compared, initial=0.0))
        results.append(GradCheck(name=name, max_rel_error=max_err, passed=bool(max_err < tol),
                                 checked=len(coords), size=g.size, kinks=int(kink.sum()),
                                 max_abs_error=max_err * scale, scale=scale))
    return results


def _slope(f0, f_s, s, f_2s, s2):
    """dL/dθ from one side: the difference quotients d(s) = (L(θ+s) − L(θ))/s at the signed
    steps s and s2 ≈ 2s, extrapolated to step 0 (Richardson: exact for a quadratic)."""
    d1, d2 = (f_s - f0) / s, (f_2s - f0) / s2
    return (s2 * d1 - s * d2) / (s2 - s)


def _second_look(fn, arrays, arr, idx, h, f0, analytic, scale, tol):
    """A coordinate failed with step h: is the gradient wrong, or is there a kink?

    Returns (relative error, found a kink); the error is NaN for a kink that the analytic gradient
    cannot be compared with. L is evaluated at θ ± 2h and θ ± 4h:
    - the central difference with step 4h agrees: it passes. Rounding noise in L shrinks as the
      step grows, and some networks are noisy (BatchNorm over large feature maps: every output
      depends on sums over the whole batch);
    - each side's slope is estimated from that side only, extrapolated to step 0:
      on a kink the backward pass returns one of the one-sided slopes (PyTorch's choice:
      ReLU′(0) = 0, the first of tied maxima), so if the analytic value agrees with the closer
      one it passes. This also covers a kink within reach of the step on one side only: the
      other side's slope is the derivative. (Steps 2h and 4h rather than smaller ones: the
      rounding noise of a one-sided estimate grows as its step shrinks.)
    - if the one-sided slopes disagree as much at 4h as at 2h (for a smooth function their
      difference, about step·L″, doubles with the step), θ sits on a kink where the backward pass
      took neither side (several kinks pulling different ways): left out.
    - otherwise the gradient is wrong, and the central difference's error counts.
    """
    u2, su2, d2, sd2 = _probe(fn, arrays, arr, idx, 2 * h)
    u4, su4, d4, sd4 = _probe(fn, arrays, arr, idx, 4 * h)
    wide = abs(analytic - (u4 - d4) / (su4 + sd4)) / scale
    if wide < tol:
        return wide, False
    right = _slope(f0, u2, su2, u4, su4)
    left = _slope(f0, d2, -sd2, d4, -sd4)
    one_sided = min(abs(analytic - right), abs(analytic - left)) / scale
    if one_sided < tol:
        return one_sided, True
    jump2 = abs((u2 - f0) / su2 - (f0 - d2) / sd2)
    jump4 = abs((u4 - f0) / su4 - (f0 - d4) / sd4)
    if jump4 < 1.5 * jump2 and jump2 > 2 * tol * scale:
        return float("nan"), True
    return None, False


# ---- layers and networks -------------------------------------------------------------------------
def _rng_state(layer):
    rng = getattr(layer, "rng", None)
    return rng.bit_generator.state if rng is not None else None   # a fresh dict


def _set_rng_state(layer, state):
    if state is not None:
        layer.rng.bit_generator.state = state   # the generator copies the values


class _Chain:
    """Layers i..end followed by a loss, as a function of layer i's input or weights."""

    def __init__(self, layers, loss_fn, training):
        self.layers, self.loss_fn, self.training = layers, loss_fn, training
        self.rng_states = [None] * len(layers)
        self.inputs: list[np.ndarray] = []
        self.output: np.ndarray | None = None     # the last layer's output, float64

    def reference(self, x):
        """Forward and backward once: record every layer's input and analytic gradients."""
        self.inputs = []
        for i, layer in enumerate(self.layers):
            self.rng_states[i] = _rng_state(layer)
            self.inputs.append(np.array(x, dtype=np.float64, copy=True))
            x = layer.forward(x, self.training)
        self.output = np.array(x, dtype=np.float64, copy=True)
        loss, grad = self.loss_fn(x, need_grad=True)
        input_grads = [None] * len(self.layers)
        param_grads = [None] * len(self.layers)
        for i in reversed(range(len(self.layers))):
            grad = self.layers[i].backward(grad)
            input_grads[i] = np.array(grad, dtype=np.float64, copy=True)
            param_grads[i] = {k: np.array(v, dtype=np.float64, copy=True)
                              for k, v in self.layers[i].grads.items()}
        return loss, input_grads, param_grads

    def loss_from(self, start: int) -> Callable[..., float]:
        def fn(*_):
            x = self.inputs[start]
            for i in range(start, len(self.layers)):
                _set_rng_state(self.layers[i], self.rng_states[i])
                x = self.layers[i].forward(x, self.training)
            return self.loss_fn(x, need_grad=False)
        return fn


def _layer_results(i, layer, checks) -> list[LayerGradCheck]:
    return [LayerGradCheck(layer_index=i, layer_type=type(layer).__name__, param=c.name,
                           max_rel_error=c.max_rel_error, passed=c.passed, checked=c.checked,
                           size=c.size, kinks=c.kinks, max_abs_error=c.max_abs_error,
                           scale=c.scale)
            for c in checks]


def _iter_chain(chain: _Chain, x, *, eps, tol, max_coords, seed, check_input=True):
    """Yields (layer index, [LayerGradCheck, ...]) one layer at a time."""
    _, input_grads, param_grads = chain.reference(x)
    for i, layer in enumerate(chain.layers):
        inputs = {"input": chain.inputs[i]} if (check_input or i > 0) else {}
        grads = {"input": input_grads[i]} if inputs else {}
        for name, p in layer.params.items():
            inputs[name], grads[name] = p, param_grads[i][name]
        checks = gradcheck(chain.loss_from(i), inputs, grads, eps=eps, tol=tol,
                           max_coords=max_coords, seed=seed + i)
        yield i, _layer_results(i, layer, checks)


def _check_chain(chain: _Chain, x, *, eps, tol, max_coords, seed,
                 check_input=True) -> list[LayerGradCheck]:
    return [r for _, rs in _iter_chain(chain, x, eps=eps, tol=tol, max_coords=max_coords,
                                       seed=seed, check_input=check_input) for r in rs]


def check_layer(layer_or_config, input_shape, *, batch: int = 3, x=None, training: bool = True,
                seed: int = 0, eps: float = 1e-6, tol: float = TOLERANCE,
                max_coords: int | None = None, randomize_params: bool = True
                ) -> list[LayerGradCheck]:
    """Check dL/dx and every dL/dparam of one layer, in float64.

    layer_or_config: a spec entry such as ``{"type": "Conv2D", "filters": 3, "padding": "same"}``
        or a Layer. A Layer already built in float64 for ``input_shape`` is used as it is (so a
        test can set, say, BatchNorm's running statistics first); any other is built here.
    input_shape: without the batch axis, e.g. (features,) or (C, H, W).
    x: the input batch (N, *input_shape); default standard-normal values, ``batch`` rows.
    randomize_params: give every weight standard-normal values first (a BatchNorm gamma of 1 or
        a bias of 0 could hide a mistake), unless the layer was passed in already built.

    The loss is a random projection, L = Σ R ⊙ layer(x) with R standard normal and fixed, so
    every output gets a different, non-trivial upstream gradient.
    """
    from .network import layer_from_config
    rng = np.random.default_rng(seed)
    layer = layer_from_config(0, layer_or_config) if isinstance(layer_or_config, dict) \
        else layer_or_config
    input_shape = tuple(int(d) for d in input_shape)
    prebuilt = layer.input_shape == input_shape and layer.dtype == np.float64 and (
        layer.params or layer.output_shape is not None)
    if not prebuilt:
        layer.build(input_shape, np.random.default_rng(seed + 1), np.float64)
        if randomize_params:
            for p in layer.params.values():
                p[...] = rng.standard_normal(p.shape)
    if x is None:
        x = rng.standard_normal((batch,) + input_shape)
    x = np.array(x, dtype=np.float64, copy=True)
    projection = rng.standard_normal((len(x),) + tuple(layer.output_shape))

    def loss_fn(y, need_grad):
        loss = float(np.sum(projection * y))
        return (loss, projection.copy()) if need_grad else loss

    chain = _Chain([layer], loss_fn, training)
    return _check_chain(chain, x, eps=eps, tol=tol, max_coords=max_coords, seed=seed)


def float64_copy(net):
    """A float64 twin of ``net``: same spec, weights, layer state (running statistics) and random
    generator state. ``net`` itself is not touched."""
    from .network import Network
    twin = Network.from_spec(net.to_spec(), seed=getattr(net, "seed", 0), dtype="float64")
    twin.set_weights({k: np.asarray(v, dtype=np.float64) for k, v in net.get_weights().items()})
    twin.set_rng_state(net.rng_state())
    return twin


def check_network(net, loss, x, y, eps: float = 1e-6, *, training: bool = True,
                  max_coords: int | None = 24, seed: int = 0, tol: float = TOLERANCE,
                  check_input: bool = True) -> list[LayerGradCheck]:
    """Check every layer of ``net`` on the batch (x, y) with ``loss``: dL/d(layer input) and every
    dL/d(weight), on a float64 copy (``net`` itself, its weights, statistics and random state are
    not touched).

    Returns one LayerGradCheck per layer and array, in layer order, "input" first. For layer 0 the
    "input" is the data itself (dL/dx, as a saliency map uses it); ``check_input=False`` skips it.
    training: check the gradients of a training step (BatchNorm on batch statistics, Dropout with
    one fixed mask) or, if False, of evaluation mode.
    max_coords: coordinates checked per array (see the module docstring); None checks all.

    Keep the batch small (a few samples): every checked coordinate costs two forward passes
    through the layers from its own to the last.
    """
    twin, x, loss_fn = _float64_problem(net, loss, x, y)
    chain = _Chain(twin.layers, loss_fn, training)
    return _check_chain(chain, x, eps=eps, tol=tol, max_coords=max_coords, seed=seed,
                        check_input=check_input)


def _float64_problem(net, loss, x, y):
    """(float64 twin of net, x as its input, loss_fn(out, need_grad)) with checked x and y."""
    twin = float64_copy(net)
    x = twin.check_input(x)
    if len(x) == 0:
        raise DataError("the gradient check needs at least one sample, received an empty batch")
    y = np.asarray(y)
    if len(y) != len(x):
        raise DataError(f"number of targets ({len(y)}) does not match the batch size ({len(x)})")
    loss = copy.deepcopy(loss)

    def loss_fn(out, need_grad):
        value = float(loss.forward(out, y))
        if need_grad:
            return value, np.asarray(loss.backward(), dtype=np.float64)
        return value
    return twin, x, loss_fn


# ---- where is the mistake? ----------------------------------------------------------------------
def _failed(r) -> bool:
    """A real failure: an error above the tolerance (NaN, every coordinate on a kink, is
    'not verified' rather than wrong)."""
    return not r.passed and not math.isnan(r.max_rel_error)


def _worst(results) -> float:
    errors = [r.max_rel_error for r in results if not math.isnan(r.max_rel_error)]
    return max(errors, default=0.0)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _span(indices, number_from: int = 0) -> str:
    """[0, 1, 2] -> "layers 0–2", [0, 2] -> "layers 0 and 2", [4] -> "layer 4" (each index
    plus ``number_from``)."""
    idx = [i + number_from for i in sorted(indices)]
    if len(idx) == 1:
        return f"layer {idx[0]}"
    if idx == list(range(idx[0], idx[-1] + 1)):
        return f"layers {idx[0]}–{idx[-1]}"
    return "layers " + ", ".join(map(str, idx[:-1])) + f" and {idx[-1]}"


@dataclass
class NetworkDiagnosis:
    """Two checks of every layer, and one of the loss: which backward pass is wrong?

    ``in_network``: ``check_network``'s results: each layer's gradients as the network computes
    them, from the loss back to that layer. One wrong backward pass makes every gradient below it
    (towards the input) wrong too, so these alone cannot say which layer is to blame.
    ``alone``: each layer checked by itself (``check_layer``) on the input it actually received
    in the network, with a fixed random projection as its loss: dL/dx and dL/dweights of that
    layer alone, independent of every other layer. A layer that fails here has a wrong backward.
    ``loss``: dL/d(output) of the loss, on the network's output.
    """
    layer_types: list
    loss_type: str
    in_network: list              # [LayerGradCheck] in layer order
    alone: list                   # [LayerGradCheck] in layer order (layer_index as in the network)
    loss: GradCheck | None

    def results(self, index: int, alone: bool = True) -> list:
        return [r for r in (self.alone if alone else self.in_network) if r.layer_index == index]

    def failed_alone(self, index: int) -> bool:
        return any(_failed(r) for r in self.results(index, alone=True))

    def failed_in_network(self, index: int) -> bool:
        return any(_failed(r) for r in self.results(index, alone=False))

    @property
    def culprits(self) -> list[int]:
        """Layers whose own backward pass is wrong, from the output side (the last layer first)."""
        return [i for i in reversed(range(len(self.layer_types))) if self.failed_alone(i)]

    @property
    def loss_failed(self) -> bool:
        return self.loss is not None and _failed(self.loss)

    @property
    def first_from_output(self) -> int | None:
        """The layer to look at first: the first one, from the output side, that fails alone;
        if none does, the first that fails in the network (and passes alone). None if none fails."""
        if self.culprits:
            return self.culprits[0]
        inside = [i for i in reversed(range(len(self.layer_types))) if self.failed_in_network(i)]
        return inside[0] if inside and not self.loss_failed else None

    def inherited_from(self, index: int) -> int | str | None:
        """Why layer ``index`` fails in the network although it passes alone: the layer above it
        (towards the output) whose wrong gradient reaches it, or "loss"; None if it does not."""
        if self.failed_alone(index) or not self.failed_in_network(index):
            return None
        above = [i for i in self.culprits if i > index]
        if above:
            return min(above)
        return "loss" if self.loss_failed else None

    @property
    def passed(self) -> bool:
        return (all(r.passed for r in self.in_network) and all(r.passed for r in self.alone)
                and (self.loss is None or self.loss.passed))

    @property
    def worst(self) -> float:
        return _worst(self.in_network + self.alone + ([self.loss] if self.loss else []))

    def name(self, index: int, number_from: int = 0) -> str:
        return f"layer {index + number_from} {self.layer_types[index]}"

    def sentence(self, number_from: int = 0) -> str:
        """The verdict in one or two plain sentences, naming the layer to fix. Layers are
        numbered from ``number_from``: 0 as in ``net.layers``, 1 as the app's builder counts."""
        n = number_from
        if self.passed:
            return (f"Every layer's backward pass agrees with finite differences, alone and in "
                    f"the network (worst relative error {self.worst:.1e}).")
        unverified = [i for i in range(len(self.layer_types))
                      if not self.failed_alone(i) and not self.failed_in_network(i)
                      and not all(r.passed for r in self.results(i) + self.results(i, False))]
        tail = (f" ({_cap(_span(unverified, n))}: every checked coordinate sat on a kink, "
                f"not verified.)" if unverified else "")
        culprits = self.culprits
        if culprits:
            first = culprits[0]
            arrays = ", ".join(f"d{'X' if r.param == 'input' else r.param}"
                               for r in self.results(first) if _failed(r))
            text = (f"{_cap(self.name(first, n))} computes a wrong gradient: its own "
                    f"backward pass, checked alone on its actual input, disagrees with "
                    f"finite differences (relative error {_worst(self.results(first)):.1e} "
                    f"in {arrays}).")
            if len(culprits) > 1:
                others = ", ".join(self.name(i, n) for i in culprits[1:])
                text += f" Also wrong alone: {others}."
            inherited = [i for i in range(len(self.layer_types))
                         if self.inherited_from(i) is not None]
            if inherited:
                text += (f" {_cap(_span(inherited, n))} fail only inside the network, "
                         f"because the gradient reaching them is already wrong.")
            return text + tail
        if self.loss_failed:
            return (f"The loss {self.loss_type} computes a wrong dL/d(output) (relative "
                    f"error {self.loss.max_rel_error:.1e}); every layer passes alone, and "
                    f"fails in the network only because of it.") + tail
        first = self.first_from_output
        if first is not None:
            return (f"{_cap(self.name(first, n))} passes alone but fails inside the network "
                    f"(relative error {_worst(self.results(first, False)):.1e}): look at what its "
                    f"forward and backward keep between calls, or change in place.") + tail
        return "Nothing failed, but not everything could be verified." + tail


def diagnose_steps(net, loss, x, y, eps: float = 1e-6, *, training: bool = True,
                   max_coords: int | None = 24, seed: int = 0, tol: float = TOLERANCE):
    """``diagnose_network`` as a generator, for a worker that shows progress and can stop
    between steps: yields (done, total, what was just checked: "layer 3 Dense alone", layers
    counted from 1 as in every message) after each step (each layer in the network, the loss,
    each layer alone) and returns the NetworkDiagnosis."""
    twin, x, loss_fn = _float64_problem(net, loss, x, y)
    layers = twin.layers
    types = [type(layer).__name__ for layer in layers]
    total, done = 2 * len(layers) + 1, 0
    chain = _Chain(layers, loss_fn, training)
    in_network = []
    for i, results in _iter_chain(chain, x, eps=eps, tol=tol, max_coords=max_coords,
                                  seed=seed):
        in_network += results
        done += 1
        yield done, total, f"layer {i + 1} {types[i]} in the network"   # counted from 1
    out = chain.output.copy() if chain.output is not None else twin.forward(x, training)
    _, grad = loss_fn(out, need_grad=True)
    loss_check = gradcheck(lambda o: loss_fn(o, need_grad=False), {"output": out},
                           {"output": grad}, eps=eps, tol=tol, max_coords=max_coords,
                           seed=seed + 2 * len(layers))[0]
    done += 1
    yield done, total, f"the loss {type(loss).__name__}"
    alone = []
    for i, layer in enumerate(layers):
        results = check_layer(layer, tuple(layer.input_shape), x=chain.inputs[i],
                              training=training, seed=seed + len(layers) + i, eps=eps, tol=tol,
                              max_coords=max_coords, randomize_params=False)
        for r in results:
            r.layer_index = i
        alone += results
        done += 1
        yield done, total, f"layer {i + 1} {types[i]} alone"
    return NetworkDiagnosis(types, type(loss).__name__, in_network, alone, loss_check)


def diagnose_network(net, loss, x, y, eps: float = 1e-6, **kwargs) -> NetworkDiagnosis:
    """Check every layer in the network (``check_network``), every layer alone on the input it
    receives in the network (``check_layer``) and the loss, on a float64 copy; ``net`` is not
    touched. ``NetworkDiagnosis.sentence()`` names the layer whose own backward pass is wrong."""
    steps = diagnose_steps(net, loss, x, y, eps, **kwargs)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


# ``nncore.gradcheck(...)`` calls ``gradcheck`` while ``nncore.gradcheck.check_network`` etc. stay
# reachable: the module object itself is made callable.
class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return gradcheck(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
