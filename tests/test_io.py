"""Saving and loading: round trips of networks and training checkpoints (which continue bit for
bit), plain ModelFileError messages for bad files, and atomic writes."""
import hashlib
import io as pyio
import json
import os
import struct
import zipfile

import numpy as np
import pytest

from nncore import CrossEntropyLoss, DataError, MSELoss, ModelFileError, Network, io
from nncore.optim import SGD, Adam, RMSprop, StepDecay
from nncore.train import Trainer

CNN = {"input_shape": [1, 6, 6], "layers": [
    {"type": "Conv2D", "filters": 3, "padding": "same"}, {"type": "BatchNorm"},
    {"type": "ReLU"}, {"type": "MaxPool2D", "pool_size": 2}, {"type": "Flatten"},
    {"type": "Dropout", "rate": 0.3}, {"type": "Dense", "units": 3}, {"type": "Softmax"}]}


def make_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, 6, 6)).astype(np.float32)
    y = (x[:, 0, :3].sum(axis=(1, 2)) > 0).astype(np.int64) + (x[:, 0, 3:, 3:].mean(
        axis=(1, 2)) > 0.3)
    return x, y


def make_trainer(opt="adam", seed=0, **kw):
    net = Network.from_spec(CNN, seed=seed)
    x, y = make_data()
    optimizer = {"adam": lambda: Adam(net, lr=0.01),
                 "sgd": lambda: SGD(net, lr=0.05, momentum=0.9, nesterov=True,
                                    weight_decay=1e-3),
                 "rmsprop": lambda: RMSprop(net, lr=0.005, momentum=0.5)}[opt]()
    return Trainer(net, CrossEntropyLoss(), optimizer, x, y, x[:20], y[:20], batch_size=16,
                   seed=seed, **kw)


# ---- round trips -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_network_round_trip(tmp_path, dtype):
    net = Network.from_spec(CNN, seed=7, dtype=dtype)
    x, _ = make_data(8)
    net.forward(x, training=True)               # BatchNorm running statistics move
    io.save(net, tmp_path / "net.nns")
    back = io.load(tmp_path / "net.nns")
    assert isinstance(back, Network)
    assert back.dtype == np.dtype(dtype) and back.to_spec() == net.to_spec()
    w, wb = net.get_weights(), back.get_weights()
    assert set(w) == set(wb) and "1.running_mean" in w
    for k in w:
        assert wb[k].dtype == w[k].dtype and np.array_equal(wb[k], w[k])
    assert np.array_equal(back.forward(x), net.forward(x))


@pytest.mark.parametrize("opt", ["adam", "sgd", "rmsprop"])
def test_checkpoint_continues_bit_identically(tmp_path, opt):
    schedule = StepDecay(step_size=1, gamma=0.5)
    a = make_trainer(opt, schedule=schedule)
    a.run_epoch()
    a.step_batch()                          # stop in the middle of epoch 2
    io.save(a, tmp_path / "run.nns")
    ck = io.load(tmp_path / "run.nns")
    assert isinstance(ck, io.Checkpoint)
    x, y = make_data()
    b = Trainer.from_checkpoint(ck, x, y, x[:20], y[:20])
    assert (b.epoch, b.batch, b.step) == (a.epoch, a.batch, a.step) == (1, 1, 5)
    assert b.optimizer.lr == a.optimizer.lr == pytest.approx(0.5 * a.base_lr)
    assert b.history.batch_loss == a.history.batch_loss
    assert [e.val_loss for e in b.history.epochs] == [e.val_loss for e in a.history.epochs]
    for _ in range(2):
        ea, eb = a.run_epoch(), b.run_epoch()
        assert (ea.train_loss, ea.val_loss, ea.val_accuracy) == (eb.train_loss, eb.val_loss,
                                                                 eb.val_accuracy)
        assert np.array_equal(ea.confusion, eb.confusion)
    assert a.history.batch_loss == b.history.batch_loss
    assert b.optimizer.lr == a.optimizer.lr
    wa, wb = a.net.get_weights(), b.net.get_weights()
    for k in wa:
        assert np.array_equal(wa[k], wb[k]), k
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa["t"] == sb["t"]
    for k in sa["buffers"]:
        assert np.array_equal(sa["buffers"][k], sb["buffers"][k])


def test_checkpoint_saved_at_epoch_boundary_and_before_any_step(tmp_path):
    for steps in (0, 4):                       # 60 samples / 16 = 4 batches: a full epoch
        a = make_trainer("sgd")
        for _ in range(steps):
            a.step_batch()
        io.save(a, tmp_path / "run.nns")
        x, y = make_data()
        b = Trainer.from_checkpoint(io.load(tmp_path / "run.nns"), x, y)
        for _ in range(6):
            assert a.step_batch().loss == b.step_batch().loss


