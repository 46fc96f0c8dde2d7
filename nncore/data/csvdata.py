"""Images stored as CSV rows: the Kaggle "digit recognizer" layout and scikit-learn's 8x8 digits.

Kaggle (``train.csv``)::

    label,pixel0,pixel1,...,pixel783
    1,0,0,...,0

scikit-learn ``digits.csv.gz``: no header, 64 pixel values 0..16, then the label.
"""
from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np

from ..errors import DataError
from .idx import check_label_range, read_file_bytes


def read_csv_numbers(path, skip_header: bool | None = None):
    """(header or None, table (rows, cols) int64 or float64, line numbers of the rows).

    Every row must have as many values as the first (or the header); empty lines are skipped.
    ``skip_header=None`` detects a header: a first line whose first field is not a number."""
    path = Path(path)
    try:
        text = read_file_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text (CSV) file") from None
    rows = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()]
    if not rows:
        raise DataError(f"{path}: the file is empty")
    header = None
    first = rows[0][1].split(",")[0].strip().strip('"')
    if skip_header or (skip_header is None and not _is_number(first)):
        header = [h.strip().strip('"') for h in rows[0][1].split(",")]
        rows = rows[1:]
        if not rows:
            raise DataError(f"{path}: the file has a header but no rows")
    ncols = len(header) if header else rows[0][1].count(",") + 1
    for lineno, line in rows:
        k = line.count(",") + 1
        if k != ncols:
            raise DataError(f"{path}, line {lineno}: {k} values, expected {ncols} "
                            f"(like the {'header' if header else 'first row'})")
    lines = [line for _, line in rows]
    numbers = [r[0] for r in rows]
    table = None
    for dtype in (np.int64, np.float64):
        try:
            table = np.loadtxt(lines, delimiter=",", dtype=dtype, ndmin=2)
            break
        except ValueError as e:
            if dtype is np.float64:
                m = re.search(r"string '(.*?)'.* at row (\d+), column (\d+)", str(e))
                if m:
                    raise DataError(f"{path}, line {numbers[int(m[2])]}, column {m[3]}: "
                                    f"{m[1]!r} is not a number") from None
                raise DataError(f"{path}: not a table of numbers ({e})") from None
        except OverflowError:
            continue
    return header, table, numbers


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _whole(values: np.ndarray, lo: int, hi: int, path, what, numbers):
    """``values`` (rows, k) as integers after checking they are whole numbers in lo..hi."""
    fractional = values.dtype.kind == "f" and not np.array_equal(values, np.round(values))
    if values.size and (fractional or values.min() < lo or values.max() > hi):
        bad = (values < lo) | (values > hi)
        if values.dtype.kind == "f":
            bad |= values != np.round(values)
        r, c = np.argwhere(bad)[0]
        raise DataError(f"{path}, line {numbers[r]}: {what} {values[r, c]:g} is out of range "
                        f"(expected whole numbers {lo}..{hi})")
    return values.astype(np.int64, copy=False)


def load_table_images(path, *, label_column: int, pixel_max: int = 255, image_shape=None,
                      num_classes: int | None = None, skip_header: bool | None = None):
    """Images (N, C, H, W) uint8 and labels (N,) int64 from one CSV file.

    ``label_column`` is the label's position (0 first, -1 last); the other columns are pixels
    0..``pixel_max``, rescaled to 0..255. ``image_shape`` (C, H, W) defaults to a square
    greyscale image."""
    header, table, numbers = read_csv_numbers(path, skip_header)
    if header is not None and "label" in [h.lower() for h in header]:
        label_column = [h.lower() for h in header].index("label")
    ncols = table.shape[1]
    npix = ncols - 1
    if npix < 1:
        raise DataError(f"{path}: expected a label and pixel values on each row, found "
                        f"{ncols} column(s)")
    shape = _image_shape(npix, image_shape, path)
    lc = label_column % ncols
    labels = _whole(table[:, lc:lc + 1], 0, 2**31, path, "label", numbers)[:, 0]
    check_label_range(labels, path, num_classes)
    cols = table[:, 1:] if lc == 0 else table[:, :-1] if lc == ncols - 1 else \
        np.delete(table, lc, axis=1)
    pixels = _whole(cols, 0, pixel_max, path, "pixel value", numbers)
    if pixel_max != 255:
        pixels = (pixels * 255 + pixel_max // 2) // pixel_max
    return pixels.astype(np.uint8).reshape((len(pixels),) + shape), labels


def has_label_column(path) -> bool:
    """Whether a CSV file's header names a ``label`` column (Kaggle's test.csv does not)."""
    try:
        with io.TextIOWrapper(open(path, "rb"), encoding="utf-8-sig", errors="replace") as f:
            first = f.readline()
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    return "label" in [h.strip().strip('"').lower() for h in first.split(",")]


def _image_shape(npix, image_shape, path):
    if image_shape is not None:
        shape = tuple(int(d) for d in image_shape)
        if len(shape) == 2:
            shape = (1,) + shape
        if len(shape) != 3 or math.prod(shape) != npix:
            raise DataError(f"{path}: image shape {tuple(image_shape)} does not hold the {npix} "
                            f"pixel values of each row")
        return shape
    side = math.isqrt(npix)
    if side * side != npix:
        raise DataError(f"{path}: {npix} pixel values per row is not a square image; give the "
                        f"image shape (for example image_shape=(1, 28, 28))")
    return (1, side, side)
