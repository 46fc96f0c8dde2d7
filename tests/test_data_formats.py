"""The learner's own data: Kaggle digit-recognizer CSV files and folders of images."""
import numpy as np
import pytest
from PIL import Image

from nncore import DataError
from nncore.data import load_dataset, read_image

from .data_helpers import image_tree, kaggle_csv, kaggle_rows


# ---- CSV ---------------------------------------------------------------------------------------
def test_kaggle_folder_uses_train_csv_and_ignores_unlabelled_test_csv(tmp_path):
    rows = kaggle_rows(20, side=4, k=2)
    kaggle_csv(tmp_path / "train.csv", rows)
    kaggle_csv(tmp_path / "test.csv", [r[1:] for r in rows[:5]], label=False)
    ds = load_dataset("csv", path=tmp_path, test_fraction=0.2, seed=1)
    assert ds.image_shape == (1, 4, 4) and len(ds.x_train) == 16 and len(ds.x_test) == 4
    assert np.bincount(ds.y_test).tolist() == [2, 2]
    assert any("test.csv has no label column" in n for n in ds.notes)
    # each image is its row, in row-major order
    x_all = np.concatenate([ds.x_train, ds.x_test])
    firsts = {tuple(r[1:]) for r in rows}
    assert {tuple(v.reshape(-1).tolist()) for v in x_all} == firsts


def test_a_labelled_test_csv_is_the_test_set(tmp_path):
    kaggle_csv(tmp_path / "train.csv", kaggle_rows(12, k=3))
    kaggle_csv(tmp_path / "test.csv", kaggle_rows(6, k=3, seed=1))
    ds = load_dataset("csv", path=tmp_path)
    assert (len(ds.x_train), len(ds.x_test)) == (12, 6) and ds.notes == []
    assert ds.y_test.tolist() == [0, 1, 2, 0, 1, 2]


def test_csv_without_header_and_with_explicit_image_shape(tmp_path):
    rows = [[1] + list(range(12)), [0] + list(range(12, 24))]
    f = kaggle_csv(tmp_path / "d.csv", rows * 5, header=False)
    ds = load_dataset("csv", path=f, image_shape=(3, 4), test_fraction=0.2)
    assert ds.image_shape == (1, 3, 4)
    assert ds.x_train[ds.y_train == 1][0, 0].tolist() == [[0, 1, 2, 3], [4, 5, 6, 7],
                                                           [8, 9, 10, 11]]


def test_csv_row_of_the_wrong_length(tmp_path):
    rows = kaggle_rows(5)
    rows[3] = rows[3][:-1]
    f = kaggle_csv(tmp_path / "train.csv", rows)
    with pytest.raises(DataError) as e:
        load_dataset("csv", path=f)
    assert str(e.value) == f"{f}, line 5: 16 values, expected 17 (like the header)"


@pytest.mark.parametrize("bad,words", [
    ("x7", ["line 4, column 3", "'x7' is not a number"]),
    ("256", ["line 4", "pixel value 256", "0..255"]),
    ("-1", ["line 4", "pixel value -1"]),
    ("0.5", ["line 4", "pixel value 0.5", "whole numbers"]),
])
def test_csv_values_that_are_not_pixels(tmp_path, bad, words):
    rows = kaggle_rows(5)
    rows[2][2] = bad
    f = kaggle_csv(tmp_path / "train.csv", rows)
    with pytest.raises(DataError) as e:
        load_dataset("csv", path=f)
    assert str(f) in str(e.value)
    for w in words:
        assert w in str(e.value)


def test_csv_negative_label_and_shapes_that_do_not_fit(tmp_path):
    rows = kaggle_rows(5)
    rows[1][0] = -3
    with pytest.raises(DataError, match=r"line 3: label -3 is out of range"):
        load_dataset("csv", path=kaggle_csv(tmp_path / "a.csv", rows))
    f = kaggle_csv(tmp_path / "b.csv", [[0] + [1] * 15] * 4, header=False)
    with pytest.raises(DataError, match="15 pixel values per row is not a square image"):
        load_dataset("csv", path=f)
    with pytest.raises(DataError, match="the file is empty"):
        (tmp_path / "c.csv").write_text("\n")
        load_dataset("csv", path=tmp_path / "c.csv")


