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

import glob
import hashlib
import json
import math
import os
import struct
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelFileError, NNCoreError
from .hparams import SettingError, check_settings
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
def _bundle_parts(bundle: Bundle) -> list:
    """The file's content without its checksum, as pieces (bytes, and memoryviews of the arrays
    themselves where they already are contiguous little-endian: no copy of the weights)."""
    table, blobs, offset = [], [], 0
    for name, arr in bundle.arrays.items():
        arr = np.ascontiguousarray(arr)
        if arr.dtype.name not in _DTYPES:
            raise ValueError(f"cannot save array {name!r} of dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"), copy=False))
        data = memoryview(arr.reshape(-1)).cast("B")
        table.append({"name": name, "dtype": arr.dtype.name, "shape": list(arr.shape),
                      "offset": offset, "nbytes": data.nbytes})
        blobs.append(data)
        offset += data.nbytes
    header = json.dumps({"kind": bundle.kind, "meta": bundle.meta, "arrays": table},
                        allow_nan=True, separators=(",", ":")).encode("utf-8")
    return [_PREFIX.pack(MAGIC, FORMAT_VERSION, len(header)), header, *blobs]


def _with_digest(parts: list) -> list:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return parts + [digest.digest()]


def encode_bundle(bundle: Bundle) -> bytes:
    return b"".join(_with_digest(_bundle_parts(bundle)))


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux);
    elsewhere set and put back (a moment in which another thread could create a file)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _new_file_mode(path: Path) -> int:
    """The permissions a file written to ``path`` gets: those of the file it replaces, else
    what ``open()`` would give a new file (0o666 less the umask, e.g. 0o644): mkstemp makes
    its temporary file 0o600, readable by its owner only."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def atomic_write_bytes(path, data) -> None:
    """Write ``data`` (bytes, or a list of bytes-like pieces written one after the other) to
    ``path`` so that a crash at any moment leaves the old file or the new one, never a mix:
    temporary file in the same folder, fsync, rename, fsync the folder. The file gets the
    permissions of the one it replaces, or a new file's usual ones (0o666 less the umask)."""
    path = Path(path)
    parts = data if isinstance(data, list) else [data]
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            for part in parts:
                f.write(part)
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
    _remove_stale_temporaries(path)


#: A temporary file older than this was left by a save that was killed: safe to delete.
STALE_SECONDS = 600


def _remove_stale_temporaries(path: Path) -> None:
    """Delete ``.name.*.tmp`` files that killed saves of ``path`` left behind (recent ones may
    belong to a save still running in another process, so they stay)."""
    now = time.time()
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if now - leftover.stat().st_mtime > STALE_SECONDS:
                leftover.unlink()
        except OSError:
            pass


def write_bundle(path, bundle: Bundle) -> None:
    """Write ``bundle`` atomically, piece by piece (never the whole file in memory at once)."""
    atomic_write_bytes(path, _with_digest(_bundle_parts(bundle)))


