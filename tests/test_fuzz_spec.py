"""Fuzz: any spec either builds a network that agrees with its own shape inference, or raises
SpecError — never another exception.

Specs are drawn per layer type from the hyper-parameter descriptions, each field either left out,
valid (small, so built networks stay tiny), out of range (including huge sizes), or junk of any
JSON type; plus unknown fields, unknown types and malformed specs.
"""
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nncore import Network, SpecError, infer_shapes
from nncore.registry import LAYERS

# The built-in types (not whatever other tests register), so runs are reproducible.
BUILT_IN = ["AvgPool2D", "BatchNorm", "Conv2D", "Dense", "Dropout", "ELU", "Flatten", "GELU",
            "Identity", "LeakyReLU", "MaxPool2D", "ReLU", "Sigmoid", "Softmax", "Tanh"]

FUZZ = settings(max_examples=1200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Beyond these, a spec that is valid is only shape-inferred, not built (allocation is costly).
BUILD_MAX_PARAMS = 200_000
BUILD_MAX_VALUES = 20_000

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["same", "valid", "Dense", "float32", "", "3"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=12)

huge_int = st.integers(10**6, 10**30) | st.sampled_from([2**31, 2**63, 10**400])
small_int = st.integers(-3, 6)


def _valid_value(hp):
    """Small valid values, so networks built from them stay tiny."""
    if hp.kind == "int":
        lo = int(hp.min) if hp.min is not None else 0
        return st.integers(lo, lo + 5)
    if hp.kind == "float":
        lo = hp.min if hp.min is not None else -1.0
        hi = hp.max if hp.max is not None else 10.0
        # (a positive value that rounds to 0 in float32, e.g. BatchNorm eps=1e-300, is tested
        # on its own in test_spec.py)
        return st.floats(lo, hi, exclude_min=hp.min_open, allow_nan=False).filter(
            lambda v: not hp.min_open or np.float32(v) > 0)
    if hp.kind == "bool":
        return st.booleans()
    if hp.kind == "choice":
        return st.sampled_from(hp.options())
    pair = st.lists(st.integers(1, 3), min_size=2, max_size=2)
    if hp.kind == "size2":
        return st.integers(1, 3) | pair
    return st.integers(0, 2) | st.lists(st.integers(0, 2), min_size=2, max_size=2) | \
        st.sampled_from(["same", "valid"])


def _invalid_or_extreme(hp):
    """Out of range, huge, wrong type or junk."""
    options = [junk, huge_int, small_int.map(lambda v: -v - 1),
               st.floats(allow_nan=True, allow_infinity=True)]
    if hp.kind in ("size2", "padding"):
        options.append(st.lists(st.integers(-2, 2000), min_size=0, max_size=4))
        options.append(st.integers(0, 2000))
    return st.one_of(options)


@st.composite
def layer_config(draw, broken):
    """One layer entry; with ``broken`` it may be junk, miss required fields, hold invalid
    values or unknown fields."""
    roll = draw(st.integers(0, 99)) if broken else 99
    if roll < 5:
        return draw(junk)                                  # not even an object
    if roll < 10:
        return {"type": draw(junk | st.text(max_size=10)), **draw(
            st.dictionaries(st.text(max_size=6), junk, max_size=2))}
    name = draw(st.sampled_from(BUILT_IN))
    cls = LAYERS[name]
    defaults = cls.defaults()
    config = {"type": name}
    for field, hp in cls.hparams.items():
        choice = draw(st.integers(0, 9))
        if choice < 2 and (broken or field in defaults):
            continue                                       # missing (required or defaulted)
        if choice < 8 or not broken:
            config[field] = draw(_valid_value(hp))
        else:
            config[field] = draw(_invalid_or_extreme(hp))
    if broken and draw(st.integers(0, 9)) == 0:
        config[draw(st.text(min_size=1, max_size=6))] = draw(junk)   # unknown field
    return config


@st.composite
def spec(draw):
    broken = draw(st.integers(0, 9)) < 4
    roll = draw(st.integers(0, 99)) if broken else 99
    if roll < 5:
        return draw(junk)
    if roll > 20:
        shape = draw(st.sampled_from([[1, 6, 6], [2, 5, 7], [3, 8, 8], [1, 3, 3], [4], [10],
                                      [1], [2, 1, 1]]))
    elif roll > 10:
        shape = [draw(st.integers(1, 4)), draw(st.integers(1, 9)), draw(st.integers(1, 9))]
    else:
        shape = draw(junk | st.lists(huge_int | small_int, max_size=4))
    layers = draw(st.lists(layer_config(broken), max_size=6))
    out = {"input_shape": shape, "layers": layers}
    if broken:
        what = draw(st.integers(0, 9))
        if what == 0:
            del out[draw(st.sampled_from(["input_shape", "layers"]))]
        elif what == 1:
            out[draw(st.text(min_size=1, max_size=6))] = draw(junk)
        elif what == 2:
            out["layers"] = draw(junk)
    return out


def _check_built(net, rows, dtype):
    n = 2
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n,) + net.input_shape).astype(dtype)
    for training in (False, True):
        outs = net.forward_all(x, training=training)
        assert len(outs) == len(rows)
        for out, row in zip(outs, rows):
            assert out.shape == (n,) + tuple(row["output_shape"]), row
            assert out.dtype == dtype, row
            assert np.isfinite(out).all(), row
        y = outs[-1] if outs else x
        grad_in = net.backward(np.ones_like(y))
        assert grad_in.shape == x.shape
        assert grad_in.dtype == dtype
        assert np.isfinite(grad_in).all()
        for layer, row in zip(net.layers, rows):
            assert layer.num_params == row["params"]
            assert layer.output_shape == tuple(row["output_shape"])
            assert set(layer.grads) == set(layer.params)
            for key, p in layer.params.items():
                assert layer.grads[key].shape == p.shape
                assert layer.grads[key].dtype == dtype


