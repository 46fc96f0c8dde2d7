"""Network specs: every field of every layer type is validated, shapes are inferred without data,
to_spec/from_spec round-trip, and summary() shows shapes and parameter counts."""
import json

import numpy as np
import pytest

from nncore import Network, SpecError, infer_shapes
from nncore.network import MAX_ACTIVATIONS, MAX_PARAMS
from nncore.registry import LAYERS

LAYER_TYPES = ["Dense", "Conv2D", "MaxPool2D", "AvgPool2D", "Flatten", "Dropout", "BatchNorm",
               "ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "GELU", "Softmax", "Identity"]

SEED_MLP = {"input_shape": [1, 28, 28],
            "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 128}, {"type": "ReLU"},
                       {"type": "Dense", "units": 10}, {"type": "Softmax"}]}

# A valid value for every required field, so a layer can be placed in a spec on its own.
REQUIRED = {"Dense": {"units": 4}, "Conv2D": {"filters": 2}}

# A value of the wrong type for each kind of hyper-parameter.
WRONG_TYPE = {"int": ["3", 2.5, True, None, [3]], "float": ["0.5", True, None, [0.5], {}],
              "bool": [1, "true", None, 0.0], "choice": [5, None, ["zeros"], True],
              "size2": ["3", 2.5, True, [2, 2, 2], [2, "2"], {"h": 2}],
              "padding": ["full", 1.5, True, [1, 1, 1], None]}


def _out_of_range(hp):
    """Values of the right type outside the allowed range (empty if the kind has no range)."""
    if hp.kind == "int":
        return [int(hp.min) - 1, int(hp.max) + 1, -10**30]
    if hp.kind == "float":
        below = [hp.min] if hp.min_open else [hp.min - 0.5]
        return below + [hp.max + 0.5, float("inf"), float("nan"), 10**400]
    if hp.kind == "size2":
        return [0, -1, [1, 0], int(hp.max) + 1]
    if hp.kind == "padding":
        return [-1, [0, -1], int(hp.max) + 1]
    if hp.kind == "choice":
        return ["no_such_option", ""]
    return []


def _cases(kind):
    for name in LAYER_TYPES:
        for field, hp in LAYERS[name].hparams.items():
            values = WRONG_TYPE[hp.kind] if kind == "type" else _out_of_range(hp)
            for value in values:
                if value is None and LAYERS[name].defaults().get(field, ...) is None:
                    continue   # None is the documented default (pooling stride)
                yield pytest.param(name, field, value, id=f"{name}.{field}={value!r}")


def _spec_with(layer: dict, index: int = 2) -> dict:
    """The layer at position ``index``, after harmless Identity layers."""
    return {"input_shape": [1, 8, 8],
            "layers": [{"type": "Identity"}] * index + [layer]}


def _raise(spec) -> SpecError:
    with pytest.raises(SpecError) as info:
        Network.from_spec(spec)
    with pytest.raises(SpecError) as info2:
        infer_shapes(spec)
    assert str(info.value) == str(info2.value)
    return info.value


def _check_names_everything(e, name, field, value):
    assert e.index == 2
    assert e.layer_type == name
    assert e.field == field
    assert e.expected
    msg = str(e)
    assert msg.startswith(f"layer 3 ({name}), field '{field}': ")     # counted from 1
    assert e.expected in msg
    assert "received" in msg
    if isinstance(value, float) and value != value:
        assert e.received != e.received
    else:
        assert e.received == value


def test_every_layer_type_is_registered():
    assert set(LAYER_TYPES) <= set(LAYERS)


@pytest.mark.parametrize("name,field,value", list(_cases("type")))
def test_wrong_type_names_layer_field_expected_and_received(name, field, value):
    layer = {"type": name, **REQUIRED.get(name, {}), field: value}
    e = _raise(_spec_with(layer))
    _check_names_everything(e, name, field, value)


@pytest.mark.parametrize("name,field,value", list(_cases("range")))
def test_out_of_range_names_layer_field_expected_and_received(name, field, value):
    layer = {"type": name, **REQUIRED.get(name, {}), field: value}
    e = _raise(_spec_with(layer))
    _check_names_everything(e, name, field, value)