# ---- image folders -----------------------------------------------------------------------------
def test_image_folder_greyscale_resized(tmp_path):
    image_tree(tmp_path / "pics", classes=("cat", "dog", "owl"), per_class=5, size=(12, 10))
    ds = load_dataset("images", path=tmp_path / "pics", size=8, test_fraction=0.2)
    assert ds.class_names == ["cat", "dog", "owl"] and ds.image_shape == (1, 8, 8)
    assert (len(ds.x_train), len(ds.x_test)) == (12, 3)
    assert np.bincount(ds.y_test).tolist() == [1, 1, 1]
    for x, y in zip(ds.x_train, ds.y_train):
        assert np.all(np.abs(x.astype(int) - (40 + 60 * int(y))) <= 1)
    assert ds.name == "pics" and ds.location == str(tmp_path / "pics") and len(ds.files) == 15


def test_image_folder_rgb_jpeg_rectangular_and_inverted(tmp_path):
    image_tree(tmp_path / "p", classes=("a", "b"), per_class=3, fmt="JPEG", mode="RGB")
    ds = load_dataset("images", path=tmp_path / "p", size=(6, 4), color="rgb", invert=True,
                      test_fraction=0.34)
    assert ds.image_shape == (3, 6, 4) and len(ds.x_test) == 2
    img = ds.x_train[ds.y_train == 1][0]            # class b: (100, 0, 155) inverted
    assert np.all(np.abs(img.reshape(3, -1).mean(axis=1) - [155, 255, 100]) < 4)


def test_train_and_test_subfolders_give_the_split(tmp_path):
    image_tree(tmp_path / "d" / "train", classes=("x", "y"), per_class=4)
    image_tree(tmp_path / "d" / "test", classes=("x", "y"), per_class=2)
    ds = load_dataset(str(tmp_path / "d"))        # recognised as an image folder
    assert (len(ds.x_train), len(ds.x_test)) == (8, 4) and ds.notes == []
    assert ds.class_names == ["x", "y"] and ds.image_shape == (1, 28, 28)


def test_transparent_pixels_are_white_and_other_files_are_skipped(tmp_path):
    d = tmp_path / "t" / "only"
    d.mkdir(parents=True)
    im = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    im.putpixel((1, 1), (0, 0, 0, 255))
    im.save(d / "a.png")
    im.save(d / "b.png")
    (d / "notes.txt").write_text("not an image")
    (d / ".hidden.png").write_bytes(b"junk")
    x = read_image(d / "a.png", size=4)
    assert x.shape == (1, 4, 4) and x[0, 0, 0] == 255 and x[0, 1, 1] == 0
    (tmp_path / "t" / "other").mkdir()
    Image.new("L", (4, 4), 9).save(tmp_path / "t" / "other" / "c.png")
    Image.new("L", (4, 4), 9).save(tmp_path / "t" / "other" / "d.png")
    ds = load_dataset("images", path=tmp_path / "t", size=4, test_fraction=0.5)
    assert len(ds.files) == 4


def test_empty_class_folder(tmp_path):
    image_tree(tmp_path / "p", classes=("a", "b"), per_class=2)
    (tmp_path / "p" / "c").mkdir()
    (tmp_path / "p" / "c" / "readme.txt").write_text("nothing here")
    with pytest.raises(DataError) as e:
        load_dataset("images", path=tmp_path / "p")
    assert str(tmp_path / "p" / "c") in str(e.value) and "'c' has no images" in str(e.value)


def test_unreadable_image(tmp_path):
    image_tree(tmp_path / "p", classes=("a", "b"), per_class=2)
    broken = tmp_path / "p" / "b" / "1.png"
    broken.write_bytes(broken.read_bytes()[:30])
    with pytest.raises(DataError) as e:
        load_dataset("images", path=tmp_path / "p")
    assert str(broken) in str(e.value) and "cannot read this image" in str(e.value)
    (tmp_path / "p" / "b" / "1.png").write_bytes(b"this is text")
    with pytest.raises(DataError, match="cannot read this image"):
        load_dataset("images", path=tmp_path / "p")


def test_folder_without_class_folders_and_bad_options(tmp_path):
    (tmp_path / "flat").mkdir()
    Image.new("L", (4, 4)).save(tmp_path / "flat" / "a.png")
    with pytest.raises(DataError, match="no class folders"):
        load_dataset("images", path=tmp_path / "flat")
    image_tree(tmp_path / "p", per_class=2)
    with pytest.raises(DataError, match="color must be 'grey' or 'rgb'"):
        load_dataset("images", path=tmp_path / "p", color="cmyk")
    with pytest.raises(DataError, match="image size"):
        load_dataset("images", path=tmp_path / "p", size=0)
