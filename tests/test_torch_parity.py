"""nncore against PyTorch on identical weights and inputs, without torch.

The reference values are small fixture files in tests/reference/, written by
tests/reference/make_reference.py (which needs torch; see its docstring for the file layout). For
every case and in float32 and float64 this compares: the output, the loss, dL/dx, every weight
gradient, BatchNorm's running statistics after a training pass, and the weights after 1 and 3
steps of each optimizer.

"Within r relative" means, for each array, max |nncore − torch| <= r · max |torch| (the largest
error measured against the array's scale: an element-wise relative error would be dominated by
entries that are nearly zero). r is 1e-5 for float32 and 1e-10 for float64.
"""
import json
from pathlib import Path

import numpy as np
import pytest

import nncore
from nncore.registry import get

REFERENCE = Path(__file__).resolve().parent / "reference"
CASES = sorted(p.stem for p in REFERENCE.glob("*.npz"))
RTOL = {"float32": 1e-5, "float64": 1e-10}


def load_case(name):
    with np.load(REFERENCE / f"{name}.npz", allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    return json.loads(str(data.pop("spec"))), json.loads(str(data.pop("meta"))), data


def section(data, prefix):
    return {k[len(prefix):]: v for k, v in data.items() if k.startswith(prefix)}


def assert_close(actual, expected, dtype, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.dtype(dtype), f"{what}: dtype {actual.dtype}, expected {dtype}"
    scale = max(float(np.max(np.abs(expected), initial=0.0)), np.finfo(dtype).tiny)
    err = float(np.max(np.abs(actual.astype(np.float64) - expected), initial=0.0)) / scale
    assert err <= RTOL[dtype], f"{what}: relative error {err:.2e} > {RTOL[dtype]:.0e}"


def build(spec, meta, data, dtype):
    net = nncore.Network.from_spec(spec, dtype=dtype)
    net.set_weights(section(data, f"{dtype}/weights/"))
    loss_cfg = meta["loss"]
    return net, get("loss", loss_cfg["type"])(**loss_cfg["config"])


def test_fixtures_are_present_and_small():
    assert len(CASES) >= 10
    total = sum(p.stat().st_size for p in REFERENCE.glob("*.npz"))
    assert total < 400_000


def test_fixtures_cover_every_layer_type_loss_and_optimizer():
    layer_types, losses, optimizers, modes = set(), set(), set(), set()
    for name in CASES:
        spec, meta, _ = load_case(name)
        layer_types |= {layer["type"] for layer in spec["layers"]}
        losses.add((meta["loss"]["type"], meta["loss"]["config"].get("from_logits", False)))
        optimizers |= {json.dumps(o, sort_keys=True) for o in meta["optimizers"].values()}
        if any(layer["type"] == "BatchNorm" for layer in spec["layers"]):
            modes.add(meta["training"])
    stochastic = {"Dropout"}   # random masks cannot match torch's generator
    assert set(nncore.layers.__all__) - {"Layer", "Activation"} - stochastic <= layer_types
    assert losses == {("CrossEntropyLoss", False), ("CrossEntropyLoss", True), ("MSELoss", False)}
    kinds = [json.loads(o) for o in optimizers]
    assert {o["type"] for o in kinds} == {"SGD", "Adam", "RMSprop"}
    sgd = [o["config"] for o in kinds if o["type"] == "SGD"]
    assert any(c.get("nesterov") for c in sgd) and any(c.get("weight_decay") for c in sgd)
    assert any(c.get("momentum") and not c.get("nesterov") for c in sgd)
    assert any(o["config"].get("weight_decay") for o in kinds if o["type"] == "Adam")
    assert modes == {True, False}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", CASES)
def test_forward_loss_and_gradients_match_torch(name, dtype):
    spec, meta, data = load_case(name)
    net, loss = build(spec, meta, data, dtype)
    ref = section(data, f"{dtype}/")
    out = net.forward(ref["x"], training=meta["training"])
    assert_close(out, ref["output"], dtype, "output")
    value = loss.forward(out, ref["target"])
    assert isinstance(value, float)
    assert_close(np.array(value, dtype=dtype), ref["loss"], dtype, "loss")
    grad_in = net.backward(loss.backward())
    assert_close(grad_in, ref["grad_input"], dtype, "dL/dx")
    grads = dict(net.gradients())
    expected = section(data, f"{dtype}/grads/")
    assert set(grads) == set(expected)
    for key, g in expected.items():
        assert_close(grads[key], g, dtype, f"dL/d{key}")
    state = {k: v for k, v in net.get_weights().items() if "running" in k}
    after = section(data, f"{dtype}/state_after/")
    assert set(state) == set(after)
    for key, v in after.items():
        assert_close(state[key], v, dtype, f"{key} after the pass")
    # A training step skips dL/dx (input_grad=False): the weight gradients must not change.
    net.forward(ref["x"], training=meta["training"])
    loss.forward(out, ref["target"])
    assert net.backward(loss.backward(), input_grad=False) is None
    for key, g in expected.items():
        assert_close(dict(net.gradients())[key], g, dtype, f"dL/d{key} without dL/dx")


OPTIMIZER_RUNS = [(name, opt) for name in CASES for opt in load_case(name)[1]["optimizers"]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,opt_name", OPTIMIZER_RUNS)
def test_optimizer_steps_match_torch(name, opt_name, dtype):
    spec, meta, data = load_case(name)
    net, loss = build(spec, meta, data, dtype)
    x, target = data[f"{dtype}/x"], data[f"{dtype}/target"]
    opt_cfg = meta["optimizers"][opt_name]
    opt = get("optimizer", opt_cfg["type"])(net, **opt_cfg["config"])
    keys = meta["weight_keys"]
    for step in range(1, max(meta["steps"]) + 1):
        opt.zero_grad()
        out = net.forward(x, training=meta["training"])
        loss.forward(out, target)
        net.backward(loss.backward(), input_grad=False)    # as a training step does
        opt.step()
        if step in meta["steps"]:
            weights = net.get_weights()
            assert sorted(weights) == keys
            flat = data[f"{dtype}/{opt_name}/step{step}"]
            sizes = np.cumsum([weights[k].size for k in keys])
            assert sizes[-1] == flat.size
            for key, ref in zip(keys, np.split(flat, sizes[:-1])):
                assert_close(weights[key], ref.reshape(weights[key].shape), dtype,
                             f"{opt_name}: {key} after step {step}")
