"""Extending nncore exactly as the README's "Extending nncore" says.

The files are not copied here: the test reads the README, writes each code block that starts with
"# <name>.py" into a temporary package, imports it, and then uses the new classes in specs,
saving and loading, training and gradient checks. So the documentation cannot drift from what works.
"""
import importlib
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import nncore
from nncore import ModelFileError, Network, SpecError
from nncore import io as nnio
from nncore.gradcheck import check_layer, check_network
from nncore.registry import LAYERS, LOSSES, get
from tests.test_gradcheck import assert_gradients_pass, kink_free

README = Path(__file__).resolve().parents[1] / "README.md"
PACKAGE = "learner_extensions"


def documented_files() -> dict[str, str]:
    """{"swish.py": source, ...} from the README's "Extending nncore" section."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Extending nncore\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, "README.md has no '## Extending nncore' section"
    blocks = re.findall(r"```python\n(.*?)```", match.group(1), re.S)
    return {m.group(1): block for block in blocks
            if (m := re.match(r"# (\w+\.py)\n", block))}


@pytest.fixture
def extensions(tmp_path, monkeypatch):
    """Import the documented files from a temporary package; unregister them afterwards."""
    files = documented_files()
    assert set(files) == {"swish.py", "huber.py", "scale.py"}
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, source in files.items():
        (package / name).write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(LAYERS), set(LOSSES)
    modules = {name[:-3]: importlib.import_module(f"{PACKAGE}.{name[:-3]}") for name in files}
    yield modules
    for table, known in zip((LAYERS, LOSSES), before):
        for key in set(table) - known:
            del table[key]
    for mod in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[mod]


SPEC = {"input_shape": [4], "layers": [
    {"type": "Dense", "units": 8}, {"type": "Swish", "beta": 1.5}, {"type": "Dense", "units": 3},
    {"type": "Softmax"}]}


def test_the_registration_line_makes_swish_a_layer_type(extensions):
    swish = extensions["swish"].Swish
    assert LAYERS["Swish"] is swish and get("layer", "Swish") is swish
    net = Network.from_spec(SPEC, seed=0)
    assert isinstance(net.layers[1], swish) and net.layers[1].beta == 1.5
    assert net.to_spec() == {"input_shape": [4], "layers": [
        {"type": "Dense", "units": 8, "use_bias": True, "kernel_initializer": "glorot_uniform"},
        {"type": "Swish", "beta": 1.5},
        {"type": "Dense", "units": 3, "use_bias": True, "kernel_initializer": "glorot_uniform"},
        {"type": "Softmax"}]}
    assert "Swish" in net.summary()
    assert Network.from_spec({"input_shape": [4], "layers": [{"type": "Swish"}]}
                             ).layers[0].beta == 1.0     # the default from __init__
    with pytest.raises(SpecError) as info:
        Network.from_spec({"input_shape": [4], "layers": [{"type": "Swish", "beta": -1}]})
    assert info.value.index == 0 and info.value.field == "beta"
    assert swish.describe().startswith("Swish: x * sigmoid(beta * x)")


def test_swish_computes_what_it_says(extensions):
    layer = extensions["swish"].Swish(beta=2.0)
    layer.build((5,), np.random.default_rng(0), np.float32)
    x = np.linspace(-3, 3, 10, dtype=np.float32).reshape(2, 5)
    y = layer.forward(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x / (1 + np.exp(-2.0 * x)), rtol=1e-6, atol=1e-7)
    assert layer.backward(np.ones_like(y)).dtype == np.float32


@pytest.mark.parametrize("beta", [1.0, 0.3, 2.5])
def test_swish_passes_the_gradient_check(extensions, beta):
    x = kink_free(np.random.default_rng(1), (4, 6), high=4.0)
    assert_gradients_pass(check_layer({"type": "Swish", "beta": beta}, (6,), x=x))


def test_a_network_with_swish_saves_loads_checks_and_trains(extensions, tmp_path):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = (x[:, 0] > x[:, 1]).astype(np.int64) + (x[:, 2] > 1)
    net = Network.from_spec(SPEC, seed=3)
    loss = nncore.CrossEntropyLoss()
    assert_gradients_pass(check_network(net, loss, x[:4], y[:4], max_coords=None))

    opt = nncore.optim.SGD(net, lr=0.5)
    first = loss.forward(net.forward(x, training=True), y)
    for _ in range(30):
        value = loss.forward(net.forward(x, training=True), y)
        net.backward(loss.backward())
        opt.step()
    assert value < 0.7 * first

    path = tmp_path / "swish.nnet"
    nnio.save(net, path)
    again = nnio.load(path)
    assert type(again.layers[1]).__name__ == "Swish" and again.layers[1].beta == 1.5
    np.testing.assert_array_equal(again.forward(x), net.forward(x))


def test_loading_without_the_extension_names_the_unknown_type(extensions, tmp_path):
    path = tmp_path / "swish.nnet"
    nnio.save(Network.from_spec(SPEC), path)
    del LAYERS["Swish"]                       # as in a session that did not import swish.py
    with pytest.raises(ModelFileError, match="Swish"):
        nnio.load(path)


def test_documented_loss_and_layer_pass_the_gradient_checks(extensions):
    huber = extensions["huber"].HuberLoss
    assert LOSSES["HuberLoss"] is huber and get("loss", "HuberLoss") is huber
    loss = get("loss", "HuberLoss")(**huber(delta=0.7).get_config())
    rng = np.random.default_rng(4)
    out, target = rng.standard_normal((5, 3)) * 2, rng.standard_normal((5, 3))
    loss.forward(out, target)
    assert_gradients_pass(nncore.gradcheck(lambda o: loss.forward(o, target), out,
                                           loss.backward()))
    with pytest.raises(nncore.DataError, match=r"\(5, 3\).*\(5,\)"):
        loss.forward(out, np.zeros(5))

    for shape in [(3,), (2, 3, 4)]:
        x = kink_free(rng, (3,) + shape)
        results = check_layer({"type": "Scale"}, shape, x=x)
        assert [r.param for r in results] == ["input", "a", "c"]
        assert_gradients_pass(results)
    spec = {"input_shape": [2, 5, 5], "layers": [
        {"type": "Conv2D", "filters": 3, "kernel_size": 3}, {"type": "Scale"},
        {"type": "Swish"}, {"type": "Flatten"}, {"type": "Dense", "units": 2}]}
    net = Network.from_spec(spec, seed=5)
    assert nncore.infer_shapes(spec)[1]["params"] == net.layers[1].num_params == 6
    x = rng.standard_normal((3, 2, 5, 5))
    assert_gradients_pass(check_network(net, loss, x, rng.standard_normal((3, 2)),
                                        max_coords=None))
