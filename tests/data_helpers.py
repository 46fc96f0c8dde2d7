"""Tiny data sets for the nncore.data tests (a few kB each, made on the fly)."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from nncore.data import write_idx


def tiny_images(n=20, h=6, w=5, k=4, seed=0):
    """(n, h, w) uint8 images and (n,) uint8 labels cycling through k classes."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, h, w), dtype=np.uint8)
    y = (np.arange(n) % k).astype(np.uint8)
    return x, y


def idx_folder(folder: Path, n_train=20, n_test=8, h=6, w=5, k=4, gz=True, dotted=False,
               test=True) -> Path:
    """A folder of four IDX files; ``dotted`` uses the train-images.idx3-ubyte convention."""
    folder.mkdir(parents=True, exist_ok=True)
    sep = "." if dotted else "-"
    ext = ".gz" if gz else ""
    splits = [("train", n_train, 0)] + ([("t10k", n_test, 1)] if test else [])
    for split, n, seed in splits:
        x, y = tiny_images(n, h, w, k, seed)
        write_idx(folder / f"{split}-images{sep}idx3-ubyte{ext}", x)
        write_idx(folder / f"{split}-labels{sep}idx1-ubyte{ext}", y)
    return folder


def raw_idx(code: int, dims, payload: bytes) -> bytes:
    """Hand-made IDX bytes (to build broken files)."""
    return struct.pack(f">BBBB{len(dims)}I", 0, 0, code, len(dims), *dims) + payload


def write_gz(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0))
    return path


def kaggle_csv(path: Path, rows, side=4, header=True, label=True) -> Path:
    """A digit-recognizer CSV: ``rows`` is a list of (label, pixels) or pixel lists."""
    lines = []
    if header:
        cols = [f"pixel{i}" for i in range(side * side)]
        lines.append(",".join((["label"] if label else []) + cols))
    for r in rows:
        lines.append(",".join(str(v) for v in r))
    path.write_text("\n".join(lines) + "\n")
    return path


def kaggle_rows(n=20, side=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return [[i % k] + rng.integers(0, 256, side * side).tolist() for i in range(n)]


def image_tree(root: Path, classes=("cat", "dog"), per_class=5, size=(12, 10), fmt="PNG",
               mode="L") -> Path:
    """root/<class>/<i>.png: class c is an image of constant grey 40 + 60 * c."""
    from PIL import Image
    for c, name in enumerate(classes):
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            value = 40 + 60 * c
            color = value if mode == "L" else (value, 0, 255 - value)
            ext = "jpg" if fmt == "JPEG" else fmt.lower()
            Image.new(mode, (size[1], size[0]), color).save(d / f"{i}.{ext}", fmt)
    return root
