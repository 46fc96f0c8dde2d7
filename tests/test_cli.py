"""nn-train end to end on a tiny IDX data set made here, its error messages, and the presets."""
import json
import os

import numpy as np
import pytest

import resources
from nncore import Network, cli, io, threads
from nncore.data import write_idx
from nncore.session import TrainingConfig

MLP = {"input_shape": [1, 28, 28],
       "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 16}, {"type": "ReLU"},
                  {"type": "Dense", "units": 10}, {"type": "Softmax"}]}


def tiny_digits(n, seed):
    """n 28x28 images whose class k is a bright bar in row band k (plus noise): learnable."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 10).astype(np.uint8)
    x = rng.integers(0, 60, (n, 28, 28), dtype=np.uint8)
    for i, k in enumerate(y):
        x[i, 2 + 2 * k:4 + 2 * k, 4:24] = 250
    return x, y


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-idx")
    for split, n, seed in (("train", 200, 0), ("t10k", 50, 1)):
        x, y = tiny_digits(n, seed)
        write_idx(folder / f"{split}-images-idx3-ubyte", x)
        write_idx(folder / f"{split}-labels-idx1-ubyte", y)
    return folder


def write_json(path, obj):
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def write_text(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_trains_prints_table_and_writes_every_output(tmp_path, data_dir, capsys):
    spec = write_json(tmp_path / "net.json", MLP)
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, spec, "--dataset", data_dir, "--epochs", 3,
                             "--batch-size", 20, "--lr", 0.1, "--out", out_dir, "--progress")
    assert code == 0, err
    lines = out.splitlines()
    header = next(i for i, l in enumerate(lines) if l.split()[:3] == ["epoch", "train", "loss"])
    rows = [l.split() for l in lines[header + 1:header + 4]]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert float(rows[-1][1]) < float(rows[0][1])          # the training loss fell
    assert "final test accuracy" in out
    assert "epoch 3/3" in err                                # the progress bar ran on stderr
    # model: a checkpoint that loads and predicts like the training said
    ck = io.load(out_dir / "model.nns")
    assert ck.class_names == [str(i) for i in range(10)]
    net = ck.build_network()
    x, y = tiny_digits(50, 1)
    acc = (net.predict(x[:, None] / np.float32(255)).argmax(1) == y).mean()
    history = (out_dir / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,step,train_loss")
    assert len(history) == 4
    assert float(history[-1].split(",")[5]) == pytest.approx(acc, abs=1e-6)
    assert float(history[-1].split(",")[5]) > 0.5            # it learned the bars
    batches = (out_dir / "batches.csv").read_text().splitlines()
    assert len(batches) == 1 + 3 * 10                        # 200 samples / 20 per batch
    confusion = (out_dir / "confusion.csv").read_text().splitlines()
    counts = np.array([[int(v) for v in row.split(",")[1:]] for row in confusion[1:]])
    assert counts.shape == (10, 10) and counts.sum() == 50
    assert np.trace(counts) / 50 == pytest.approx(acc)
    for png in ("confusion.png", "loss.png"):
        assert (out_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_preset_by_name_with_subset_and_flat_spec(tmp_path, data_dir, capsys):
    code, out, err = run_cli(capsys, "mlp", "--dataset", data_dir, "--epochs", 1,
                             "--subset", 5, "--batch-size", 10, "--out", tmp_path / "o",
                             "--no-plots")
    assert code == 0, err
    assert "50 training" in out                              # 5 per class
    assert err == ""                                         # no bar: stderr is not a terminal
    assert (tmp_path / "o" / "confusion.csv").exists()
    assert not (tmp_path / "o" / "confusion.png").exists()
    flat = dict(MLP, input_shape=[784], layers=MLP["layers"][1:])
    code, out, err = run_cli(capsys, write_json(tmp_path / "flat.json", flat), "--dataset",
                             data_dir, "--epochs", 1, "--out", tmp_path / "p", "--no-plots")
    assert code == 0, err


@pytest.mark.parametrize("make, expected", [
    (lambda d: d / "missing.json", "no such file"),
    (lambda d: write_text(d / "broken.json", "{\"input_shape\": ["), "not valid JSON (line 1"),
    (lambda d: write_json(d / "bad.json", {"input_shape": [1, 28, 28],
                                           "layers": [{"type": "Dense", "units": 3}]}),
     "add Flatten"),
    (lambda d: write_json(d / "wrong.json", {"input_shape": [3, 32, 32], "layers": []}),
     "does not fit the data set"),
    (lambda d: write_json(d / "preset.json", {"spec": MLP, "training": {"batch_size": 0}}),
     "batch_size"),
])
def test_bad_input_is_one_clear_line(tmp_path, data_dir, capsys, make, expected):
    code, out, err = run_cli(capsys, make(tmp_path), "--dataset", data_dir, "--out",
                             tmp_path / "o")
    assert code == cli.EXIT_BAD_INPUT
    assert err.startswith("nn-train: error: ") and expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_blas_threads_chosen_by_timing_or_fixed(tmp_path, data_dir, capsys):
    from threadpoolctl import threadpool_info
    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    spec = write_json(tmp_path / "net.json", MLP)
    base = [spec, "--dataset", data_dir, "--epochs", 1, "--no-plots", "--out", tmp_path / "o"]
    code, out, err = run_cli(capsys, *base)
    if not threads.user_chose_threads():         # default: every core but one
        n = threads.every_core_but_one()
        assert f"BLAS: {n} thread{'s' if n != 1 else ''}\n" in out
    code, out, err = run_cli(capsys, *base, "--threads", 1)
    assert code == 0 and "BLAS: 1 thread\n" in out, err
    code, out, err = run_cli(capsys, *base, "--threads", "auto")
    assert code == 0, err
    if (os.cpu_count() or 1) > 1 and not threads.user_chose_threads():
        assert "at the end (auto: " in out.split("BLAS: ")[1]
    after = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    assert after == before                              # put back after each run
    for bad in (0, "many"):
        code, _, err = run_cli(capsys, *base, "--threads", bad)
        assert code == cli.EXIT_BAD_INPUT and "whole number >= 1 or auto" in err


def test_bad_data_and_settings(tmp_path, capsys):
    spec = write_json(tmp_path / "net.json", MLP)
    code, _, err = run_cli(capsys, spec, "--dataset", tmp_path / "no-such-folder")
    assert code == cli.EXIT_BAD_INPUT and "data problem" in err
    code, _, err = run_cli(capsys, spec, "--optimizer", "Nope")
    assert code == cli.EXIT_BAD_INPUT and "Nope" in err


def test_divergence_stops_with_reason_and_keeps_outputs(tmp_path, data_dir, capsys):
    spec = write_json(tmp_path / "net.json", MLP)
    code, out, err = run_cli(capsys, spec, "--dataset", data_dir, "--epochs", 3, "--lr", 1e4,
                             "--batch-size", 20, "--out", tmp_path / "o", "--no-plots")
    assert code == cli.EXIT_DIVERGED
    assert "training stopped" in err and "learning rate" in err
    assert (tmp_path / "o" / "model.nns").exists()


# ---- presets ----------------------------------------------------------------------------------
PRESETS = sorted(resources.path("presets").glob("*.json"))


def test_presets_exist():
    names = {p.stem for p in PRESETS}
    assert {"mlp", "mlp-deep", "cnn-lenet"} <= names


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_every_preset_builds_with_valid_settings(path):
    d = json.loads(path.read_text(encoding="utf-8"))
    assert set(d) == {"name", "description", "spec", "training"}
    assert d["name"] and d["description"]
    net = Network.from_spec(d["spec"], seed=0)
    assert net.output_shape == (10,)
    config = TrainingConfig.from_dict(d["training"])
    assert config.epochs == 10 and config.dataset == "mnist"
    out = net.forward(np.zeros((2, 1, 28, 28), np.float32))
    assert out.shape == (2, 10) and np.allclose(out.sum(axis=1), 1, atol=1e-5)


def test_seed_preset_is_the_seed_network_with_the_default_settings():
    d = json.loads(resources.path("presets", "mlp.json").read_text(encoding="utf-8"))
    assert d["spec"] == {"input_shape": [1, 28, 28],
                         "layers": [{"type": "Flatten"}, {"type": "Dense", "units": 128},
                                    {"type": "ReLU"}, {"type": "Dense", "units": 10},
                                    {"type": "Softmax"}]}
    assert Network.from_spec(d["spec"]).num_params == 101_770
    assert TrainingConfig.from_dict(d["training"]) == TrainingConfig()


def test_ctrl_c_stops_after_the_batch_and_keeps_outputs(tmp_path, data_dir, capsys,
                                                         monkeypatch):
    import signal

    from nncore.train import Trainer
    step = Trainer.step_batch
    calls = []

    def step_then_ctrl_c(self):
        calls.append(1)
        if len(calls) == 3:
            signal.raise_signal(signal.SIGINT)       # as if the user pressed Ctrl+C
        return step(self)
    monkeypatch.setattr(Trainer, "step_batch", step_then_ctrl_c)
    spec = write_json(tmp_path / "net.json", MLP)
    code, out, err = run_cli(capsys, spec, "--dataset", data_dir, "--epochs", 2,
                             "--batch-size", 20, "--out", tmp_path / "o", "--no-plots")
    assert code == cli.EXIT_INTERRUPTED
    assert len(calls) == 3                            # the running batch finished, no more
    assert "interrupted in epoch 1 after batch 3" in err
    assert len((tmp_path / "o" / "batches.csv").read_text().splitlines()) == 1 + 3
    assert io.load(tmp_path / "o" / "model.nns").training["step"] == 3


def test_a_project_or_model_file_gives_its_network_and_settings(tmp_path, data_dir, capsys):
    """``nn-train run.nnproj`` (a project saved by the app) trains the network as the window's
    builder has it with the project's settings; a model nn-train wrote works the same way.
    Outputs get the usual permissions (0o644 with umask 022)."""
    import os
    import stat
    builder = dict(MLP, layers=[MLP["layers"][0], {"type": "Dense", "units": 12},
                                *MLP["layers"][2:]])
    config = TrainingConfig(batch_size=25, epochs=1,
                            optimizer={"type": "Adam", "config": {"lr": 0.01}})
    ck = io.Checkpoint(spec=MLP, weights=Network.from_spec(MLP).get_weights(),
                       extra={"app": {"builder_spec": builder, "config": config.to_dict()}})
    io.save(ck, tmp_path / "run.nnproj", kind="project")
    old = os.umask(0o022)
    try:
        code, out, err = run_cli(capsys, tmp_path / "run.nnproj", "--dataset", data_dir,
                                 "--out", tmp_path / "o", "--no-plots")
    finally:
        os.umask(old)
    assert code == 0, err
    assert "Adam {'lr': 0.01}, batch size 25, 1 epoch\n" in out
    assert io.load(tmp_path / "o" / "model.nns").spec["layers"][1]["units"] == 12
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in (tmp_path / "o").iterdir()} == \
        dict.fromkeys(["model.nns", "history.csv", "batches.csv", "confusion.csv"], 0o644)
    code, out, err = run_cli(capsys, tmp_path / "o" / "model.nns", "--dataset", data_dir,
                             "--out", tmp_path / "p", "--no-plots")
    assert code == 0, err
    assert "Adam {'lr': 0.01}, batch size 25, 1 epoch\n" in out
    # a binary file that is none of these: one clear line, no decoding error
    (tmp_path / "picture.nnproj").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    code, _, err = run_cli(capsys, tmp_path / "picture.nnproj", "--out", tmp_path / "q")
    assert code == cli.EXIT_BAD_INPUT and "not a text file" in err and "utf-8" not in err


def test_counts_are_printed_with_the_right_plural(tmp_path, data_dir, capsys):
    assert [cli.count(n, "epoch") for n in (0, 1, 2, 1500)] == \
        ["0 epochs", "1 epoch", "2 epochs", "1,500 epochs"]
    assert cli.count(1, "test sample") == "1 test sample"
    spec = write_json(tmp_path / "net.json", MLP)
    code, out, err = run_cli(capsys, spec, "--dataset", data_dir, "--epochs", 1, "--subset", 1,
                             "--batch-size", 5, "--no-plots", "--threads", 1, "--out",
                             tmp_path / "o")
    assert code == 0, err
    summary = out.splitlines()[0]
    assert "12,730 weights; 10 training samples and 50 test samples of" in summary
    assert summary.endswith(", batch size 5, 1 epoch"), summary
    assert "BLAS: 1 thread\n" in out
