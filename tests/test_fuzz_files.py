"""Fuzz: mutated, truncated, empty, foreign and newer-version files given to ``nncore.io.load``
raise only ModelFileError with a plain message — or, when a change leaves a valid file behind
(possible only if the checksum is recomputed), load completely and work."""
import hashlib
import json
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nncore import CrossEntropyLoss, DataError, ModelFileError, Network, io
from nncore.optim import Adam
from nncore import TrainingError
from nncore.train import Diverged, Trainer

FUZZ = settings(max_examples=700, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

SPEC = {"input_shape": [1, 4, 4], "layers": [
    {"type": "Conv2D", "filters": 2}, {"type": "BatchNorm"}, {"type": "ReLU"},
    {"type": "Flatten"}, {"type": "Dropout", "rate": 0.2}, {"type": "Dense", "units": 3},
    {"type": "Softmax"}]}
X = np.random.default_rng(0).standard_normal((12, 1, 4, 4)).astype(np.float32)
Y = np.arange(12) % 3


def _files():
    net = Network.from_spec(SPEC, seed=0)
    trainer = Trainer(net, CrossEntropyLoss(), Adam(net, lr=0.01), X, Y, X[:4], Y[:4],
                      batch_size=5)
    trainer.run_epoch()
    trainer.step_batch()
    out = {"network": io._to_bundle(Network.from_spec(SPEC, seed=1), None),
           "checkpoint": io._to_bundle(trainer, None)}
    return {k: io.encode_bundle(b) for k, b in out.items()}


FILES = _files()


def _sign(body: bytes) -> bytes:
    return body + hashlib.sha256(body).digest()


def _load_or_model_file_error(tmp_path, data: bytes):
    path = tmp_path / "fuzz.nns"
    path.write_bytes(data)
    try:
        return io.load(path)
    except ModelFileError as e:
        msg = str(e)
        assert msg.startswith(str(path) + ": ")
        assert "Traceback" not in msg and len(msg) < 2000
        return None


def _works(obj):
    """Whatever loaded is complete: a network forwards, a checkpoint trains on."""
    with np.errstate(all="ignore"):     # edited weights may overflow
        _works_quietly(obj)


def _works_quietly(obj):
    if isinstance(obj, Network):
        assert obj.forward(X).shape == (12, *obj.output_shape)
        return
    assert isinstance(obj, io.Checkpoint)
    if not obj.optimizer:
        # A weights-only checkpoint (no optimizer recorded) is a valid file: its network is
        # complete, and continuing training from it is refused with a plain TrainingError.
        _works_quietly(obj.build_network())
        with pytest.raises(TrainingError, match="holds no optimizer"):
            Trainer.from_checkpoint(obj, X, Y)
        return
    try:
        trainer = Trainer.from_checkpoint(obj, X, Y, X[:4], Y[:4])
        trainer.step_batch()
    except (DataError, Diverged):
        pass   # the data do not fit the (edited) network, or edited weights blow up


# ---- byte-level mutations ---------------------------------------------------------------------
mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**9), st.integers(0, 7)),
    st.tuples(st.just("set"), st.integers(0, 10**9), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**9), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.integers(0, 10**9), st.integers(1, 64)),
    st.tuples(st.just("truncate"), st.integers(0, 10**9), st.just(0)),
    st.tuples(st.just("append"), st.just(0), st.binary(min_size=1, max_size=64)))


def _mutate(data: bytes, m) -> bytes:
    kind, pos, arg = m
    d = bytearray(data)
    pos %= max(len(d), 1)
    if not d and kind in ("flip", "set", "delete", "truncate"):
        return bytes(d)
    if kind == "flip":
        d[pos] ^= 1 << arg
    elif kind == "set":
        d[pos] = arg
    elif kind == "insert":
        d[pos:pos] = arg
    elif kind == "delete":
        del d[pos:pos + arg]
    elif kind == "truncate":
        del d[pos:]
    else:
        d += arg
    return bytes(d)


@FUZZ
@given(which=st.sampled_from(sorted(FILES)), mutations=st.lists(mutation, min_size=1,
                                                                 max_size=3),
       resign=st.booleans())
def test_mutated_files(tmp_path, which, mutations, resign):
    data = FILES[which]
    body = data[:-32] if resign else data
    for m in mutations:
        body = _mutate(body, m)
    bad = _sign(body) if resign else body
    obj = _load_or_model_file_error(tmp_path, bad)
    if obj is None:
        return
    # without a recomputed checksum, only an unchanged file may load
    assert resign or bad == data
    _works(obj)


# ---- structure-aware mutations behind a valid checksum -------------------------------------------
junk = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.integers() | st.text(max_size=6)
    | st.sampled_from([1e308, float("nan"), float("inf"), -0.0, 10**40, "float32", "SGD",
                       "Dense", "weights/0.W"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)


def _paths(obj, prefix=()):
    """Every path into a JSON value."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _header(data):
    _, version, n = struct.unpack_from("<8sIQ", data)
    return version, json.loads(data[20:20 + n]), data[20 + n:-32]


HEADERS = {k: _header(v) for k, v in FILES.items()}
PATHS = {k: list(_paths(h[1]))[1:] for k, h in HEADERS.items()}


@settings(FUZZ, max_examples=500)
@given(data=st.data(), which=st.sampled_from(sorted(FILES)))
def test_edited_headers_with_valid_checksum(tmp_path, data, which):
    version, header, blobs = HEADERS[which]
    header = json.loads(json.dumps(header))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(PATHS[which]))
        parent = header
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = data.draw(st.sampled_from(["replace", "replace", "delete"]))
            if action == "delete" and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(junk)
        except (KeyError, IndexError, TypeError):
            continue   # an earlier edit removed this path
    raw = json.dumps(header).encode()
    blob = _sign(struct.pack("<8sIQ", b"NNSTUDIO", version, len(raw)) + raw + blobs)
    obj = _load_or_model_file_error(tmp_path, blob)
    if obj is not None:
        _works(obj)


# ---- whole foreign files ------------------------------------------------------------------------
@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"PK\x03\x04", b"\x93NUMPY",
                               b"{\"input_shape\"", b"NNSTUDIO", b"NNSTUDI", b"\x00" * 8]),
       rest=st.binary(max_size=300))
def test_random_and_foreign_bytes(tmp_path, prefix, rest):
    assert _load_or_model_file_error(tmp_path, prefix + rest) is None


@pytest.mark.parametrize("version", [2, 7, 1000])
def test_newer_versions_say_so(tmp_path, version):
    data = bytearray(FILES["checkpoint"])
    struct.pack_into("<I", data, 8, version)
    for blob in (bytes(data), _sign(bytes(data[:-32])), bytes(data[:30])):
        path = tmp_path / "new.nns"
        path.write_bytes(blob)
        with pytest.raises(ModelFileError, match=f"newer version.*format {version}"):
            io.load(path)
