"""Saving and loading: one self-checking file per network, training checkpoint or project.

File layout (little-endian), version 1::

    b"NNSTUDIO"  magic                          8 bytes
    version      uint32                         4 bytes
    header size  uint64                         8 bytes
    header       UTF-8 JSON: kind, meta, array table (name, dtype, shape, offset, nbytes)
    arrays       raw array bytes, back to back
    SHA-256      of everything above           32 bytes

No pickle: arrays are raw bytes of a few plain dtypes, everything else is JSON. Loading checks
the magic, the version, the checksum and every table entry before it builds anything, and raises
``ModelFileError`` with a plain message for any problem. Writing is atomic: the file is written
to a temporary name beside the target, flushed to disk, then renamed over it.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelFileError, NNCoreError
from .registry import get

MAGIC = b"NNSTUDIO"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<8sIQ")
_DIGEST = 32
_DTYPES = {"float32", "float64", "int64", "int32", "uint8", "bool", "uint64"}
KINDS = ("network", "checkpoint", "project")


@dataclass
class Bundle:
    """The raw content of a file: a kind, JSON-able metadata and named arrays."""
    kind: str
    meta: dict
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


# ---- low level: bundles -------------------------------------------------------------------------
def encode_bundle(bundle: Bundle) -> bytes:
    table, blobs, offset = [], [], 0
    for name, arr in bundle.arrays.items():
        arr = np.ascontiguousarray(arr)
        if arr.dtype.name not in _DTYPES:
            raise ValueError(f"cannot save array {name!r} of dtype {arr.dtype}")
        data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        table.append({"name": name, "dtype": arr.dtype.name, "shape": list(arr.shape),
                      "offset": offset, "nbytes": len(data)})
        blobs.append(data)
        offset += len(data)
    header = json.dumps({"kind": bundle.kind, "meta": bundle.meta, "arrays": table},
                        allow_nan=True, separators=(",", ":")).encode("utf-8")
    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(header)) + header + b"".join(blobs)
    return body + hashlib.sha256(body).digest()


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash at any moment leaves the old file or the new
    one, never a mix: temporary file in the same folder, fsync, rename, fsync the folder."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def write_bundle(path, bundle: Bundle) -> None:
    atomic_write_bytes(path, encode_bundle(bundle))


def decode_bundle(data: bytes, name: str = "the file") -> Bundle:
    """Parse and fully validate a file's bytes; ModelFileError on any problem."""
    def bad(problem):
        return ModelFileError(f"{name}: {problem}")

    if len(data) == 0:
        raise bad("the file is empty")
    if data[:len(MAGIC)] != MAGIC[:len(data)]:
        raise bad("not an NN Studio file (it does not start with the NNSTUDIO signature)")
    if len(data) < _PREFIX.size + _DIGEST:
        raise bad("the file is truncated")
    _, version, header_len = _PREFIX.unpack_from(data)
    if version > FORMAT_VERSION:
        raise bad(f"made by a newer version of NN Studio (file format {version}; this version "
                  f"reads up to {FORMAT_VERSION}). Update NN Studio to open it.")
    if version < 1:
        raise bad(f"unknown file format version {version}")
    body, digest = data[:-_DIGEST], data[-_DIGEST:]
    if hashlib.sha256(body).digest() != digest:
        raise bad("the file is damaged or truncated (its checksum does not match its content)")
    start = _PREFIX.size
    if header_len > len(body) - start:
        raise bad("the header is longer than the file")
    try:
        header = json.loads(body[start:start + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise bad(f"the header is not valid JSON ({e})") from None
    if not isinstance(header, dict) or header.get("kind") not in KINDS:
        raise bad("the header does not name a known kind of content")
    if not isinstance(header.get("meta"), dict) or not isinstance(header.get("arrays"), list):
        raise bad("the header lacks its metadata or array table")
    blob = memoryview(body)[start + header_len:]
    arrays = {}
    for entry in header["arrays"]:
        arrays.update([_decode_array(entry, blob, bad)])
    return Bundle(header["kind"], header["meta"], arrays)


def _decode_array(entry, blob, bad):
    try:
        name, dtype, shape = entry["name"], entry["dtype"], entry["shape"]
        offset, nbytes = entry["offset"], entry["nbytes"]
    except (TypeError, KeyError):
        raise bad("an entry of the array table is incomplete") from None
    if not isinstance(name, str) or dtype not in _DTYPES:
        raise bad(f"array {name!r} has an unsupported type {dtype!r}")
    if (not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool)
                                               and d >= 0 for d in shape)
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                       for v in (offset, nbytes))):
        raise bad(f"array {name!r} has an invalid shape or position")
    itemsize = np.dtype(dtype).itemsize
    if math.prod(shape) * itemsize != nbytes or offset + nbytes > len(blob):
        raise bad(f"array {name!r} does not fit the file")
    arr = np.frombuffer(blob[offset:offset + nbytes], dtype=np.dtype(dtype).newbyteorder("<"))
    return name, arr.reshape(shape).astype(dtype)  # native byte order, own memory


def read_bundle(path) -> Bundle:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a folder, not a file") from None
    except OSError as e:
        raise ModelFileError(f"{path}: cannot be read ({e.strerror or e})") from None
    return decode_bundle(data, str(path))


