"""The built-in MNIST, the named data sets and how they are listed and loaded."""
import hashlib

import numpy as np
import pytest

import resources
from nncore import DataError
from nncore.data import catalog, list_datasets, load_dataset
from nncore.session import TrainingConfig, prepare_data

from .data_helpers import idx_folder, kaggle_csv, kaggle_rows

MNIST_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_builtin_mnist_is_the_standard_set_unchanged():
    ds = load_dataset("mnist")
    assert ds.x_train.shape == (60_000, 1, 28, 28) and ds.x_train.dtype == np.uint8
    assert ds.x_test.shape == (10_000, 1, 28, 28) and ds.x_test.dtype == np.uint8
    assert ds.y_train.shape == (60_000,) and ds.y_train.dtype == np.int64
    assert np.bincount(ds.y_train).tolist() == MNIST_COUNTS
    assert np.bincount(ds.y_test, minlength=10).sum() == 10_000
    assert ds.image_shape == (1, 28, 28) and ds.class_names == [str(i) for i in range(10)]
    assert ds.x_train.max() == 255 and ds.x_train.min() == 0
    folder = resources.path("mnist")
    assert ds.location == str(folder) and len(ds.files) == 4
    assert "LeCun" in ds.credit and "CC BY-SA 3.0" in ds.credit
    sums = dict(line.split()[::-1] for line in (folder / "SHA256SUMS").read_text().splitlines()
                if line.strip())
    assert set(sums) == {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert "CC BY-SA 3.0" in (folder / "README.md").read_text()


def test_loading_again_shares_read_only_arrays_but_not_the_object():
    a, b = load_dataset("mnist"), load_dataset("MNIST")
    assert a is not b and a.x_train is b.x_train
    assert not a.x_train.flags.writeable
    a.class_names[0] = "zero"
    assert b.class_names[0] == "0"


def test_list_datasets_describes_without_loading(monkeypatch, tmp_path):
    monkeypatch.setenv("NNSTUDIO_DATA", str(tmp_path / "home"))
    monkeypatch.setitem(catalog.SYSTEM_DIRS, "fashion-mnist", [tmp_path / "none"])
    monkeypatch.setattr(catalog.Digits8x8, "find", staticmethod(lambda: None))
    infos = {i.name: i for i in list_datasets()}
    assert list(infos) == ["mnist", "fashion-mnist", "digits-8x8"]
    m = infos["mnist"]
    assert (m.available, m.train_size, m.test_size, m.image_shape) == (True, 60_000, 10_000,
                                                                       (1, 28, 28))
    assert m.location == str(resources.path("mnist")) and len(m.class_names) == 10
    f = infos["fashion-mnist"]
    assert not f.available and f.downloadable and "dataset-fashion-mnist" in f.reason
    assert str(tmp_path / "none") in f.reason and f.class_names[0] == "T-shirt/top"
    d = infos["digits-8x8"]
    assert not d.available and "scikit-learn" in d.reason
    with pytest.raises(DataError, match="not found"):
        load_dataset("fashion-mnist")
    with pytest.raises(DataError, match="scikit-learn"):
        load_dataset("digits-8x8")


def test_fashion_mnist_is_found_in_the_user_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("NNSTUDIO_DATA", str(tmp_path))
    idx_folder(tmp_path / "fashion-mnist", n_train=30, n_test=10, h=28, w=28, k=10)
    info = {i.name: i for i in list_datasets()}["fashion-mnist"]
    assert info.available and (info.train_size, info.test_size) == (30, 10)
    assert info.location == str(tmp_path / "fashion-mnist")
    ds = load_dataset("fashion-mnist")
    assert ds.class_names[9] == "Ankle boot" and ds.x_train.shape == (30, 1, 28, 28)
    assert ds.location == str(tmp_path / "fashion-mnist") and "Zalando" in ds.credit


def test_fashion_mnist_from_a_folder_the_user_names(tmp_path):
    folder = idx_folder(tmp_path / "elsewhere", n_train=10, n_test=10, h=28, w=28, k=10,
                        dotted=True, gz=False)
    ds = load_dataset("fashion-mnist", path=folder)
    assert ds.name == "fashion-mnist" and len(ds.x_train) == 10 and ds.num_classes == 10


def test_digits_8x8_from_a_file_in_scikit_learns_format(tmp_path):
    import gzip
    rng = np.random.default_rng(0)
    rows = [rng.integers(0, 17, 64).tolist() + [i % 10] for i in range(30)]
    f = tmp_path / "digits.csv.gz"
    f.write_bytes(gzip.compress("\n".join(",".join(map(str, r)) for r in rows).encode()))
    ds = load_dataset("digits-8x8", path=f)
    assert ds.image_shape == (1, 8, 8) and len(ds.x_train) + len(ds.x_test) == 30
    assert np.bincount(ds.y_test, minlength=10).tolist() == [1] * 6 + [0] * 4   # 20%, stratified
    # 0..16 is rescaled to 0..255: 16 -> 255, 8 -> 128, 0 -> 0
    all_x = np.concatenate([ds.x_train, ds.x_test]).reshape(-1)
    assert set(np.unique(all_x)) <= {(v * 255 + 8) // 16 for v in range(17)}
    assert all_x.max() == 255
    rows[3][64] = 10
    f.write_bytes(gzip.compress("\n".join(",".join(map(str, r)) for r in rows).encode()))
    with pytest.raises(DataError, match=r"digits.csv.gz: label 10 .* out of range"):
        load_dataset("digits-8x8", path=f)


def test_digits_8x8_is_found_inside_an_installed_scikit_learn(tmp_path, monkeypatch):
    import gzip
    import sys
    data = tmp_path / "site" / "sklearn" / "datasets" / "data"
    data.mkdir(parents=True)
    (tmp_path / "site" / "sklearn" / "__init__.py").write_text("raise ImportError('not me')")
    rows = [[v % 17 for v in range(i, i + 64)] + [i % 10] for i in range(20)]
    (data / "digits.csv.gz").write_bytes(
        gzip.compress("\n".join(",".join(map(str, r)) for r in rows).encode()))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "sklearn", raising=False)
    info = {i.name: i for i in list_datasets()}["digits-8x8"]   # found without importing it
    assert info.available and info.location == str(data / "digits.csv.gz")
    assert (info.train_size, info.test_size) == (16, 4)
    assert load_dataset("digits-8x8").x_train.shape == (16, 1, 8, 8)


def test_a_path_is_recognised_by_its_content(tmp_path):
    folder = idx_folder(tmp_path / "idx")
    ds = load_dataset(str(folder))
    assert ds.name == str(folder) and ds.title == "idx" and len(ds.x_train) == 20
    assert load_dataset("idx", path=folder).name == "idx"
    csv = kaggle_csv(tmp_path / "k.csv", kaggle_rows(10))
    assert load_dataset(csv).image_shape == (1, 4, 4)
    with pytest.raises(DataError, match="cannot tell"):
        (tmp_path / "empty").mkdir()
        load_dataset(str(tmp_path / "empty"))
    with pytest.raises(DataError, match="no such file"):
        load_dataset(str(tmp_path / "missing") + "/")


def test_unknown_names_and_options_are_explained():
    with pytest.raises(DataError, match="unknown data set 'cifar'.*mnist, fashion-mnist"):
        load_dataset("cifar")
    with pytest.raises(DataError, match="mnist takes the option.*path.*received colour"):
        load_dataset("mnist", colour="red")
    with pytest.raises(DataError, match="needs a path"):
        load_dataset("images")


def test_prepare_data_trains_on_a_folder_given_by_path(tmp_path):
    folder = idx_folder(tmp_path / "idx", n_train=40, k=4)
    cfg = TrainingConfig(dataset=str(folder), val_split=0.25, standardize=True,
                         subset_per_class=8)
    p = prepare_data(cfg)
    assert p.x_train.dtype == np.float32 and p.x_train.shape == (24, 1, 6, 5)
    assert p.eval_name == "validation" and len(p.x_eval) == 8
    assert abs(float(p.x_train.mean())) < 1e-5 and abs(float(p.x_train.std()) - 1) < 1e-4


def test_command_line_lists_the_data_sets(monkeypatch, tmp_path):
    import io
    from nncore.data.__main__ import main
    monkeypatch.setenv("NNSTUDIO_DATA", str(tmp_path))
    monkeypatch.setitem(catalog.SYSTEM_DIRS, "fashion-mnist", [])
    out = io.StringIO()
    assert main(["list"], out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:4] == ["mnist", "60,000", "+", "10,000"]
    assert lines[1].startswith("fashion-mnist") and "not available" in lines[1]