@pytest.mark.parametrize("name", LAYER_TYPES)
def test_unknown_field_names_it_and_lists_the_known_ones(name):
    layer = {"type": name, **REQUIRED.get(name, {}), "unitz": 3}
    e = _raise(_spec_with(layer))
    _check_names_everything(e, name, "unitz", 3)
    assert "unknown field" in str(e)
    for known in LAYERS[name].hparams:
        assert known in e.expected


@pytest.mark.parametrize("name,field", [(n, f) for n, fields in REQUIRED.items() for f in fields])
def test_missing_required_field(name, field):
    e = _raise(_spec_with({"type": name}))
    assert (e.index, e.layer_type, e.field, e.received) == (2, name, field, None)
    assert "missing" in str(e) and e.expected in str(e)


def test_required_fields_are_exactly_units_and_filters():
    required = {n: [f for f in LAYERS[n].hparams if f not in LAYERS[n].defaults()]
                for n in LAYER_TYPES}
    assert {n: f for n, f in required.items() if f} == {"Dense": ["units"], "Conv2D": ["filters"]}


def test_messages_read_plainly():
    e = _raise(_spec_with({"type": "Dense", "units": 0}))
    assert str(e) == ("layer 3 (Dense), field 'units': expected an integer >= 1 and "
                      "<= 400,000,000, received 0")
    e = _raise(_spec_with({"type": "Dropout", "rate": 1.5}))
    assert str(e) == ("layer 3 (Dropout), field 'rate': expected a number >= 0 and <= 0.99, "
                      "received 1.5")
    e = _raise(_spec_with({"type": "BatchNorm", "eps": 0}))
    assert "expected a number >= 1e-20 and <= 1, received 0" in str(e)


def test_huge_received_value_is_shortened_in_the_message():
    value = list(range(100_000))
    e = _raise(_spec_with({"type": "Conv2D", "filters": 2, "kernel_size": value}))
    assert len(str(e)) < 300
    assert e.received is value
    nested = []
    for _ in range(10_000):
        nested = [nested]
    e = _raise(_spec_with({"type": "Dense", "units": nested}))
    assert len(str(e)) < 300


@pytest.mark.parametrize("layer,index", [
    ("junk", 0), (None, 1), (["Dense"], 0), ({"units": 3}, 0), ({"type": "Dens"}, 1),
    ({"type": 3}, 0), ({"type": ["Dense"]}, 0)])
def test_malformed_layer_entries(layer, index):
    spec = {"input_shape": [4], "layers": [{"type": "ReLU"}] * index + [layer]}
    e = _raise(spec)
    assert e.index == index and e.expected
    assert f"layer {index + 1}" in str(e)         # the message counts layers from 1
    if isinstance(layer, dict):
        assert e.field == "type"
        assert "Dense" in str(e)       # the known types are listed


@pytest.mark.parametrize("spec,field", [
    (None, None), ([], None), ("Dense", None),
    ({"layers": []}, "input_shape"), ({"input_shape": [4]}, "layers"),
    ({"input_shape": [4], "layers": {}}, "layers"),
    ({"input_shape": [4], "layers": [], "extra": 1}, "extra"),
    ({"input_shape": [4], "layers": [], 7: 1}, "7"),
    ({"input_shape": [], "layers": []}, "input_shape"),
    ({"input_shape": [1, 28], "layers": []}, "input_shape"),
    ({"input_shape": [0], "layers": []}, "input_shape"),
    ({"input_shape": [1, -28, 28], "layers": []}, "input_shape"),
    ({"input_shape": [1.0, 28, 28], "layers": []}, "input_shape"),
    ({"input_shape": [True], "layers": []}, "input_shape"),
    ({"input_shape": "1,28,28", "layers": []}, "input_shape"),
])
def test_malformed_specs(spec, field):
    e = _raise(spec)
    assert e.index is None
    assert e.field == field
    assert e.expected


def test_name_and_description_are_allowed():
    spec = dict(SEED_MLP, name="seed", description="the learner's MLP")
    assert Network.from_spec(spec).num_params == 101_770