def decode_bundle(data: bytes, name: str = "the file") -> Bundle:
    """Parse and fully validate a file's bytes; ModelFileError on any problem."""
    def bad(problem):
        return ModelFileError(f"{name}: {problem}")

    if len(data) == 0:
        raise bad("the file is empty")
    if data[:len(MAGIC)] != MAGIC[:len(data)]:
        raise bad("not an NN Studio file (it does not start with the NNSTUDIO signature)")
    if len(data) < _PREFIX.size:
        raise bad("the file is truncated")
    _, version, header_len = _PREFIX.unpack_from(data)
    if version > FORMAT_VERSION and version < 2**16:
        raise bad(f"made by a newer version of NN Studio (file format {version}; this version "
                  f"reads up to {FORMAT_VERSION}). Update NN Studio to open it.")
    if version < 1 or version > FORMAT_VERSION:
        raise bad("the file is damaged (its format version number is not valid)")
    if len(data) < _PREFIX.size + _DIGEST:
        raise bad("the file is truncated")
    body, digest = data[:-_DIGEST], data[-_DIGEST:]
    if hashlib.sha256(body).digest() != digest:
        raise bad("the file is damaged or truncated (its checksum does not match its content)")
    start = _PREFIX.size
    if header_len > len(body) - start:
        raise bad("the header is longer than the file")
    try:
        header = json.loads(body[start:start + header_len].decode("utf-8"))
    except (ValueError, RecursionError) as e:   # bad UTF-8 or JSON, absurdly long numbers
        raise bad(f"the header is not valid JSON ({e})") from None
    if not isinstance(header, dict) or header.get("kind") not in KINDS:
        raise bad("the header does not name a known kind of content")
    if not isinstance(header.get("meta"), dict) or not isinstance(header.get("arrays"), list):
        raise bad("the header lacks its metadata or array table")
    blob = memoryview(body)[start + header_len:]
    arrays = {}
    for entry in header["arrays"]:
        key, arr = _decode_array(entry, blob, bad)
        if key in arrays:
            raise bad(f"array {key!r} appears twice")
        arrays[key] = arr
    return Bundle(header["kind"], header["meta"], arrays)


def _decode_array(entry, blob, bad):
    try:
        name, dtype, shape = entry["name"], entry["dtype"], entry["shape"]
        offset, nbytes = entry["offset"], entry["nbytes"]
    except (TypeError, KeyError):
        raise bad("an entry of the array table is incomplete") from None
    if not isinstance(name, str) or not isinstance(dtype, str) or dtype not in _DTYPES:
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

    ``training`` holds plain settings (batch_size, epoch, step, ...) and, when saved from a
    Trainer, its exact position (random generator states, smoothed loss, ...) with the epoch's
    sample ``order``, so that ``Trainer.from_checkpoint`` continues bit for bit; ``extra`` is free
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
    order: np.ndarray | None = None     # the current epoch's sample order (from a Trainer)

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


def checkpoint_from_trainer(trainer, state=None, **fields) -> Checkpoint:
    """A Checkpoint of a ``nncore.train.Trainer``; ``fields`` fill class_names, extra, ...

    ``state``: a ``TrainState`` the trainer passed through (e.g. ``trainer.good_state``) to
    save instead of the current one; the history is then cut at that state's step."""
    opt = trainer.optimizer
    history = trainer.history
    if state is None:
        state = trainer.snapshot()
    else:
        history = history.copy()
        history.truncate(state.step, state.epoch)
    schedule = trainer.schedule
    training = {
        "batch_size": trainer.batch_size, "epoch": state.epoch, "batch": state.batch,
        "step": state.step, "base_lr": trainer.base_lr, "lr": state.lr,
        "shuffle": trainer.shuffle, "divergence_factor": trainer.divergence_factor,
        "initial_loss": state.initial_loss, "smoothed_loss": state.smoothed_loss,
        "epoch_sums": list(state.epoch_sums), "net_rng": state.net_rng,
        "shuffle_rng": state.shuffle_rng,
        "schedule": None if schedule is None else {"type": type(schedule).__name__,
                                                   "config": schedule.get_config()}}
    return Checkpoint(
        spec=trainer.net.to_spec(), weights=state.weights, dtype=trainer.net.dtype.name,
        loss={"type": type(trainer.loss).__name__, "config": trainer.loss.get_config()},
        optimizer={"type": type(opt).__name__, "config": opt.get_config(),
                   "state": state.optimizer},
        training=training, history=history.to_dict(), order=state.order, **fields)


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
    if obj.order is not None:
        arrays["train/order"] = np.asarray(obj.order, dtype=np.int64)
    meta = {"spec": obj.spec, "dtype": obj.dtype, "loss": obj.loss, "optimizer": opt,
            "training": obj.training, "history": obj.history, "class_names": obj.class_names,
            "preprocessing": obj.preprocessing, "extra": obj.extra}
    return Bundle(kind or "checkpoint", meta, arrays)