def test_checkpoint_keeps_names_preprocessing_and_app_data(tmp_path):
    a = make_trainer()
    a.step_batch()
    ck = io.checkpoint_from_trainer(a, class_names=["zero", "one", "two"],
                                    preprocessing={"scale": 1 / 255, "mean": 0.1, "std": 0.3},
                                    extra={"dataset": "mnist", "layout": [1, 2]},
                                    arrays={"samples": np.arange(6, dtype=np.uint8)})
    io.save(ck, tmp_path / "p.nns", kind="project")
    back = io.load(tmp_path / "p.nns")
    assert back.class_names == ["zero", "one", "two"]
    assert back.preprocessing == {"scale": 1 / 255, "mean": 0.1, "std": 0.3}
    assert back.extra == {"dataset": "mnist", "layout": [1, 2]}
    assert back.arrays["samples"].dtype == np.uint8
    assert np.array_equal(back.arrays["samples"], np.arange(6))
    assert back.loss == {"type": "CrossEntropyLoss", "config": {"from_logits": False}}
    assert back.optimizer["type"] == "Adam" and back.optimizer["config"]["lr"] == 0.01


def test_checkpoint_on_different_data_is_a_data_error(tmp_path):
    a = make_trainer()
    io.save(a, tmp_path / "run.nns")
    x, y = make_data(50)
    with pytest.raises(DataError, match="trained on 60 samples, received 50"):
        Trainer.from_checkpoint(io.load(tmp_path / "run.nns"), x, y)


def test_checkpoint_without_optimizer_cannot_continue(tmp_path):
    from nncore import TrainingError
    net = Network.from_spec(CNN)
    ck = io.Checkpoint(spec=net.to_spec(), weights=net.get_weights())
    io.save(ck, tmp_path / "w.nns")
    back = io.load(tmp_path / "w.nns")
    x, y = make_data()
    with pytest.raises(TrainingError, match="no optimizer"):
        Trainer.from_checkpoint(back, x, y)


def test_mse_checkpoint(tmp_path):
    net = Network.from_spec({"input_shape": [4], "layers": [{"type": "Dense", "units": 2}]})
    x = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[np.arange(10) % 2]
    a = Trainer(net, MSELoss(), SGD(net, lr=0.1), x, y, batch_size=4)
    a.step_batch()
    io.save(a, tmp_path / "m.nns")
    b = Trainer.from_checkpoint(io.load(tmp_path / "m.nns"), x, y)
    assert a.step_batch().loss == b.step_batch().loss


# ---- bad files -------------------------------------------------------------------------------
def _png() -> bytes:
    from PIL import Image
    buf = pyio.BytesIO()
    Image.new("L", (4, 4)).save(buf, format="PNG")
    return buf.getvalue()


def _zip() -> bytes:
    buf = pyio.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("spec.json", json.dumps(CNN))
    return buf.getvalue()


def _npz() -> bytes:
    buf = pyio.BytesIO()
    np.savez(buf, W=np.zeros((3, 3)))
    return buf.getvalue()


FOREIGN = {"png": _png, "zip": _zip, "npz": _npz,
           "json": lambda: json.dumps(CNN).encode(),
           "text": lambda: "hello\n".encode(),
           "random": lambda: np.random.default_rng(0).bytes(5000),
           "nul": lambda: bytes(100)}


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_foreign_files(tmp_path, kind):
    path = tmp_path / f"x.{kind}"
    path.write_bytes(FOREIGN[kind]())
    with pytest.raises(ModelFileError) as e:
        io.load(path)
    assert str(e.value) == f"{path}: not an NN Studio file (it does not start with the " \
                           f"NNSTUDIO signature)"


def _saved(tmp_path) -> bytes:
    net = Network.from_spec(CNN)
    io.save(net, tmp_path / "good.nns")
    return (tmp_path / "good.nns").read_bytes()


def _resign(body: bytes) -> bytes:
    return body + hashlib.sha256(body).digest()


def test_empty_missing_and_folder(tmp_path):
    (tmp_path / "empty.nns").write_bytes(b"")
    cases = {tmp_path / "empty.nns": "the file is empty",
             tmp_path / "missing.nns": "no such file",
             tmp_path: "is a folder"}
    for path, words in cases.items():
        with pytest.raises(ModelFileError) as e:
            io.load(path)
        assert str(e.value).startswith(str(path)) and words in str(e.value)


