"""The IDX file format of MNIST and Fashion-MNIST: read, write, and find the files in a folder.

An IDX file is a tiny header and then the raw numbers, big-endian::

    0x00 0x00       two zero bytes
    type code       0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    ndim            number of dimensions (3 for images: N, H, W; 1 for labels: N)
    ndim x uint32   the size of each dimension, big-endian
    data            prod(sizes) numbers, big-endian, C order

So MNIST's image files start with the "magic number" 0x00000803 and its label files with
0x00000801. Files may be gzip-compressed (recognised by their content, not their name), and both
naming conventions are found in the wild: ``train-images-idx3-ubyte`` and ``train-images.idx3-ubyte``.

Every problem raises ``DataError`` naming the file: a truncated file, a wrong magic number,
damaged gzip data, images and labels that do not match.
"""
from __future__ import annotations

import gzip
import math
import re
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io import atomic_write_bytes

# type code -> dtype of the data as stored (big-endian)
IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {dt.newbyteorder("=").name if dt.itemsize > 1 else dt.name: code
          for code, dt in IDX_TYPES.items()}
GZIP_MAGIC = b"\x1f\x8b"


# ---- bytes -------------------------------------------------------------------------------------
def read_file_bytes(path) -> bytes:
    """The content of ``path``, gunzipped if it is gzip data (whatever its name says).

    Uses one zlib call on the whole file: faster than reading through ``gzip.open``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    if raw[:2] != GZIP_MAGIC:
        return raw
    return gunzip(raw, path)


def gunzip(raw: bytes, name) -> bytes:
    """Decompress gzip data (all members); DataError naming ``name`` if damaged or truncated."""
    parts = []
    while raw:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            parts.append(d.decompress(raw))
        except zlib.error as e:
            raise DataError(f"{name}: the gzip data is damaged ({e})") from None
        if not d.eof:
            raise DataError(f"{name}: the file is truncated (the gzip data ends early)")
        raw = d.unused_data
        if raw[:2] != GZIP_MAGIC:   # trailing padding after the last member is ignored
            break
    return parts[0] if len(parts) == 1 else b"".join(parts)


# ---- decode / encode ---------------------------------------------------------------------------
def decode_idx(data, name="the data") -> np.ndarray:
    """Parse IDX bytes into an array of native byte order. The array shares ``data`` when it is
    bytes of uint8 numbers (no copy), so it is read-only then."""
    n = len(data)
    if n < 4:
        raise DataError(f"{name}: the file is truncated ({n} bytes, shorter than an IDX header)")
    magic = struct.unpack_from(">I", data)[0]
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES or data[3] == 0:
        raise DataError(f"{name}: not an IDX file (wrong magic number 0x{magic:08X}; expected "
                        f"0x00000803 for images or 0x00000801 for labels)")
    ndim = data[3]
    start = 4 + 4 * ndim
    if n < start:
        raise DataError(f"{name}: the file is truncated (its header needs {start} bytes, the "
                        f"file has {n})")
    dims = struct.unpack_from(f">{ndim}I", data, 4)
    dtype = IDX_TYPES[data[2]]
    expected = math.prod(dims) * dtype.itemsize
    found = n - start
    shape = " x ".join(str(d) for d in dims)
    if found < expected:
        raise DataError(f"{name}: the file is truncated (its header announces {shape} values, "
                        f"{expected:,} bytes of data; only {found:,} bytes follow)")
    if found > expected:
        raise DataError(f"{name}: {found - expected:,} unexpected bytes after the {shape} values "
                        f"its header announces (damaged file?)")
    arr = np.frombuffer(data, dtype=dtype, count=math.prod(dims), offset=start).reshape(dims)
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def encode_idx(array) -> bytes:
    """IDX bytes of ``array`` (uint8, int8, int16, int32, float32 or float64; 1 to 255 dims)."""
    arr = np.asarray(array)
    key = arr.dtype.newbyteorder("=").name if arr.dtype.itemsize > 1 else arr.dtype.name
    if key not in _CODES:
        raise DataError(f"IDX files hold uint8, int8, int16, int32, float32 or float64 numbers, "
                        f"received dtype {arr.dtype}")
    if not 1 <= arr.ndim <= 255:
        raise DataError(f"IDX files hold arrays of 1 to 255 dimensions, received {arr.ndim}")
    if any(d >= 2**32 for d in arr.shape):
        raise DataError(f"an IDX dimension must be below 2**32, received shape {arr.shape}")
    code = _CODES[key]
    header = struct.pack(f">BBBB{arr.ndim}I", 0, 0, code, arr.ndim, *arr.shape)
    return header + np.ascontiguousarray(arr, dtype=IDX_TYPES[code]).tobytes()


# ---- files -------------------------------------------------------------------------------------
def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a writable array of native byte order."""
    arr = decode_idx(read_file_bytes(path), str(path))
    return arr if arr.flags.writeable else arr.copy()


