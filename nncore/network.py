"""Network: a stack of layers built from a JSON-able spec.

    spec = {"input_shape": [1, 28, 28],
            "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 128}, {"type": "ReLU"},
                       {"type": "Dense", "units": 10}, {"type": "Softmax"}]}
    net = Network.from_spec(spec, seed=0)
    probs = net.forward(x)                 # x: (N, 1, 28, 28)
    grad_x = net.backward(dL_dprobs)       # fills every layer's .grads

Building validates everything: a bad spec raises ``SpecError`` naming the layer index, the field,
what was expected and what was received.
"""
from __future__ import annotations

import copy
import difflib
import math

import numpy as np

from . import layers as _layers  # noqa: F401  (registers the built-in layers)
from .errors import DataError, ShapeError, SpecError
from .hparams import HParamError, pair, short_repr
from .registry import LAYERS, get

#: A network may have at most this many weights: beyond it, SpecError. 0.4 GB in float32, and
#: training needs 2-4 times that (gradients, optimizer buffers).
MAX_PARAMS = 100_000_000
#: ... and at most this many values per sample in any layer's output (40 MB in float32;
#: training keeps every layer's output for a whole batch).
MAX_ACTIVATIONS = 10_000_000

_DTYPES = {"float32": np.float32, "float64": np.float64}


def _dtype_name(dtype) -> str | None:
    """'float32' for "float32", np.float32 or np.dtype("float32"); None if not a dtype."""
    if isinstance(dtype, str) or dtype is None:  # np.dtype(None) would mean float64
        return dtype
    try:
        return np.dtype(dtype).name
    except (TypeError, ValueError):
        return None


def _check_input_shape(shape):
    if (not isinstance(shape, (list, tuple)) or len(shape) not in (1, 3)
            or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1
                       for d in shape)):
        raise SpecError("expected [features] or [channels, height, width] with positive "
                        f"integers, received {short_repr(shape)}", field="input_shape",
                        expected="[features] or [channels, height, width]", received=shape)
    if math.prod(int(d) for d in shape) > MAX_ACTIVATIONS:
        raise SpecError(f"the input has {math.prod(shape):,} values per sample; at most "
                        f"{MAX_ACTIVATIONS:,} fit in memory", field="input_shape",
                        expected=f"at most {MAX_ACTIVATIONS:,} values", received=shape)
    return tuple(int(d) for d in shape)


def _type_hint(type_name) -> str:
    """What a misspelt or unknown layer type probably means: "; did you mean ReLU?" for
    "Relu" or "Rlu", else a word on layer types of one's own (they come from plugins)."""
    if not isinstance(type_name, str) or not type_name.strip():
        return ""
    by_lower = {name.lower(): name for name in LAYERS}
    wanted = type_name.strip().lower()
    close = difflib.get_close_matches(wanted, list(by_lower), n=1, cutoff=0.75)
    if wanted in by_lower or close:
        return f"; did you mean {by_lower[wanted if wanted in by_lower else close[0]]}?"
    return ("; a layer type of your own must be registered first: put its file in the plugin "
            "folder (nn-train --plugins FOLDER; the app: Network ▸ Reload plugins)")


def layer_from_config(index: int, config) -> "_layers.Layer":
    """Construct (not build) one layer from its spec entry, validating every field."""
    if not isinstance(config, dict):
        raise SpecError(f"expected an object like {{\"type\": \"Dense\", ...}}, received "
                        f"{short_repr(config)}", index=index, expected="an object",
                        received=config)
    type_name = config.get("type")
    if not isinstance(type_name, str) or type_name not in LAYERS:
        known = ", ".join(LAYERS)
        raise SpecError(f"expected one of {known}, received {short_repr(type_name)}"
                        f"{_type_hint(type_name)}", index=index, field="type",
                        expected=f"one of {known}", received=type_name)
    cls = LAYERS[type_name]
    defaults = cls.defaults()
    kwargs = {}
    for name, value in config.items():
        if name == "type":
            continue
        if name not in cls.hparams:
            known = ", ".join(cls.hparams) or "no fields besides 'type'"
            raise SpecError(f"unknown field (received {short_repr(value)}); {type_name} takes "
                            f"{known}", index=index,
                            layer_type=type_name, field=name, expected=known, received=value)
        if value is None and defaults.get(name, ...) is None:
            kwargs[name] = None
            continue
        try:
            kwargs[name] = cls.hparams[name].check(value)
        except HParamError as e:
            raise SpecError(str(e), index=index, layer_type=type_name, field=name,
                            expected=e.expected, received=value) from None
    for name in cls.hparams:
        if name not in kwargs and name not in defaults:
            raise SpecError(f"missing required field; expected "
                            f"{cls.hparams[name].expected()}", index=index,
                            layer_type=type_name, field=name,
                            expected=cls.hparams[name].expected(), received=None)
    return cls(**kwargs)