# ---- high level: networks and checkpoints -------------------------------------------------------
@dataclass
class Checkpoint:
    """Everything needed to continue training: network, optimizer, loss, settings, history.

    ``training`` holds plain settings (batch_size, seed, epoch, step, ...); ``extra`` is free
    for the application (for example the app's window layout or data set choice)."""
    spec: dict
    weights: dict[str, np.ndarray]
    dtype: str = "float32"
    loss: dict = field(default_factory=lambda: {"type": "CrossEntropyLoss", "config": {}})
    optimizer: dict = field(default_factory=dict)    # {"type", "config", "state"}
    training: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)
    class_names: list = field(default_factory=list)
    preprocessing: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)   # more arrays for ``extra``

    def build_network(self, seed: int = 0):
        from .network import Network
        net = Network.from_spec(self.spec, seed=seed, dtype=self.dtype)
        net.set_weights(self.weights)
        return net

    def build_loss(self):
        return get("loss", self.loss["type"])(**self.loss.get("config", {}))

    def build_optimizer(self, net):
        opt = get("optimizer", self.optimizer["type"])(net, **self.optimizer.get("config", {}))
        if self.optimizer.get("state"):
            opt.load_state_dict(self.optimizer["state"])
        return opt


def checkpoint_from_trainer(trainer, **fields) -> Checkpoint:
    """A Checkpoint of a ``nncore.train.Trainer``; ``fields`` fill class_names, extra, ..."""
    opt = trainer.optimizer
    return Checkpoint(
        spec=trainer.net.to_spec(), weights=trainer.net.get_weights(),
        dtype=trainer.net.dtype.name,
        loss={"type": type(trainer.loss).__name__, "config": trainer.loss.get_config()},
        optimizer={"type": type(opt).__name__, "config": opt.get_config(),
                   "state": opt.state_dict()},
        training={"batch_size": trainer.batch_size, "epoch": trainer.epoch,
                  "step": trainer.step, "base_lr": trainer.base_lr},
        history=trainer.history.to_dict(), **fields)


def _to_bundle(obj, kind: str | None) -> Bundle:
    from .network import Network
    if isinstance(obj, Network):
        return Bundle("network", {"spec": obj.to_spec(), "dtype": obj.dtype.name},
                      {f"weights/{k}": v for k, v in obj.get_weights().items()})
    if not isinstance(obj, Checkpoint):
        if hasattr(obj, "optimizer") and hasattr(obj, "net"):
            obj = checkpoint_from_trainer(obj)
        else:
            raise TypeError(f"cannot save a {type(obj).__name__}: expected a Network, Trainer "
                            f"or Checkpoint")
    arrays = {f"weights/{k}": v for k, v in obj.weights.items()}
    opt = dict(obj.optimizer)
    state = opt.pop("state", None)
    if state is not None:
        opt["state"] = {"t": state["t"], "config": state.get("config", {})}
        arrays.update({f"optimizer/{k}": v for k, v in state["buffers"].items()})
    arrays.update({f"extra/{k}": v for k, v in obj.arrays.items()})
    meta = {"spec": obj.spec, "dtype": obj.dtype, "loss": obj.loss, "optimizer": opt,
            "training": obj.training, "history": obj.history, "class_names": obj.class_names,
            "preprocessing": obj.preprocessing, "extra": obj.extra}
    return Bundle(kind or "checkpoint", meta, arrays)


def save(obj, path, kind: str | None = None) -> None:
    """Save a Network, a Trainer or a Checkpoint to ``path`` atomically."""
    write_bundle(path, _to_bundle(obj, kind))


def _prefixed(arrays, prefix):
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def load(path):
    """Load a file written by ``save``: a Network for a network file, else a Checkpoint.

    Everything is validated, and the network is rebuilt and its weights set before anything is
    returned; any problem raises ModelFileError."""
    b = read_bundle(path)
    try:
        weights = _prefixed(b.arrays, "weights/")
        meta = b.meta
        if b.kind == "network":
            ck = Checkpoint(spec=meta["spec"], weights=weights, dtype=meta.get("dtype", "float32"))
            return ck.build_network()
        opt = dict(meta.get("optimizer") or {})
        if "state" in opt:
            opt["state"] = {"t": opt["state"]["t"], "config": opt["state"].get("config", {}),
                            "buffers": _prefixed(b.arrays, "optimizer/")}
        ck = Checkpoint(spec=meta["spec"], weights=weights, dtype=meta.get("dtype", "float32"),
                        loss=meta.get("loss") or {"type": "CrossEntropyLoss", "config": {}},
                        optimizer=opt, training=meta.get("training") or {},
                        history=meta.get("history") or {},
                        class_names=meta.get("class_names") or [],
                        preprocessing=meta.get("preprocessing") or {},
                        extra=meta.get("extra") or {}, arrays=_prefixed(b.arrays, "extra/"))
        validate_checkpoint(ck)
        return ck
    except ModelFileError:
        raise
    except (NNCoreError, KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise ModelFileError(f"{path}: the content is inconsistent ({e})") from None


def validate_checkpoint(ck: Checkpoint) -> None:
    """Build network, loss and optimizer once, so that a checkpoint that loads also works."""
    net = ck.build_network()
    ck.build_loss()
    if ck.optimizer:
        opt = ck.build_optimizer(net)
        shapes = {k: p.shape for k, p in net.parameters()}
        for key, st in opt.state.items():
            for name, arr in st.items():
                if shapes.get(key) != arr.shape:
                    raise ModelFileError(f"optimizer state {key}/{name} does not match the "
                                         f"network")