def save(obj, path, kind: str | None = None) -> None:
    """Save a Network, a Trainer or a Checkpoint to ``path`` atomically."""
    write_bundle(path, _to_bundle(obj, kind))


def _prefixed(arrays, prefix):
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


# Anything a crafted (checksum-valid) file can make the builders raise; all become ModelFileError.
_CONTENT_ERRORS = (NNCoreError, KeyError, TypeError, ValueError, AttributeError, IndexError,
                   ArithmeticError, RecursionError)


def load(path):
    """Load a file written by ``save``: a Network for a network file, else a Checkpoint.

    Everything is validated, and the network is rebuilt and its weights set before anything is
    returned; any problem raises ModelFileError."""
    b = read_bundle(path)
    try:
        return _from_bundle(b)
    except ModelFileError as e:
        raise ModelFileError(f"{path}: the content is not valid ({e})") from None
    except MemoryError:
        raise ModelFileError(f"{path}: the network is too large for this computer's "
                             f"memory") from None
    except _CONTENT_ERRORS as e:
        raise ModelFileError(f"{path}: the content is not valid ({e})") from None


def _from_bundle(b: Bundle):
    weights = _prefixed(b.arrays, "weights/")
    meta = b.meta
    _need(isinstance(meta.get("spec"), dict), "the network description is missing")
    _need(isinstance(meta.get("dtype", "float32"), str), "the number type is not valid")
    if b.kind == "network":
        ck = Checkpoint(spec=meta["spec"], weights=weights, dtype=meta.get("dtype", "float32"))
        return ck.build_network()
    opt = meta.get("optimizer") or {}
    _need(isinstance(opt, dict), "the optimizer settings are not an object")
    opt = dict(opt)
    if "state" in opt:
        st = opt["state"]
        _need(isinstance(st, dict) and isinstance(st.get("config", {}), dict),
              "the optimizer state is not valid")
        opt["state"] = {"t": st.get("t"), "config": st.get("config", {}),
                        "buffers": _prefixed(b.arrays, "optimizer/")}
    orders = _prefixed(b.arrays, "train/")
    ck = Checkpoint(spec=meta["spec"], weights=weights, dtype=meta.get("dtype", "float32"),
                    loss=meta.get("loss") or {"type": "CrossEntropyLoss", "config": {}},
                    optimizer=opt, training=meta.get("training") or {},
                    history=meta.get("history") or {},
                    class_names=meta.get("class_names") or [],
                    preprocessing=meta.get("preprocessing") or {},
                    extra=meta.get("extra") or {}, arrays=_prefixed(b.arrays, "extra/"),
                    order=orders.get("order"))
    validate_checkpoint(ck)
    return ck


def _need(condition, problem: str) -> None:
    if not condition:
        raise ModelFileError(problem)


def _is_int(v, lo=0) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= lo


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_settings(what: str, cls, config) -> None:
    try:
        check_settings(cls, config)
    except SettingError as e:
        raise ModelFileError(f"{what} {e}" if e.unknown else f"{what} setting {e}") from None


def _check_rng_state(state, what) -> None:
    try:
        np.random.default_rng().bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError):
        raise ModelFileError(f"the {what} random generator state is not valid") from None