def infer_shapes(spec) -> list[dict]:
    """Shape inference without building weights: one dict per layer with "type",
    "output_shape", "params" — or raise SpecError at the first invalid layer."""
    input_shape, layers = _parse(spec)
    return _infer(input_shape, layers)


def _parse(spec):
    if not isinstance(spec, dict):
        raise SpecError(f"a network spec must be an object with 'input_shape' and 'layers', "
                        f"received {type(spec).__name__}", expected="an object", received=spec)
    unknown = set(spec) - {"input_shape", "layers", "name", "description"}
    if unknown:
        field = sorted(unknown, key=str)[0]  # keys need not be strings outside JSON
        raise SpecError("unknown field; a spec has input_shape, layers (name, description "
                        "optional)", field=str(field), expected="input_shape, layers",
                        received=spec[field])
    if "input_shape" not in spec:
        raise SpecError("missing; expected [features] or [channels, height, width]",
                        field="input_shape", expected="[features] or [channels, height, width]",
                        received=None)
    input_shape = _check_input_shape(spec["input_shape"])
    if "layers" not in spec:
        raise SpecError("missing; expected a list of layers", field="layers",
                        expected="a list of layers", received=None)
    layer_list = spec["layers"]
    if not isinstance(layer_list, list):
        raise SpecError(f"expected a list of layers, received {short_repr(layer_list)}",
                        field="layers", expected="a list of layers", received=layer_list)
    return input_shape, [layer_from_config(i, c) for i, c in enumerate(layer_list)]


def _infer(input_shape, layers):
    shape, total, rows = input_shape, 0, []
    for i, layer in enumerate(layers):
        name = type(layer).__name__
        try:
            out = layer.compute_output_shape(shape)
        except ShapeError as e:
            raise SpecError(str(e), index=i, layer_type=name, field="input",
                            expected="a shape this layer can take", received=list(shape)) from None
        n_params = layer.count_params(shape)
        total += n_params
        if total > MAX_PARAMS:
            raise SpecError(f"the network would have {total:,} weights; at most {MAX_PARAMS:,} "
                            f"fit in memory", index=i, layer_type=name,
                            expected=f"at most {MAX_PARAMS:,} weights", received=total)
        if math.prod(out) > MAX_ACTIVATIONS:
            raise SpecError(f"output {tuple(out)} has {math.prod(out):,} values per sample; at "
                            f"most {MAX_ACTIVATIONS:,} fit in memory", index=i, layer_type=name,
                            expected=f"at most {MAX_ACTIVATIONS:,} values", received=list(out))
        work = _working_values(layer, shape, out)
        if work > MAX_ACTIVATIONS:
            raise SpecError(f"its working matrix (one row per output position, one column per "
                            f"input value under the kernel) would hold {work:,} values per "
                            f"sample; at most {MAX_ACTIVATIONS:,} fit in memory: use a smaller "
                            f"kernel, fewer input channels or a larger stride", index=i,
                            layer_type=name, expected=f"at most {MAX_ACTIVATIONS:,} values",
                            received=work)
        rows.append({"index": i, "type": name, "input_shape": tuple(shape),
                     "output_shape": tuple(out), "params": n_params})
        shape = out
    return rows


def _working_values(layer, in_shape, out_shape) -> int:
    """Values per sample of a layer's largest temporary array: Conv2D's im2col matrix,
    (OH·OW) × (C·kh·kw), which can dwarf both its input and its output."""
    if isinstance(layer, _layers.Conv2D):
        kh, kw = pair(layer.kernel_size)
        return out_shape[1] * out_shape[2] * in_shape[0] * kh * kw
    return 0