def write_idx(path, array, compresslevel: int = 6) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed if ``path`` ends in ``.gz``. Atomic."""
    path = Path(path)
    data = encode_idx(array)
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=compresslevel, mtime=0)
    atomic_write_bytes(path, data)
    return path


def idx_header(path) -> tuple[int, tuple[int, ...]]:
    """(type code, dims) of an IDX file, reading only its first bytes."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(2)
            f.seek(0)
            if head == GZIP_MAGIC:
                with gzip.GzipFile(fileobj=f) as g:
                    data = g.read(4 + 4 * 255)
            else:
                data = f.read(4 + 4 * 255)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot be read ({getattr(e, 'strerror', None) or e})") from None
    if len(data) < 4 or data[0] or data[1] or data[2] not in IDX_TYPES or not data[3]:
        raise DataError(f"{path}: not an IDX file (wrong magic number)")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise DataError(f"{path}: the file is truncated (incomplete IDX header)")
    return data[2], struct.unpack_from(f">{ndim}I", data, 4)


# ---- images + labels -----------------------------------------------------------------------------
def check_images(arr: np.ndarray, name) -> np.ndarray:
    """IDX image data as (N, C, H, W) uint8: (N, H, W) gains a channel axis."""
    if arr.dtype != np.uint8:
        raise DataError(f"{name}: expected images of unsigned bytes (IDX type 0x08), found "
                        f"{arr.dtype}")
    if arr.ndim == 3:
        return arr[:, None]
    if arr.ndim == 4 and arr.shape[1] in (1, 3):
        return arr
    raise DataError(f"{name}: expected images (magic 0x00000803, dimensions N x H x W), found "
                    f"{arr.ndim} dimension(s) {arr.shape}")


def check_labels(arr: np.ndarray, name, num_classes: int | None = None) -> np.ndarray:
    """IDX label data as (N,) int64, every label in 0..num_classes-1 (if given)."""
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise DataError(f"{name}: expected labels (magic 0x00000801, one dimension of integers), "
                        f"found {arr.ndim} dimension(s) of {arr.dtype}")
    labels = arr.astype(np.int64)
    check_label_range(labels, name, num_classes)
    return labels


def check_label_range(labels: np.ndarray, name, num_classes: int | None) -> None:
    if labels.size == 0:
        return
    top = num_classes - 1 if num_classes is not None else None
    bad = labels < 0 if top is None else (labels < 0) | (labels > top)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        expected = f"0..{top}" if top is not None else "0 or more"
        raise DataError(f"{name}: label {labels[i]} at position {i} is out of range (expected "
                        f"{expected}; {int(bad.sum())} label(s) are out of range)")


def load_idx_pair(images_path, labels_path, num_classes: int | None = None):
    """Images (N, C, H, W) uint8 and labels (N,) int64 from two IDX files that must match."""
    x = check_images(decode_idx(read_file_bytes(images_path), str(images_path)), images_path)
    y = check_labels(decode_idx(read_file_bytes(labels_path), str(labels_path)), labels_path,
                     num_classes)
    if len(x) != len(y):
        raise DataError(f"{images_path} has {len(x):,} images but {labels_path} has "
                        f"{len(y):,} labels: the two files do not belong together")
    return x, y


# ---- finding the files ---------------------------------------------------------------------------
def _idx_candidates(folder: Path):
    for p in folder.iterdir():
        if p.is_file():
            yield p
        elif p.is_dir() and _NAME.match(p.name):
            yield from (q for q in p.iterdir() if q.is_file() and _NAME.match(q.name))


_NAME = re.compile(r"^(?P<prefix>.*?)(?P<split>train|t10k|test)[-_.](?P<kind>images|labels)"
                   r"[-_.]idx(?P<ndim>\d)[-_.]ubyte(?P<gz>\.gz)?$", re.IGNORECASE)


def find_idx_files(folder) -> dict[tuple[str, str], Path]:
    """The IDX files of a folder: {("train"|"test", "images"|"labels"): path}.

    Accepts ``train-images-idx3-ubyte`` and ``train-images.idx3-ubyte`` (with or without ``.gz``,
    with an optional prefix such as ``emnist-digits-``); ``t10k`` and ``test`` both mean the test
    split. When a file exists both raw and gzipped, the raw one is used (it loads faster). A
    folder of such a name holding the file (as some unzipped downloads are laid out) counts too."""
    folder = Path(folder)
    found: dict[tuple[str, str], list[Path]] = {}
    try:
        entries = sorted(_idx_candidates(folder))
    except FileNotFoundError:
        raise DataError(f"{folder}: no such folder") from None
    except NotADirectoryError:
        raise DataError(f"{folder}: is a file, not a folder") from None
    except OSError as e:
        raise DataError(f"{folder}: cannot be read ({e.strerror or e})") from None
    for p in entries:
        m = _NAME.match(p.name)
        if m:
            split = "train" if m["split"].lower() == "train" else "test"
            found.setdefault((split, m["kind"].lower()), []).append(p)
    result = {}
    for key, paths in found.items():
        raw = [p for p in paths if not p.name.lower().endswith(".gz")]
        choice = raw or paths
        stems = {p.name.lower().removesuffix(".gz").replace(".", "-") for p in choice}
        if len(choice) > 1 and len(stems) > 1:
            names = ", ".join(p.name for p in choice)
            raise DataError(f"{folder}: several {key[0]} {key[1]} files ({names}); keep one")
        result[key] = choice[0]
    return result
