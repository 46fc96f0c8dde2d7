"""Data sets: from files on disk to batches of network input.

    from nncore import data
    ds = data.load_dataset("mnist")                  # built in: 60,000 + 10,000 images 28x28
    ds.x_train.shape, ds.y_train.shape               # (60000, 1, 28, 28) uint8, (60000,) int64
    [i.name for i in data.list_datasets()]           # mnist, fashion-mnist, digits-8x8
    (x_tr, y_tr), (x_val, y_val) = data.train_val_split(ds.x_train, ds.y_train, 0.1, seed=0)
    pre = data.Preprocessing.fit(x_tr, standardize=True)   # statistics of the training split
    for xb, yb in data.batches(x_tr, y_tr, 64, seed=0, transform=pre.apply):
        ...                                          # xb: (64, 1, 28, 28) float32

The modules, in the order data flows through them:
  idx.py          the IDX format of MNIST: read_idx, write_idx, finding the files in a folder
  csvdata.py      images as CSV rows (Kaggle digit recognizer, scikit-learn's 8x8 digits)
  imagefolder.py  the learner's own pictures, one sub-folder per class (Pillow)
  dataset.py      Dataset (validated arrays) and DatasetInfo (what a data set is, unloaded)
  catalog.py      named data sets and formats: list_datasets, load_dataset
  downloads.py    fetching MNIST / Fashion-MNIST: temporary file, checksum, progress
  prepare.py      Preprocessing, train_val_split, subset, batches

Every problem with the data raises ``nncore.DataError`` naming the file and what is wrong.
"""
from __future__ import annotations

from ..errors import DataError
from .catalog import (FORMATS, NAMED, clear_cache, data_home, detect_format, list_datasets,
                      load_csv, load_dataset, load_idx_folder, load_image_folder)
from .dataset import Dataset, DatasetInfo
from .downloads import DOWNLOADS, DownloadCancelled, DownloadSpec, download, download_file
from .idx import find_idx_files, load_idx_pair, read_idx, write_idx
from .imagefolder import read_image
from .prepare import Preprocessing, batches, split_counts, subset, train_val_split

__all__ = ["Dataset", "DatasetInfo", "DataError", "load_dataset", "list_datasets",
           "load_idx_folder", "load_csv", "load_image_folder", "detect_format", "data_home",
           "clear_cache", "NAMED", "FORMATS", "download", "download_file", "DownloadSpec",
           "DownloadCancelled", "DOWNLOADS", "read_idx", "write_idx", "find_idx_files",
           "load_idx_pair", "read_image", "Preprocessing", "train_val_split", "subset",
           "batches", "split_counts"]