# ---- shape problems ----------------------------------------------------------------------------
def test_dense_on_image_input_says_add_flatten():
    spec = {"input_shape": [16, 26, 26], "layers": [{"type": "Dense", "units": 10}]}
    e = _raise(spec)
    assert e.index == 0 and e.layer_type == "Dense"
    assert "add Flatten" in str(e)
    assert "(16, 26, 26)" in str(e)
    assert e.received == [16, 26, 26]


def test_dense_after_conv_without_flatten_names_the_dense_layer():
    spec = {"input_shape": [1, 28, 28], "layers": [
        {"type": "Conv2D", "filters": 16}, {"type": "ReLU"}, {"type": "Dense", "units": 10}]}
    e = _raise(spec)
    assert (e.index, e.layer_type) == (2, "Dense")
    assert str(e).startswith("layer 3 (Dense)")   # the third layer (index 2)
    assert "(16, 26, 26)" in str(e) and "add Flatten" in str(e)


@pytest.mark.parametrize("layer,words", [
    ({"type": "Conv2D", "filters": 2, "kernel_size": 5}, ["kernel height 5", "input size 4"]),
    ({"type": "Conv2D", "filters": 2, "kernel_size": [1, 9]}, ["kernel width 9", "size 4"]),
    ({"type": "Conv2D", "filters": 2, "kernel_size": 7, "padding": 1},
     ["kernel height 7", "padded input size 6"]),
    ({"type": "MaxPool2D", "pool_size": 5}, ["window height 5", "input size 4"]),
    ({"type": "AvgPool2D", "pool_size": [2, 6]}, ["window width 6", "input size 4"]),
])
def test_kernel_larger_than_its_input_names_the_layer(layer, words):
    spec = {"input_shape": [3, 4, 4], "layers": [{"type": "ReLU"}, layer]}
    e = _raise(spec)
    assert e.index == 1 and e.layer_type == layer["type"]
    for w in words:
        assert w in str(e)


def test_kernel_that_fits_exactly_gives_1x1():
    rows = infer_shapes({"input_shape": [3, 4, 4],
                         "layers": [{"type": "Conv2D", "filters": 2, "kernel_size": 4}]})
    assert rows[0]["output_shape"] == (2, 1, 1)


def test_same_padding_with_stride_2_names_the_layer():
    spec = {"input_shape": [1, 8, 8], "layers": [
        {"type": "Conv2D", "filters": 2, "padding": "same"},
        {"type": "Conv2D", "filters": 2, "padding": "same", "stride": 2}]}
    e = _raise(spec)
    assert (e.index, e.layer_type) == (1, "Conv2D")
    assert "'same'" in str(e) and "stride 1" in str(e)


@pytest.mark.parametrize("name", ["Conv2D", "MaxPool2D", "AvgPool2D"])
def test_image_layers_on_flat_input(name):
    e = _raise({"input_shape": [10], "layers": [{"type": name, **REQUIRED.get(name, {})}]})
    assert e.index == 0 and "image input" in str(e)


@pytest.mark.parametrize("spec,kind", [
    ({"input_shape": [100_000], "layers": [{"type": "Dense", "units": 100_000}]}, "weights"),
    ({"input_shape": [5_000], "layers": [{"type": "Dense", "units": 5_000}] * 5}, "weights"),
    ({"input_shape": [3, 500, 500], "layers": [
        {"type": "Conv2D", "filters": 100, "kernel_size": 1}]}, "values"),
    ({"input_shape": [1, 28, 28], "layers": [        # tiny weights, huge outputs
        {"type": "Conv2D", "filters": 60_000, "kernel_size": 1}]}, "values"),
    ({"input_shape": [1, 10, 10], "layers": [
        {"type": "Conv2D", "filters": 100_000, "kernel_size": 1, "padding": 1000}]}, "values"),
    ({"input_shape": [100_000, 1000, 1000], "layers": []}, "values"),
])
def test_too_large_for_memory_is_a_spec_error(spec, kind):
    e = _raise(spec)   # never a MemoryError: nothing is allocated before the check
    assert "fit in memory" in str(e) and kind in str(e)
    assert e.expected.startswith("at most")


