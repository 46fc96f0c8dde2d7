"""IDX files: reading, writing, finding them in a folder, and every way they can be broken."""
import gzip

import numpy as np
import pytest

from nncore import DataError
from nncore.data import (find_idx_files, load_dataset, load_idx_folder, load_idx_pair, read_idx,
                         write_idx)

from .data_helpers import idx_folder, raw_idx, tiny_images, write_gz


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_write_then_read_gives_the_same_array(tmp_path, dtype, name):
    arr = (np.arange(2 * 3 * 4) - 7).reshape(2, 3, 4).astype(dtype)
    if dtype == "uint8":
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / name, arr)
    back = read_idx(tmp_path / name)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    assert back.flags.writeable
    assert [p.name for p in tmp_path.iterdir()] == [name]   # no temporary file left


def test_the_bytes_follow_the_idx_layout(tmp_path):
    write_idx(tmp_path / "x", np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8))
    assert (tmp_path / "x").read_bytes() == bytes.fromhex("00000802 00000002 00000003 010203040506")
    write_idx(tmp_path / "y.gz", np.array([7, 8], dtype=np.uint8))
    assert gzip.decompress((tmp_path / "y.gz").read_bytes()) == bytes.fromhex("00000801 00000002 0708")


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    x, _ = tiny_images(3)
    write_idx(tmp_path / "t.gz", x)
    (tmp_path / "plain-name").write_bytes((tmp_path / "t.gz").read_bytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-name"), x)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dotted", [False, True])
def test_both_naming_conventions_load_as_a_folder(tmp_path, gz, dotted):
    folder = idx_folder(tmp_path / "d", gz=gz, dotted=dotted)
    files = find_idx_files(folder)
    assert set(files) == {("train", "images"), ("train", "labels"), ("test", "images"),
                          ("test", "labels")}
    ds = load_dataset("idx", path=folder)
    x, y = tiny_images(20, 6, 5, 4, 0)
    np.testing.assert_array_equal(ds.x_train[:, 0], x)
    assert ds.x_train.shape == (20, 1, 6, 5) and ds.x_train.dtype == np.uint8
    assert ds.y_train.dtype == np.int64 and ds.y_train.tolist() == y.tolist()
    assert len(ds.x_test) == 8 and ds.class_names == ["0", "1", "2", "3"]
    assert ds.location == str(folder) and len(ds.files) == 4


def test_raw_file_preferred_when_also_gzipped_and_prefixes_are_accepted(tmp_path):
    x, y = tiny_images(6)
    write_idx(tmp_path / "emnist-digits-train-images-idx3-ubyte", x)
    write_idx(tmp_path / "emnist-digits-train-images-idx3-ubyte.gz", x)
    write_idx(tmp_path / "emnist-digits-train-labels-idx1-ubyte", y)
    files = find_idx_files(tmp_path)
    assert files["train", "images"].name == "emnist-digits-train-images-idx3-ubyte"
    assert ("test", "images") not in files


def test_unzipped_layout_with_a_folder_per_file(tmp_path):
    flat = idx_folder(tmp_path / "flat", gz=False, dotted=True)
    nested = tmp_path / "nested"
    for f in flat.iterdir():       # nested/train-images-idx3-ubyte/train-images.idx3-ubyte
        sub = nested / f.name.replace(".idx", "-idx")
        sub.mkdir(parents=True)
        f.rename(sub / f.name)
    ds = load_dataset(str(nested))
    assert (len(ds.x_train), len(ds.x_test)) == (20, 8)


def test_folder_without_test_files_holds_out_a_stratified_test_set(tmp_path):
    folder = idx_folder(tmp_path, n_train=40, k=4, test=False)
    ds = load_idx_folder(folder, test_fraction=0.25, seed=3)
    assert len(ds.x_train) == 30 and len(ds.x_test) == 10
    # 2.5 per class: the two extra samples go to the first classes of the tie
    assert np.bincount(ds.y_test).tolist() == [3, 3, 2, 2]
    assert "held out" in ds.notes[0]


def test_classes_txt_names_the_classes(tmp_path):
    folder = idx_folder(tmp_path, k=4)
    (folder / "classes.txt").write_text("cat\ndog\nbird\nfish\n")
    assert load_dataset(str(folder)).class_names == ["cat", "dog", "bird", "fish"]


# ---- broken files: each a DataError naming the file and the problem ------------------------------
def _expect(path_or_call, *words):
    with pytest.raises(DataError) as e:
        path_or_call() if callable(path_or_call) else read_idx(path_or_call)
    for w in words:
        assert w in str(e.value), str(e.value)
    return str(e.value)


