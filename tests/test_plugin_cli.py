"""nn-train loads the default plugin folder and --plugins FOLDER; broken files are reported."""
import json

import pytest

from .test_cli import MLP, data_dir, run_cli  # noqa: F401  (data_dir: a fixture)
from .test_plugins import SWISH, clean_registry  # noqa: F401  (clean_registry: a fixture)


def spec_with_swish(tmp_path):
    spec = json.loads(json.dumps(MLP))
    spec["layers"][2] = {"type": "PluginSwish"}
    path = tmp_path / "swish_mlp.json"
    path.write_text(json.dumps(spec))
    return path


@pytest.mark.parametrize("how", ["--plugins", "default folder"])
def test_a_spec_with_a_plugin_layer_trains(tmp_path, capsys, monkeypatch, data_dir,
                                           clean_registry, how):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "swish.py").write_text(SWISH)
    (plugins / "broken.py").write_text("x = 1\nraise RuntimeError('half-written')\n")
    extra = []
    if how == "--plugins":
        monkeypatch.setenv("NN_STUDIO_PLUGINS", str(tmp_path / "none"))
        extra = ["--plugins", plugins]
    else:
        monkeypatch.setenv("NN_STUDIO_PLUGINS", str(plugins))
    code, out, err = run_cli(capsys, spec_with_swish(tmp_path), "--dataset", data_dir,
                             "--epochs", 1, "--no-plots", "--out", tmp_path / "out", *extra)
    assert code == 0, err
    assert "plugin swish.py: layer PluginSwish" in err
    assert "warning: plugin" in err and "broken.py not loaded: RuntimeError (line 2)" in err
    assert (tmp_path / "out" / "model.nns").is_file()


def test_a_missing_plugin_folder_is_an_error(tmp_path, capsys, monkeypatch, data_dir):
    monkeypatch.setenv("NN_STUDIO_PLUGINS", str(tmp_path / "none"))
    spec = tmp_path / "mlp.json"
    spec.write_text(json.dumps(MLP))
    code, _, err = run_cli(capsys, spec, "--dataset", data_dir, "--plugins",
                           tmp_path / "nowhere")
    assert code != 0 and "--plugins" in err and "nowhere" in err and "no such folder" in err