def test_convolution_working_memory_is_checked():
    # 2,601 outputs and 250,001 weights, but im2col needs 2,601 x 250,000 values per sample
    spec = {"input_shape": [100, 100, 100], "layers": [
        {"type": "ReLU"}, {"type": "Conv2D", "filters": 1, "kernel_size": 50}]}
    e = _raise(spec)
    assert (e.index, e.layer_type) == (1, "Conv2D")
    assert "650,250,000 values per sample" in str(e) and "smaller kernel" in str(e)
    assert e.received == 650_250_000


def test_too_many_weights_names_the_layer_where_the_limit_is_crossed():
    dense = {"type": "Dense", "units": 5_000}
    e = _raise({"input_shape": [5_000], "layers": [dense] * 5})
    assert e.index == 3 and e.layer_type == "Dense"    # 4 x 25M > 100M
    assert e.received > MAX_PARAMS


def test_limits_are_sane():
    # float32 weights + gradients + two optimizer buffers (Adam) stay below 2 GiB
    assert 4 * MAX_PARAMS * 4 <= 2 * 1024**3
    # a batch of 32 of the largest layer output stays below 2 GiB
    assert 32 * MAX_ACTIVATIONS * 4 <= 2 * 1024**3


def test_batchnorm_eps_that_vanishes_in_float32_is_refused_or_harmless():
    spec = {"input_shape": [3], "layers": [{"type": "BatchNorm", "eps": 1e-300}]}
    try:
        net = Network.from_spec(spec)
    except SpecError:
        return
    with np.errstate(all="ignore"):
        out = net.forward(np.ones((4, 3), np.float32), training=True)
    assert np.isfinite(out).all()


# ---- inference, round trip, summary --------------------------------------------------------------
ALL_LAYERS_SPEC = {"input_shape": [2, 9, 9], "layers": [
    {"type": "Conv2D", "filters": 3, "kernel_size": [3, 2], "stride": [2, 1], "padding": [1, 0],
     "use_bias": False, "kernel_initializer": "glorot_normal"},
    {"type": "BatchNorm", "momentum": 0.2, "eps": 1e-3},
    {"type": "LeakyReLU", "alpha": 0.2},
    {"type": "Conv2D", "filters": 4, "padding": "same"},
    {"type": "ELU", "alpha": 0.5},
    {"type": "MaxPool2D", "pool_size": 2, "stride": 1},
    {"type": "AvgPool2D", "pool_size": [2, 3]},
    {"type": "GELU"},
    {"type": "Flatten"},
    {"type": "Dropout", "rate": 0.25},
    {"type": "Dense", "units": 7, "kernel_initializer": "he_normal"},
    {"type": "BatchNorm"},
    {"type": "Tanh"}, {"type": "Sigmoid"}, {"type": "ReLU"}, {"type": "Identity"},
    {"type": "Dense", "units": 3, "use_bias": False},
    {"type": "Softmax"}]}


def test_shape_inference_follows_pytorch_floor_rule():
    rows = infer_shapes(ALL_LAYERS_SPEC)
    shapes = [r["output_shape"] for r in rows]
    # conv: h = floor((9 + 2 - 3) / 2) + 1 = 5, w = floor((9 - 2) / 1) + 1 = 8
    assert shapes[0] == (3, 5, 8)
    assert shapes[3] == (4, 5, 8)              # 'same'
    assert shapes[5] == (4, 4, 7)              # max pool 2, stride 1
    assert shapes[6] == (4, 2, 2)              # avg pool (2, 3): floor(4/2), floor(7/3)
    assert shapes[8] == (16,)
    assert shapes[-1] == (3,)
    params = [r["params"] for r in rows]
    assert params[0] == 3 * 2 * 3 * 2          # no bias
    assert params[1] == 2 * 3
    assert params[3] == 4 * 3 * 3 * 3 + 4
    assert params[10] == 16 * 7 + 7
    assert params[11] == 2 * 7
    assert params[16] == 7 * 3
    net = Network.from_spec(ALL_LAYERS_SPEC)
    assert [l.output_shape for l in net.layers] == shapes
    assert [l.num_params for l in net.layers] == params