def test_truncated_raw_file(tmp_path):
    f = tmp_path / "train-images-idx3-ubyte"
    f.write_bytes(raw_idx(0x08, (2, 3, 3), bytes(17)))
    _expect(f, str(f), "truncated", "18 bytes of data", "17")


def test_truncated_gzip_file(tmp_path):
    f = tmp_path / "x.gz"
    write_idx(f, np.arange(200, dtype=np.uint8).reshape(2, 10, 10))
    data = f.read_bytes()
    f.write_bytes(data[:len(data) // 2])
    _expect(f, str(f), "truncated")


def test_damaged_gzip_data(tmp_path):
    f = tmp_path / "x.gz"
    write_idx(f, np.arange(200, dtype=np.uint8).reshape(2, 10, 10))
    data = bytearray(f.read_bytes())
    data[12:20] = b"\xff" * 8
    f.write_bytes(bytes(data))
    _expect(f, str(f), "gzip")


def test_header_shorter_than_its_dimensions(tmp_path):
    f = tmp_path / "x"
    f.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2]))
    _expect(f, "truncated", "header")


@pytest.mark.parametrize("content", [b"PK\x03\x04 a zip file", b"\x00\x00\x07\x01abcd",
                                     b"\x00\x00\x08\x00"])
def test_wrong_magic_number(tmp_path, content):
    f = tmp_path / "train-images-idx3-ubyte"
    f.write_bytes(content)
    _expect(f, str(f), "magic")


def test_extra_bytes_after_the_data(tmp_path):
    f = tmp_path / "x"
    f.write_bytes(raw_idx(0x08, (2,), b"\x01\x02\x03"))
    _expect(f, "unexpected bytes")


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    _expect(tmp_path / "empty", "truncated")
    _expect(tmp_path / "nope", "no such file")
    _expect(tmp_path, "folder")


def test_image_label_count_mismatch(tmp_path):
    x, y = tiny_images(10)
    write_idx(tmp_path / "train-images-idx3-ubyte", x)
    write_idx(tmp_path / "train-labels-idx1-ubyte", y[:9])
    msg = _expect(lambda: load_dataset("idx", path=tmp_path), "10 images", "9 labels",
                  "train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    assert "do not belong together" in msg


def test_labels_out_of_range_for_a_ten_class_data_set(tmp_path):
    folder = idx_folder(tmp_path, h=28, w=28, k=4)
    y = np.array([0, 1, 10, 3] * 5, dtype=np.uint8)
    write_idx(folder / "train-labels-idx1-ubyte.gz", y)
    _expect(lambda: load_dataset("fashion-mnist", path=folder), "train-labels-idx1-ubyte.gz",
            "label 10 at position 2", "out of range", "0..9")


def test_labels_beyond_classes_txt(tmp_path):
    folder = idx_folder(tmp_path, k=4)
    (folder / "classes.txt").write_text("a\nb\nc\n")
    _expect(lambda: load_dataset("idx", path=folder), "label 3", "out of range", "0..2")


def test_test_labels_unknown_to_training(tmp_path):
    folder = idx_folder(tmp_path, k=4)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 7] * 2, dtype=np.uint8))
    _expect(lambda: load_dataset("idx", path=folder), "t10k-labels", "label 7", "never occurs")


def test_images_and_labels_swapped(tmp_path):
    x, y = tiny_images(4)
    write_idx(tmp_path / "i", x)
    write_idx(tmp_path / "l", y)
    _expect(lambda: load_idx_pair(tmp_path / "l", tmp_path / "i"), str(tmp_path / "l"),
            "expected images")


def test_only_test_images_without_test_labels(tmp_path):
    folder = idx_folder(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    _expect(lambda: load_dataset("idx", path=folder), "test images", "no test labels")


def test_wrong_image_size_for_a_named_data_set(tmp_path):
    folder = idx_folder(tmp_path, h=6, w=5)
    _expect(lambda: load_dataset("mnist", path=folder), "(1, 28, 28)", "(1, 6, 5)")


def test_broken_folder_never_half_loads(tmp_path):
    folder = idx_folder(tmp_path)
    good = load_dataset("idx", path=folder)
    f = folder / "t10k-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:-9])
    with pytest.raises(DataError, match="t10k-images"):
        load_dataset("idx", path=folder)
    assert len(good.x_test) == 8   # the earlier result is untouched


def test_write_idx_refuses_unsupported_arrays(tmp_path):
    with pytest.raises(DataError, match="uint8"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))
    with pytest.raises(DataError, match="1 to 255"):
        write_idx(tmp_path / "x", np.uint8(3))
    assert not list(tmp_path.iterdir())


def test_big_endian_multibyte_values(tmp_path):
    f = write_gz(tmp_path / "x.gz", raw_idx(0x0B, (2,), b"\x01\x00\xff\xfe"))
    assert read_idx(f).tolist() == [256, -2]
