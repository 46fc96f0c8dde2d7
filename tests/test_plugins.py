"""A learner's plugin folder: each file registers its classes; a broken file is reported alone."""
import numpy as np
import pytest

import nncore
from nncore import registry
from nncore.gradcheck import check_layer
from nncore.plugins import default_folder, load_plugins

SWISH = '''
from nncore.layers import Activation
from nncore.layers.activations import sigmoid
from nncore.registry import register


@register("layer")
class PluginSwish(Activation):
    """Swish: x times sigmoid(x)."""

    def f(self, x):
        return x * sigmoid(x)

    def df(self, x, y):
        s = sigmoid(x)
        return s + x * s * (1 - s)
'''


@pytest.fixture
def clean_registry():
    before = {k: dict(t) for k, t in registry._TABLES.items()}
    yield
    for k, t in registry._TABLES.items():
        t.clear()
        t.update(before[k])


def test_plugin_layer_is_registered_and_usable(tmp_path, clean_registry):
    (tmp_path / "swish.py").write_text(SWISH)
    (tmp_path / "broken.py").write_text("x = 1\nraise RuntimeError('half-written')\n")
    (tmp_path / "notes.txt").write_text("not python")
    results = {r.path.name: r for r in load_plugins(tmp_path)}
    assert set(results) == {"broken.py", "swish.py"}
    assert results["swish.py"].ok and results["swish.py"].registered == ["layer PluginSwish"]
    bad = results["broken.py"]
    assert not bad.ok and bad.error == "RuntimeError (line 2): half-written"
    assert "Traceback" in bad.details
    net = nncore.Network.from_spec({"input_shape": [3], "layers": [
        {"type": "Dense", "units": 4}, {"type": "PluginSwish"}]})
    assert net.forward(np.ones((2, 3))).shape == (2, 4)
    assert all(r.passed for r in check_layer({"type": "PluginSwish"}, (5,)))


def test_syntax_error_is_reported_with_its_line(tmp_path, clean_registry):
    (tmp_path / "typo.py").write_text("def f(:\n    pass\n")
    [r] = load_plugins(tmp_path)
    assert not r.ok and r.error.startswith("SyntaxError")


def test_missing_folder_means_no_plugins(tmp_path, monkeypatch):
    assert load_plugins(tmp_path / "nowhere") == []
    monkeypatch.setenv("NN_STUDIO_PLUGINS", str(tmp_path))
    assert default_folder() == tmp_path