def test_to_spec_from_spec_round_trip():
    net = Network.from_spec(ALL_LAYERS_SPEC, seed=3)
    spec = net.to_spec()
    assert json.loads(json.dumps(spec)) == spec          # plain JSON
    again = Network.from_spec(spec, seed=3)
    assert again.to_spec() == spec
    for (k, a), (k2, b) in zip(net.parameters(), again.parameters()):
        assert k == k2 and np.array_equal(a, b)
    # every field the original spec set survives; the rest are the defaults
    for given, full in zip(ALL_LAYERS_SPEC["layers"], spec["layers"]):
        assert {k: full[k] for k in given} == given
        cls = LAYERS[given["type"]]
        assert set(full) == {"type", *cls.hparams}
    x = np.random.default_rng(0).standard_normal((5, 2, 9, 9)).astype(np.float32)
    assert np.array_equal(net.forward(x), again.forward(x))


@pytest.mark.parametrize("name", LAYER_TYPES)
def test_round_trip_each_layer_type_with_defaults(name):
    shape = [8] if name in ("Dense", "Dropout", "BatchNorm") else [2, 6, 6]
    spec = {"input_shape": shape, "layers": [{"type": name, **REQUIRED.get(name, {})}]}
    out = Network.from_spec(spec).to_spec()
    assert Network.from_spec(out).to_spec() == out
    layer = out["layers"][0]
    assert layer["type"] == name
    assert {k: v for k, v in layer.items() if k != "type"} == {
        **LAYERS[name].defaults(), **REQUIRED.get(name, {})}


def test_same_seed_same_weights_different_seed_different():
    a = Network.from_spec(SEED_MLP, seed=5)
    b = Network.from_spec(SEED_MLP, seed=5)
    c = Network.from_spec(SEED_MLP, seed=6)
    wa, wb, wc = a.get_weights(), b.get_weights(), c.get_weights()
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert not np.array_equal(wa["1.W"], wc["1.W"])


def test_summary_of_the_seed_mlp():
    net = Network.from_spec(SEED_MLP)
    assert net.num_params == 101_770
    text = net.summary()
    lines = text.splitlines()
    assert lines[-1] == "Total parameters: 101,770"
    body = [l for l in lines if l.strip()[:1].isdigit()]
    assert len(body) == 5
    expected = [("Flatten", "(784,)", "0"), ("Dense", "(128,)", "100,480"), ("ReLU", "(128,)", "0"),
                ("Dense", "(10,)", "1,290"), ("Softmax", "(10,)", "0")]
    for line, (name, shape, params) in zip(body, expected):
        assert name in line and shape in line and line.rstrip().endswith(params), line
    assert "(1, 28, 28)" in text          # the input row
    rows = infer_shapes(SEED_MLP)
    assert sum(r["params"] for r in rows) == 101_770


def test_summary_shows_non_default_settings():
    net = Network.from_spec({"input_shape": [1, 8, 8], "layers": [
        {"type": "Conv2D", "filters": 4, "kernel_size": 5, "padding": "same"}]})
    text = net.summary()
    assert "Conv2D(filters=4, kernel_size=5, padding='same')" in text
    assert "(4, 8, 8)" in text and "104" in text


def test_infer_shapes_does_not_build_weights():
    # 90 M weights would take 360 MB to build; inference is instant and allocates nothing
    rows = infer_shapes({"input_shape": [30_000], "layers": [{"type": "Dense", "units": 3_000}]})
    assert rows[0]["params"] == 30_000 * 3_000 + 3_000


@pytest.mark.parametrize("typed,meant", [("Relu", "ReLU"), ("Rlu", "ReLU"), ("Dens", "Dense"),
                                         ("conv2d", "Conv2D"), ("MaxPool", "MaxPool2D")])
def test_a_misspelt_layer_type_suggests_the_one_meant(typed, meant):
    e = _raise({"input_shape": [4], "layers": [{"type": "Dense", "units": 3}, {"type": typed}]})
    assert (e.index, e.field, e.received) == (1, "type", typed)
    assert str(e).startswith("layer 2, field 'type': expected one of ")
    assert str(e).endswith(f"received '{typed}'; did you mean {meant}?")


def test_an_unknown_layer_type_points_to_plugins():
    e = _raise({"input_shape": [4], "layers": [{"type": "Swish"}]})
    assert "did you mean" not in str(e)
    assert "plugin" in str(e) and "--plugins" in str(e)