def validate_checkpoint(ck: Checkpoint) -> None:
    """Check every part and build network, loss and optimizer once, so that a checkpoint that
    loads also works (and continues training, with ``Trainer.from_checkpoint``)."""
    net = ck.build_network()
    _need(isinstance(ck.loss, dict) and isinstance(ck.loss.get("type"), str),
          "the loss is not described")
    _check_settings("loss", get("loss", ck.loss["type"]), ck.loss.get("config", {}))
    ck.build_loss()
    if ck.optimizer:
        _need(isinstance(ck.optimizer.get("type"), str), "the optimizer is not described")
        opt_cls = get("optimizer", ck.optimizer["type"])
        _check_settings("optimizer", opt_cls, ck.optimizer.get("config", {}))
        state = ck.optimizer.get("state")
        if state is not None:
            _need(_is_int(state["t"]), "the optimizer step count is not valid")
            _check_settings("optimizer", opt_cls, state["config"])
        opt = ck.build_optimizer(net)
        shapes = {k: p for k, p in net.parameters()}
        for key, st in opt.state.items():
            for name, arr in st.items():
                p = shapes.get(key)
                if p is None or p.shape != arr.shape or p.dtype != arr.dtype:
                    raise ModelFileError(f"optimizer state {key}/{name} does not match the "
                                         f"network")
        if opt.state:
            expected = _buffer_names(ck, opt_cls)
            for key, st in opt.state.items():
                if set(st) != expected.get(key, set()):
                    raise ModelFileError(f"optimizer state {key} holds "
                                         f"{', '.join(sorted(st)) or 'nothing'}; "
                                         f"{ck.optimizer['type']} keeps "
                                         f"{', '.join(sorted(expected.get(key, ()))) or 'nothing'}")
    _need(isinstance(ck.class_names, list)
          and all(isinstance(c, str) for c in ck.class_names), "the class names are not valid")
    _need(isinstance(ck.extra, dict), "the application settings are not an object")
    _need(isinstance(ck.preprocessing, dict), "the preprocessing is not an object")
    if ck.preprocessing:
        from .data import Preprocessing
        Preprocessing.from_dict(ck.preprocessing)
    _need(isinstance(ck.history, dict), "the history is not an object")
    from .train import History
    History.from_dict(ck.history)
    _check_training(ck)


def _buffer_names(ck: Checkpoint, opt_cls) -> dict[str, set]:
    """The buffers ``opt_cls`` keeps per weight array, found by letting a fresh one (on a copy
    of the network) take a step."""
    net = ck.build_network()
    for layer in net.layers:
        for g in layer.grads.values():
            g[...] = 0
    ref = opt_cls(net, **ck.optimizer.get("config", {}))
    ref.step()
    return {key: set(st) for key, st in ref.state.items()}


def _check_training(ck: Checkpoint) -> None:
    t = ck.training
    _need(isinstance(t, dict), "the training settings are not an object")
    for name in ("batch_size",):
        if name in t:
            _need(_is_int(t[name], 1), f"training setting {name!r} is not valid")
    for name in ("epoch", "batch", "step"):
        if name in t:
            _need(_is_int(t[name]), f"training setting {name!r} is not valid")
    for name in ("base_lr", "lr", "divergence_factor"):
        if name in t:
            _need(_is_number(t[name]) and t[name] > 0, f"training setting {name!r} is not valid")
    for name in ("initial_loss", "smoothed_loss"):
        if t.get(name) is not None:
            _need(_is_number(t[name]), f"training setting {name!r} is not valid")
    if "shuffle" in t:
        _need(isinstance(t["shuffle"], bool), "training setting 'shuffle' is not valid")
    if "epoch_sums" in t:
        sums = t["epoch_sums"]
        _need(isinstance(sums, list) and len(sums) == 4 and all(_is_number(v) for v in sums)
              and _is_int(sums[2]), "training setting 'epoch_sums' is not valid")
    for name in ("net_rng", "shuffle_rng"):
        if name in t:
            _check_rng_state(t[name], name.split("_")[0])
    if t.get("schedule") is not None:
        sch = t["schedule"]
        _need(isinstance(sch, dict) and isinstance(sch.get("type"), str),
              "the learning-rate schedule is not described")
        cls = get("schedule", sch["type"])
        _check_settings("schedule", cls, sch.get("config", {}))
    if ck.order is not None:
        o = ck.order
        _need(o.ndim == 1 and o.dtype.kind == "i" and np.array_equal(np.sort(o),
                                                                      np.arange(len(o))),
              "the sample order is not a permutation")
        if "batch" in t and "batch_size" in t:
            _need(t["batch"] * t["batch_size"] < max(len(o), 1) or t["batch"] == 0,
                  "the position in the epoch is past its end")