class Network:
    """An ordered stack of built layers with a fixed input shape and dtype."""

    def __init__(self, layers, input_shape, seed: int = 0, dtype="float32"):
        if _dtype_name(dtype) not in _DTYPES:
            raise SpecError(f"expected 'float32' or 'float64', received {short_repr(dtype)}",
                            field="dtype", expected="'float32' or 'float64'", received=dtype)
        self.dtype = np.dtype(_DTYPES[_dtype_name(dtype)])
        self.input_shape = _check_input_shape(input_shape)
        self.layers = list(layers)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.info = _infer(self.input_shape, self.layers)
        shape = self.input_shape
        for layer in self.layers:
            layer.build(shape, self.rng, self.dtype)
            shape = layer.output_shape
        self.output_shape = shape

    # ---- spec --------------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: dict, seed: int = 0, dtype="float32") -> "Network":
        input_shape, layers = _parse(spec)
        return cls(layers, input_shape, seed=seed, dtype=dtype)

    def to_spec(self) -> dict:
        return {"input_shape": list(self.input_shape),
                "layers": [{"type": type(l).__name__, **copy.deepcopy(l.get_config())}
                           for l in self.layers]}

    # ---- description -------------------------------------------------------------------------
    @property
    def num_params(self) -> int:
        return sum(layer.num_params for layer in self.layers)

    def summary(self) -> str:
        """A table: one row per layer with its output shape and parameter count, then the total."""
        rows = [("#", "Layer", "Output shape", "Params")]
        rows.append(("", "Input", str(self.input_shape), ""))
        for i, layer in enumerate(self.layers):
            rows.append((str(i), repr(layer), str(layer.output_shape), f"{layer.num_params:,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        line = lambda r: "  ".join([r[0].rjust(widths[0]), r[1].ljust(widths[1]),  # noqa: E731
                                    r[2].ljust(widths[2]), r[3].rjust(widths[3])])
        out = [line(rows[0]), "-" * (sum(widths) + 6)] + [line(r) for r in rows[1:]]
        out += ["-" * (sum(widths) + 6), f"Total parameters: {self.num_params:,}"]
        return "\n".join(out)

    # ---- computation -------------------------------------------------------------------------
    def check_input(self, x) -> np.ndarray:
        """``x`` as an array of this network's dtype, or DataError if the shape or values are off."""
        expected = f"(N, {', '.join(map(str, self.input_shape))})"
        try:
            x = np.asarray(x)
        except (ValueError, TypeError):   # ragged nested lists
            raise DataError(f"expected input of shape {expected}, received rows of different "
                            f"lengths") from None
        if x.ndim != len(self.input_shape) + 1 or x.shape[1:] != self.input_shape:
            raise DataError(f"expected input of shape {expected}, received {x.shape}")
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise DataError(f"expected real numbers as input, received dtype {x.dtype}")
        if x.dtype != self.dtype and np.issubdtype(x.dtype, np.floating):
            if not np.isfinite(x).all():
                raise DataError("input contains NaN or infinite values")
            with np.errstate(over="ignore"):
                x = x.astype(self.dtype)
            if not np.isfinite(x).all():
                raise DataError(f"input values are too large for {self.dtype} (largest "
                                f"{np.finfo(self.dtype).max:.3g})")
            return x
        x = x.astype(self.dtype, copy=False)
        if not np.isfinite(x).all():
            raise DataError("input contains NaN or infinite values")
        return x

    def forward(self, x, training: bool = False) -> np.ndarray:
        """(N, *input_shape) -> (N, *output_shape). Dropout and BatchNorm act per ``training``."""
        x = self.check_input(x)
        for layer in self.layers:
            x = layer.forward(x, training)
            layer.last_output = x          # kept for the backward-pass inspector
        return x

    def forward_all(self, x, training: bool = False) -> list[np.ndarray]:
        """Every layer's output, in order (for activation views)."""
        x = self.check_input(x)
        outs = []
        for layer in self.layers:
            x = layer.forward(x, training)
            outs.append(x)
        return outs

    def backward(self, grad_out, input_grad: bool = True) -> np.ndarray | None:
        """dL/d(output) -> dL/d(input), filling (overwriting) every layer's ``grads``.

        Each layer keeps the gradient it received as ``layer.last_grad_output`` (and ``forward``
        keeps each output as ``layer.last_output``): references, not copies, read by
        ``nncore.inspect.layer_reports``.

        ``input_grad=False`` is what a training step uses: nothing needs dL/d(input), so the
        first layer with weights computes only its weight gradients (``backward_params``), the
        layers below it are skipped (their ``last_grad_output`` becomes None) and None is
        returned. The weight gradients are exactly the same either way."""
        try:
            grad = np.asarray(grad_out, dtype=self.dtype)
        except (ValueError, TypeError):
            grad = None
        if grad is None or grad.ndim < 1 or grad.shape[1:] != tuple(self.output_shape):
            raise DataError(f"expected dL/d(output) of shape (N, "
                            f"{', '.join(map(str, self.output_shape))}), received "
                            f"{getattr(grad, 'shape', type(grad_out).__name__)}")
        stop = 0 if input_grad else self.first_weighted_index()
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if i < stop:
                layer.last_grad_output = None
                continue
            layer.last_grad_output = grad  # dL/d(this layer's output), for the inspector
            if i == stop and not input_grad:
                layer.backward_params(grad)
            else:
                grad = layer.backward(grad)
        return grad if input_grad else None

    def first_weighted_index(self) -> int:
        """Index of the first layer with weights (len(layers) if there is none)."""
        return next((i for i, layer in enumerate(self.layers) if layer.params), len(self.layers))

    def predict(self, x, batch_size: int = 1000) -> np.ndarray:
        """Outputs for ``x`` in evaluation mode, in batches."""
        x = self.check_input(x)
        outs = [self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
        if not outs:
            return np.zeros((0,) + tuple(self.output_shape), dtype=self.dtype)
        return np.concatenate(outs)

    # ---- weights -----------------------------------------------------------------------------
    def parameters(self):
        """(key, array) for every weight, key "index.name" (e.g. "1.W")."""
        for i, layer in enumerate(self.layers):
            for name, p in layer.params.items():
                yield f"{i}.{name}", p

    def gradients(self):
        for i, layer in enumerate(self.layers):
            for name, g in layer.grads.items():
                yield f"{i}.{name}", g

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every weight and every piece of layer state (e.g. BatchNorm statistics)."""
        out = {k: p.copy() for k, p in self.parameters()}
        for i, layer in enumerate(self.layers):
            for name, arr in layer.state_arrays().items():
                out[f"{i}.{name}"] = arr.copy()
        return out

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Copy weights in place; every key must be present with the right shape and real
        numbers. All are checked before any is copied: on DataError nothing has changed."""
        expected = {k: p for k, p in self.parameters()}
        for i, layer in enumerate(self.layers):
            for name, arr in layer.state_arrays().items():
                expected[f"{i}.{name}"] = arr
        if not isinstance(weights, dict):
            raise DataError(f"weights must be a dict of arrays, received {type(weights).__name__}")
        missing = set(expected) - set(weights)
        extra = set(weights) - set(expected)
        if missing or extra:
            raise DataError(f"weights do not match the network: missing {sorted(missing)}, "
                            f"unexpected {sorted(extra, key=str)}")
        sources = {}
        for k, target in expected.items():
            src = np.asarray(weights[k])
            if src.shape != target.shape:
                raise DataError(f"weight {k}: expected shape {target.shape}, received {src.shape}")
            if not (np.issubdtype(src.dtype, np.integer) or np.issubdtype(src.dtype, np.floating)
                    or src.dtype == np.bool_):
                raise DataError(f"weight {k}: expected real numbers, received dtype {src.dtype}")
            sources[k] = src
        for k, target in expected.items():
            target[...] = sources[k]

    def rng_state(self) -> dict:
        """A copy of the generator's state (for a snapshot): PCG64, numpy's default, builds a
        new dict of ints at each read, which nothing shares; other bit generators' states may
        hold arrays, which are copied."""
        state = self.rng.bit_generator.state
        return state if isinstance(self.rng.bit_generator, np.random.PCG64) else \
            copy.deepcopy(state)

    def set_rng_state(self, state: dict) -> None:
        # the generator copies the values into its own memory: ``state`` stays the caller's
        self.rng.bit_generator.state = state