def test_truncated_files(tmp_path):
    data = _saved(tmp_path)
    for n in (1, 8, 12, 19, 20, 40, len(data) // 2, len(data) - 32, len(data) - 1):
        path = tmp_path / "t.nns"
        path.write_bytes(data[:n])
        with pytest.raises(ModelFileError, match="truncated"):
            io.load(path)


def test_every_altered_byte_is_caught(tmp_path):
    data = _saved(tmp_path)
    path = tmp_path / "m.nns"
    for i in range(0, len(data), max(1, len(data) // 300)):
        bad = bytearray(data)
        bad[i] ^= 0x10
        path.write_bytes(bytes(bad))
        with pytest.raises(ModelFileError):
            io.load(path)


def test_newer_version(tmp_path):
    data = bytearray(_saved(tmp_path))
    struct.pack_into("<I", data, 8, io.FORMAT_VERSION + 1)
    path = tmp_path / "new.nns"
    path.write_bytes(_resign(bytes(data[:-32])))
    with pytest.raises(ModelFileError) as e:
        io.load(path)
    assert "newer version of NN Studio" in str(e.value) and "Update" in str(e.value)


def test_absurd_version_is_damage_not_a_newer_version(tmp_path):
    data = bytearray(_saved(tmp_path))
    struct.pack_into("<I", data, 8, 0xFFFF0001)
    path = tmp_path / "v.nns"
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="damaged"):
        io.load(path)


def _with_header(data: bytes, change) -> bytes:
    """The file with its JSON header changed by ``change(header)`` and a valid checksum."""
    _, version, n = struct.unpack_from("<8sIQ", data)
    header = json.loads(data[20:20 + n])
    change(header)
    raw = json.dumps(header).encode()
    return _resign(struct.pack("<8sIQ", b"NNSTUDIO", version, len(raw)) + raw
                   + data[20 + n:-32])


def _ck_bytes(tmp_path) -> bytes:
    a = make_trainer()
    a.step_batch()
    io.save(a, tmp_path / "ck.nns")
    return (tmp_path / "ck.nns").read_bytes()


@pytest.mark.parametrize("change,words", [
    (lambda h: h["meta"]["spec"]["layers"][6].update(units=0), "field 'units'"),
    (lambda h: h["meta"].update(spec=[]), "network description"),
    (lambda h: h["meta"]["optimizer"]["config"].update(lr="fast"), "lr"),
    (lambda h: h["meta"]["optimizer"]["config"].update(lr=-1), "lr"),
    (lambda h: h["meta"]["optimizer"]["config"].update(speed=1), "optimizer unknown setting 'speed'"),
    (lambda h: h["meta"]["optimizer"]["state"].update(t=-3), "step count"),
    (lambda h: h["meta"]["optimizer"].update(type="Adamm"), "Adamm"),
    (lambda h: h["meta"]["loss"]["config"].update(from_logits="yes"), "from_logits"),
    (lambda h: h["meta"].update(class_names=[1, 2, 3]), "class names"),
    (lambda h: h["meta"]["history"].update(batch_loss=["x"]), "batch_loss"),
    (lambda h: h["meta"]["history"].update(epochs=[{"epoch": 1}]), "epoch"),
    (lambda h: h["meta"]["training"].update(batch_size=0), "batch_size"),
    (lambda h: h["meta"]["training"].update(shuffle_rng={"bit_generator": "MT"}), "random"),
    (lambda h: h["meta"]["training"].update(net_rng=None), "random"),
    (lambda h: h["meta"]["training"].update(schedule={"type": "Nope"}), "Nope"),
    (lambda h: h["meta"]["training"].update(epoch_sums=[1, 2]), "epoch_sums"),
    (lambda h: h["arrays"].pop(0), "missing"),
    (lambda h: h["arrays"][0].update(dtype="complex64"), "unsupported type"),
    (lambda h: h["arrays"][0].update(dtype=["float32"]), "unsupported type"),
    (lambda h: h["arrays"][0].update(shape=[10**9]), "does not fit"),
    (lambda h: h["arrays"][0].update(offset=-1), "invalid shape or position"),
    (lambda h: h["arrays"].append(h["arrays"][0]), "twice"),
    (lambda h: h.update(kind="spreadsheet"), "known kind"),
    (lambda h: h.update(meta=[]), "metadata"),
])
def test_checksum_valid_but_inconsistent_content(tmp_path, change, words):
    """A file that was edited and re-signed (or written by a buggy program) is still checked
    field by field."""
    path = tmp_path / "edited.nns"
    path.write_bytes(_with_header(_ck_bytes(tmp_path), change))
    with pytest.raises(ModelFileError) as e:
        io.load(path)
    assert str(e.value).startswith(str(path)) and words in str(e.value)


def test_optimizer_buffer_of_the_wrong_shape_or_dtype(tmp_path):
    data = _ck_bytes(tmp_path)

    def swap(h):   # point a momentum buffer at another array of a different shape
        entries = {e["name"]: e for e in h["arrays"]}
        m = next(n for n in entries if n.startswith("optimizer/0.W/"))
        entries[m].update({k: entries["weights/6.b"][k] for k in ("shape", "offset",
                                                                  "nbytes")})
    path = tmp_path / "e.nns"
    path.write_bytes(_with_header(data, swap))
    with pytest.raises(ModelFileError, match="optimizer state 0.W"):
        io.load(path)


# ---- atomic writes ---------------------------------------------------------------------------
def test_failed_save_leaves_the_old_file_and_no_litter(tmp_path, monkeypatch):
    path = tmp_path / "net.nns"
    io.save(Network.from_spec(CNN, seed=1), path)
    old = path.read_bytes()

    def boom(*a):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        io.save(Network.from_spec(CNN, seed=2), path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.nns"]


def test_unsavable_content_raises_before_touching_the_file(tmp_path):
    path = tmp_path / "c.nns"
    ck = io.checkpoint_from_trainer(make_trainer())
    io.save(ck, path)
    old = path.read_bytes()
    ck.arrays["bad"] = np.zeros(3, dtype=np.complex64)
    with pytest.raises(ValueError):
        io.save(ck, path)
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.nns"]


def test_load_never_uses_pickle(tmp_path, monkeypatch):
    import pickle
    monkeypatch.setattr(pickle, "loads", None)
    monkeypatch.setattr(pickle, "load", None)
    a = make_trainer()
    io.save(a, tmp_path / "c.nns")
    x, y = make_data()
    Trainer.from_checkpoint(io.load(tmp_path / "c.nns"), x, y).step_batch()


def test_save_removes_temporaries_left_by_killed_saves(tmp_path):
    import os
    import time as _time

    from nncore.io import STALE_SECONDS, atomic_write_bytes
    target = tmp_path / "model.nns"
    old = tmp_path / ".model.nns.abc123.tmp"
    fresh = tmp_path / ".model.nns.def456.tmp"
    other = tmp_path / ".other.nns.abc123.tmp"
    for f in (old, fresh, other):
        f.write_bytes(b"partial")
    long_ago = _time.time() - STALE_SECONDS - 5
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert not old.exists()          # left by a killed save long ago
    assert fresh.exists()            # may belong to a save still running elsewhere
    assert other.exists()            # belongs to another file


def test_an_optimizer_buffer_renamed_in_a_resigned_file_is_refused(tmp_path):
    """Found by the file fuzz test: a checksum-valid file whose Adam state lacks "v"."""
    import hashlib
    net = Network.from_spec({"input_shape": [3], "layers": [{"type": "Dense", "units": 2}]})
    opt = Adam(net, lr=0.01)
    for layer in net.layers:
        for g in layer.grads.values():
            g[...] = 0.1
    opt.step()
    ck = io.Checkpoint(spec=net.to_spec(), weights=net.get_weights(),
                       optimizer={"type": "Adam", "config": opt.get_config(),
                                  "state": opt.state_dict()})
    path = tmp_path / "ck.nns"
    io.save(ck, path)
    data = bytearray(path.read_bytes()[:-32])
    i = data.find(b'/v"')
    data[i + 1:i + 2] = b"w"
    path.write_bytes(bytes(data) + hashlib.sha256(bytes(data)).digest())
    with pytest.raises(ModelFileError, match="optimizer state 0.W holds m, w; Adam keeps m, v"):
        io.load(path)
    io.save(ck, path)
    assert io.load(path).optimizer["type"] == "Adam"          # the untouched file loads


def test_written_files_get_the_usual_permissions_not_mkstemps_0600(tmp_path):
    """A new file is 0o666 less the umask (0o644 for the usual 022), like open() gives; a
    replaced file keeps its permissions."""
    import os
    import stat

    from nncore.io import atomic_write_bytes
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a.csv", b"x")
        os.umask(0o027)
        atomic_write_bytes(tmp_path / "b.csv", b"x")
        io.save(Network.from_spec({"input_shape": [3], "layers": [{"type": "Dense", "units": 2}]}),
                tmp_path / "m.nns")
    finally:
        os.umask(old)
    mode = lambda name: stat.S_IMODE((tmp_path / name).stat().st_mode)  # noqa: E731
    assert mode("a.csv") == 0o644
    assert mode("b.csv") == 0o640 and mode("m.nns") == 0o640
    (tmp_path / "a.csv").chmod(0o600)               # the user's choice is kept
    atomic_write_bytes(tmp_path / "a.csv", b"y")
    assert mode("a.csv") == 0o600 and (tmp_path / "a.csv").read_bytes() == b"y"