@FUZZ
@given(spec=spec(), dtype=st.sampled_from(["float32", "float64"]))
def test_random_spec_builds_consistently_or_raises_spec_error(spec, dtype):
    try:
        rows = infer_shapes(spec)
    except SpecError as e:
        assert str(e)
        # building fails the same way, before any weight is allocated
        try:
            Network.from_spec(spec)
        except SpecError as e2:
            assert str(e2) == str(e)
        else:
            raise AssertionError("infer_shapes refused a spec that from_spec built")
        return
    total = sum(r["params"] for r in rows)
    biggest = max([math.prod(r["output_shape"]) for r in rows]
                  + [math.prod(spec["input_shape"])])
    if total > BUILD_MAX_PARAMS or biggest > BUILD_MAX_VALUES:
        return   # valid but too large to allocate in a quick test; inference already agreed
    net = Network.from_spec(spec, seed=1, dtype=dtype)
    assert [r["type"] for r in rows] == [type(l).__name__ for l in net.layers]
    _check_built(net, rows, np.dtype(dtype))
    # and the spec it describes is the same network
    assert infer_shapes(net.to_spec()) == rows


@settings(max_examples=100, deadline=None, derandomize=True)
@given(units=huge_int, filters=st.integers(10**4, 10**5), k=st.integers(1, 1000),
       pad=st.integers(0, 1000))
def test_huge_networks_are_spec_errors_not_memory_errors(units, filters, k, pad):
    specs = [
        {"input_shape": [1000], "layers": [{"type": "Dense", "units": units}]},
        {"input_shape": [3, 64, 64], "layers": [
            {"type": "Conv2D", "filters": filters, "kernel_size": k, "padding": pad},
            {"type": "Flatten"}, {"type": "Dense", "units": 10}]},
    ]
    for s in specs:
        try:
            rows = infer_shapes(s)
        except SpecError:
            continue
        # if inference accepts it, it fits the documented limits
        from nncore.network import MAX_ACTIVATIONS, MAX_PARAMS
        assert sum(r["params"] for r in rows) <= MAX_PARAMS
        assert all(math.prod(r["output_shape"]) <= MAX_ACTIVATIONS for r in rows)
