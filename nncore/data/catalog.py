"""Named data sets and data-set formats: one way to list them and one way to load them.

    list_datasets()                                -> [DatasetInfo] of the named data sets
    load_dataset("mnist")                          the built-in MNIST
    load_dataset("fashion-mnist", path=None)       Fashion-MNIST, where its files are found
    load_dataset("digits-8x8")                     scikit-learn's 8x8 digits, if it is installed
    load_dataset("idx", path=folder)               any folder of IDX files
    load_dataset("csv", path=file_or_folder)       Kaggle "digit recognizer" CSV
    load_dataset("images", path=folder, size=28, color="grey")   one sub-folder per class
    load_dataset("/some/folder")                   the format is recognised from the content

Where no separate test split exists, ``test_fraction`` of the data (stratified, ``seed``) is held
out as the test set, and the Dataset's ``notes`` say so.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import os
import threading
from pathlib import Path

import resources

from ..errors import DataError
from .csvdata import has_label_column, load_table_images
from .dataset import Dataset, DatasetInfo
from .idx import find_idx_files, idx_header, load_idx_pair
from .imagefolder import (check_color, class_folders, image_size, read_class_images,
                          split_layout)
from .prepare import stratified_indices

MNIST_CREDIT = ("MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, "
                "CC BY-SA 3.0")
FASHION_CREDIT = "Fashion-MNIST by Zalando Research (Han Xiao, Kashif Rasul, Roland Vollgraf), MIT"
DIGITS_CREDIT = ("Optical Recognition of Handwritten Digits, UCI Machine Learning Repository "
                 "(E. Alpaydin, C. Kaynak), as bundled with scikit-learn")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(i) for i in range(10)]

# Folders searched for a named data set, after the user's data folder (see data_home()).
SYSTEM_DIRS = {"fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")],
               "mnist": [Path("/usr/share/datasets/mnist")]}


def data_home() -> Path:
    """Where downloads go and named data sets are looked for first: $NNSTUDIO_DATA, else
    $XDG_DATA_HOME/nn-studio/datasets, else ~/.local/share/nn-studio/datasets."""
    env = os.environ.get("NNSTUDIO_DATA")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "nn-studio" / "datasets"


# ---- a small cache: the same files are not decoded twice ----------------------------------------
_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 3


def _file_key(paths) -> tuple:
    key = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            return ()
        key.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(key)


def _cached(key, make) -> Dataset:
    """A fresh Dataset object sharing read-only arrays with earlier loads of the same files."""
    with _CACHE_LOCK:
        ds = _CACHE.get(key) if key else None
    if ds is None:
        ds = make()
        for a in (ds.x_train, ds.y_train, ds.x_test, ds.y_test):
            a.flags.writeable = False
        if key:
            with _CACHE_LOCK:
                _CACHE[key] = ds
                while len(_CACHE) > _CACHE_SIZE:
                    _CACHE.pop(next(iter(_CACHE)))
    return dataclasses.replace(ds, class_names=list(ds.class_names), files=list(ds.files),
                               notes=list(ds.notes))


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


# ---- helpers ------------------------------------------------------------------------------------
def _hold_out(x, y, test_fraction, seed, source):
    """Split one labelled set into train and test; returns (x_tr, y_tr, x_te, y_te, note)."""
    keep, held = stratified_indices(y, test_fraction, seed)
    if len(held) == 0 or len(keep) == 0:
        raise DataError(f"{source}: {len(y)} samples are too few to hold out a test set of "
                        f"{test_fraction:.0%}")
    note = (f"no separate test set in {source}: {len(held):,} samples ({test_fraction:.0%}, "
            f"stratified, seed {seed}) are held out as the test set")
    return x[keep], y[keep], x[held], y[held], note


def _class_names_file(folder: Path):
    f = folder / "classes.txt"
    if not f.is_file():
        return None
    try:
        names = [line.strip() for line in f.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{f}: cannot be read ({e})") from None
    if not names:
        raise DataError(f"{f}: expected one class name per line, the file is empty")
    return names


def load_idx_folder(path, *, name: str | None = None, class_names=None, test_fraction=0.2,
                    seed=0, title: str = "", credit: str = "", image_shape=None) -> Dataset:
    """Any folder of IDX files: train images and labels, and test images and labels if there.

    Class names come from ``class_names``, else from a ``classes.txt`` (one per line) in the
    folder, else they are the numbers 0..K-1. ``image_shape`` (C, H, W), if given, is checked."""
    folder = Path(path).expanduser()
    files = find_idx_files(folder)
    missing = [f"{s} {k}" for s in ("train",) for k in ("images", "labels")
               if (s, k) not in files]
    if missing:
        raise DataError(f"{folder}: no {' or '.join(missing)} file (expected IDX files named "
                        f"like train-images-idx3-ubyte(.gz) and train-labels-idx1-ubyte(.gz))")
    has_test = [("test", k) in files for k in ("images", "labels")]
    if any(has_test) and not all(has_test):
        which = "images" if has_test[0] else "labels"
        other = "labels" if has_test[0] else "images"
        raise DataError(f"{folder}: there are test {which} ({files[('test', which)].name}) but "
                        f"no test {other} file")
    if class_names is None:
        class_names = _class_names_file(folder)
    k = len(class_names) if class_names else None
    pairs = [("train", files["train", "images"], files["train", "labels"])]
    if all(has_test):
        pairs.append(("test", files["test", "images"], files["test", "labels"]))
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=len(pairs)) as pool:   # zlib runs without the GIL
        loaded = list(pool.map(lambda p: load_idx_pair(p[1], p[2], k), pairs))
    (x_tr, y_tr) = loaded[0]
    notes = []
    if len(loaded) > 1:
        x_te, y_te = loaded[1]
        if x_te.shape[1:] != x_tr.shape[1:]:
            raise DataError(f"{pairs[1][1]}: test images are {x_te.shape[2]}x{x_te.shape[3]}, "
                            f"training images {x_tr.shape[2]}x{x_tr.shape[3]}")
        if k is None and len(y_te) and len(y_tr) and y_te.max() > y_tr.max():
            raise DataError(f"{pairs[1][2]}: label {int(y_te.max())} never occurs in the "
                            f"training labels (0..{int(y_tr.max())}); give the class names in "
                            f"classes.txt if it is right")
    else:
        x_tr, y_tr, x_te, y_te, note = _hold_out(x_tr, y_tr, test_fraction, seed, folder)
        notes.append(note)
    if image_shape is not None and tuple(x_tr.shape[1:]) != tuple(image_shape):
        raise DataError(f"{pairs[0][1]}: expected images of shape {tuple(image_shape)}, found "
                        f"{tuple(x_tr.shape[1:])}")
    used = [str(p) for pair in pairs for p in pair[1:]]
    return Dataset(name or folder.name, x_tr, y_tr, x_te, y_te, list(class_names or []),
                   location=str(folder), files=used, title=title or folder.name,
                   credit=credit, notes=notes)


def load_csv(path, *, test_fraction=0.2, seed=0, image_shape=None, class_names=None,
             name: str | None = None) -> Dataset:
    """The Kaggle "digit recognizer" layout: ``label,pixel0,...,pixel783`` rows, pixels 0..255.

    ``path`` is a CSV file, or a folder with ``train.csv`` (and optionally ``test.csv``: used as
    the test set if it has a label column; Kaggle's own test.csv has none and is ignored)."""
    p = Path(path).expanduser()
    test_file = None
    if p.is_dir():
        train_file = p / "train.csv"
        if not train_file.is_file():
            csvs = sorted(f for f in p.iterdir() if f.suffix.lower() == ".csv")
            if len(csvs) != 1:
                raise DataError(f"{p}: expected a train.csv file (label,pixel0,pixel1,...) in "
                                f"this folder, found {[f.name for f in csvs] or 'no CSV file'}")
            train_file = csvs[0]
        if (p / "test.csv").is_file() and train_file.name != "test.csv":
            test_file = p / "test.csv"
    elif p.exists():
        train_file = p
    else:
        raise DataError(f"{p}: no such file or folder")
    k = len(class_names) if class_names else None
    x_tr, y_tr = load_table_images(train_file, label_column=0, image_shape=image_shape,
                                   num_classes=k)
    notes, files = [], [str(train_file)]
    if test_file is not None and has_label_column(test_file):
        x_te, y_te = load_table_images(test_file, label_column=0, image_shape=x_tr.shape[1:],
                                       num_classes=k)
        files.append(str(test_file))
    else:
        if test_file is not None:
            notes.append(f"{test_file.name} has no label column (a competition file) and is "
                         f"not used")
        x_tr, y_tr, x_te, y_te, note = _hold_out(x_tr, y_tr, test_fraction, seed, train_file.name)
        notes.append(note)
    loc = p if p.is_dir() else train_file
    return Dataset(name or (p.name if p.is_dir() else train_file.stem), x_tr, y_tr, x_te, y_te,
                   list(class_names or []), location=str(loc), files=files,
                   title=f"{p.name} (CSV)", notes=notes)


def load_image_folder(path, *, size=28, color="grey", invert=False, test_fraction=0.2, seed=0,
                      name: str | None = None) -> Dataset:
    """One sub-folder of images per class (or ``train/`` and ``test/`` each holding those),
    resized to ``size`` (int or (H, W)), ``color`` "grey" or "rgb"; ``invert`` turns dark ink
    on white paper into MNIST's white strokes on black."""
    root = Path(path).expanduser()
    color = check_color(color)
    size = image_size(size)
    layout = split_layout(root)
    notes = []
    if layout:
        train, test = class_folders(layout[0]), class_folders(layout[1])
        names = [c for c, _ in train]
        extra = [c for c, _ in test if c not in names]
        if extra:
            raise DataError(f"{layout[1]}: class folder(s) {extra} have no counterpart in "
                            f"{layout[0]}")
        x_tr, y_tr = read_class_images(train, names, size, color, invert)
        x_te, y_te = read_class_images(test, names, size, color, invert)
        files = [str(f) for _, fs in train + test for f in fs]
    else:
        classes = class_folders(root)
        names = [c for c, _ in classes]
        x, y = read_class_images(classes, names, size, color, invert)
        x_tr, y_tr, x_te, y_te, note = _hold_out(x, y, test_fraction, seed, root.name)
        notes.append(note)
        files = [str(f) for _, fs in classes for f in fs]
    return Dataset(name or root.name, x_tr, y_tr, x_te, y_te, names, location=str(root),
                   files=files, title=f"{root.name} (images)", notes=notes)


def detect_format(path) -> str:
    """"idx", "csv" or "images" for a file or folder, judged by its content."""
    p = Path(path).expanduser()
    if p.is_file():
        if p.name.lower().endswith((".csv", ".csv.gz")):
            return "csv"
        raise DataError(f"{p}: not a data set file (expected a CSV file, or a folder of IDX "
                        f"files or of class sub-folders)")
    if not p.is_dir():
        raise DataError(f"{p}: no such file or folder")
    if find_idx_files(p):
        return "idx"
    if any(f.suffix.lower() == ".csv" for f in p.iterdir()):
        return "csv"
    if split_layout(p) or any(c.is_dir() and not c.name.startswith(".") for c in p.iterdir()):
        return "images"
    raise DataError(f"{p}: cannot tell what this folder holds (expected IDX files, a "
                    f"train.csv, or one sub-folder of images per class)")


FORMATS = {"idx": load_idx_folder, "csv": load_csv, "images": load_image_folder}
FORMAT_TITLES = {"idx": "Folder of IDX files (train-images-idx3-ubyte, ...)",
                 "csv": "Kaggle digit-recognizer CSV (label, pixel0..pixel783)",
                 "images": "Image folder (one sub-folder per class)"}


# ---- named data sets ----------------------------------------------------------------------------
class NamedIdx:
    """A named IDX data set (MNIST, Fashion-MNIST): 60,000 + 10,000 images of 28x28, 10 classes,
    found in the built-in resources, the user's data folder or a system folder."""

    def __init__(self, name, title, class_names, credit, builtin=None, reason_missing=""):
        self.name, self.title, self.class_names, self.credit = name, title, class_names, credit
        self.builtin = builtin
        self.reason_missing = reason_missing

    def folders(self) -> list[Path]:
        dirs = [self.builtin] if self.builtin is not None else []
        return dirs + [data_home() / self.name] + SYSTEM_DIRS.get(self.name, [])

    def find(self) -> Path | None:
        for d in self.folders():
            try:
                files = find_idx_files(d) if d.is_dir() else {}
            except DataError:
                continue
            if len(files) == 4:
                return d
        return None

    def info(self) -> DatasetInfo:
        folder = self.find()
        if folder is None:
            where = ", ".join(str(d) for d in self.folders())
            return DatasetInfo(self.name, self.title, (1, 28, 28), list(self.class_names), None,
                               None, None, False,
                               reason=f"not found (looked in {where}). {self.reason_missing}",
                               downloadable=True, credit=self.credit)
        files = find_idx_files(folder)
        try:
            n_train = idx_header(files["train", "labels"])[1][0]
            n_test = idx_header(files["test", "labels"])[1][0]
            shape = (1,) + tuple(idx_header(files["train", "images"])[1][1:])
        except DataError as e:
            return DatasetInfo(self.name, self.title, None, list(self.class_names), None, None,
                               str(folder), False, reason=str(e), downloadable=True,
                               credit=self.credit)
        return DatasetInfo(self.name, self.title, shape, list(self.class_names), n_train, n_test,
                           str(folder), True, downloadable=True, credit=self.credit)

    def load(self, path=None) -> Dataset:
        """From ``path`` if given, else from the first folder that has the four files."""
        folder = Path(path).expanduser() if path is not None else self.find()
        if folder is None:
            raise DataError(f"{self.name}: {self.info().reason}")
        key = ("idx", self.name) + _file_key(sorted(find_idx_files(folder).values()))
        return _cached(key, lambda: load_idx_folder(
            folder, name=self.name, class_names=self.class_names, title=self.title,
            credit=self.credit, image_shape=(1, 28, 28)))


class Digits8x8:
    """scikit-learn's copy of the UCI 8x8 optical digits: 1,797 images, pixels 0..16 (stored
    here rescaled to 0..255), no official test split (``test_fraction`` is held out)."""
    name = "digits-8x8"
    title = "Digits 8x8 (scikit-learn)"
    credit = DIGITS_CREDIT

    @staticmethod
    def find() -> Path | None:
        try:
            spec = importlib.util.find_spec("sklearn")   # finds it without importing it
        except (ImportError, ValueError):
            return None
        for loc in (spec.submodule_search_locations or []) if spec else []:
            f = Path(loc) / "datasets" / "data" / "digits.csv.gz"
            if f.is_file():
                return f
        return None

    def info(self) -> DatasetInfo:
        f = self.find()
        if f is None:
            return DatasetInfo(self.name, self.title, (1, 8, 8), list(DIGIT_CLASSES), None, None,
                               None, False, reason="scikit-learn is not installed (it ships this "
                               "data set): pip install scikit-learn", credit=self.credit)
        try:
            ds = self.load()
        except DataError as e:
            return DatasetInfo(self.name, self.title, (1, 8, 8), list(DIGIT_CLASSES), None, None,
                               str(f), False, reason=str(e), credit=self.credit)
        return ds.info()

    def load(self, path=None, test_fraction=0.2, seed=0) -> Dataset:
        f = Path(path).expanduser() if path is not None else self.find()
        if f is None:
            raise DataError(f"{self.name}: {self.info().reason}")

        def make():
            x, y = load_table_images(f, label_column=-1, pixel_max=16, image_shape=(1, 8, 8),
                                     num_classes=10, skip_header=False)
            x_tr, y_tr, x_te, y_te, note = _hold_out(x, y, test_fraction, seed, f.name)
            return Dataset(self.name, x_tr, y_tr, x_te, y_te, list(DIGIT_CLASSES),
                           location=str(f), files=[str(f)], title=self.title,
                           credit=self.credit, notes=[note, "pixels 0..16 rescaled to 0..255"])
        return _cached(("digits", test_fraction, seed) + _file_key([f]), make)


NAMED = {
    "mnist": NamedIdx("mnist", "MNIST handwritten digits (built in)", DIGIT_CLASSES,
                      MNIST_CREDIT, builtin=resources.path("mnist")),
    "fashion-mnist": NamedIdx("fashion-mnist", "Fashion-MNIST clothing", FASHION_CLASSES,
                              FASHION_CREDIT,
                              reason_missing="Install the Debian package dataset-fashion-mnist, "
                              "download it (nncore.data.download('fashion-mnist')), or load it "
                              "from a folder: load_dataset('fashion-mnist', path=...)."),
    "digits-8x8": Digits8x8(),
}


def list_datasets() -> list[DatasetInfo]:
    """The named data sets, available here or not (``reason`` says why not)."""
    return [src.info() for src in NAMED.values()]


def _call(fn, what, args, options):
    params = inspect.signature(fn).parameters
    unknown = sorted(set(options) - set(params))
    if unknown:
        allowed = [p for p in params if p not in ("self",) and p not in args]
        raise DataError(f"{what} takes the option(s) {', '.join(allowed) or '(none)'}, "
                        f"received {', '.join(unknown)}")
    return fn(*args, **options)


def load_dataset(name: str = "mnist", **options) -> Dataset:
    """Load a named data set, a format with ``path=...``, or a path (format recognised)."""
    if not isinstance(name, (str, os.PathLike)):
        raise DataError(f"a data set is named by a string, received {name!r}")
    key = str(name).strip().lower()
    if key in NAMED:
        return _call(NAMED[key].load, key, (), options)
    if key in FORMATS:
        path = options.pop("path", None)
        if path is None:
            raise DataError(f"the {key} format needs a path: load_dataset({key!r}, path=...)")
        return _call(FORMATS[key], key, (path,), options)
    p = Path(str(name)).expanduser()
    if isinstance(name, os.PathLike) or os.sep in str(name) or p.exists():
        fmt = detect_format(p)
        options.setdefault("name", str(name))   # load_dataset(x).name == x, as for named sets
        return _call(FORMATS[fmt], fmt, (p,), options)
    raise DataError(f"unknown data set {str(name)!r}: expected one of {', '.join(NAMED)}, a "
                    f"format ({', '.join(FORMATS)}) with path=..., or the path of a folder or "
                    f"CSV file")
