"""Killing a process in the middle of saving leaves the old file or the new one, complete.

A forked child saves the same network to one path in a loop, each time with every weight set to
the loop counter k, and reports each finished save through a pipe. The parent SIGKILLs it after a
random delay, then loads the file: it must load, every weight must hold one single value, and
that value must be the last save the child reported finished or the one it was writing.
"""
import os
import random
import signal
import struct
import time

import pytest

from nncore import Network, io

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

# About 1 MB: a save takes milliseconds (encoding, then writing the temporary file).
SPEC = {"input_shape": [512], "layers": [{"type": "Dense", "units": 512}, {"type": "ReLU"},
                                         {"type": "Dense", "units": 10}]}
ROUNDS = 25


def _fill(net, value):
    for _, p in net.parameters():
        p[...] = value


def _child(path, net, fd):
    """Save forever; after each completed save write its counter to ``fd``."""
    try:
        os.write(fd, struct.pack("<i", -99))    # started
        k = 0
        while True:
            _fill(net, k)
            io.save(net, path)
            os.write(fd, struct.pack("<i", k))
            k += 1
    finally:
        os._exit(0)


def _read_exactly(fd, n) -> bytes:
    out = b""
    while len(out) < n:
        part = os.read(fd, n - len(out))
        assert part, "the saving child died on its own"
        out += part
    return out


def _read_all(fd) -> list[int]:
    chunks = b""
    while True:
        part = os.read(fd, 65536)
        if not part:
            break
        chunks += part
    return [v for (v,) in struct.iter_unpack("<i", chunks[:len(chunks) // 4 * 4])]


def test_kill_during_save_leaves_old_or_new_file(tmp_path):
    rnd = random.Random(1234)
    path = tmp_path / "model.nns"
    net = Network.from_spec(SPEC, seed=0)
    _fill(net, -1)
    io.save(net, path)
    t0 = time.perf_counter()
    for _ in range(3):
        io.save(net, path)
    save_time = (time.perf_counter() - t0) / 3
    previous = -1.0          # what the file holds before each round
    interrupted = 0
    for _ in range(ROUNDS):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:                      # the child
            os.close(r)
            _child(path, net, w)
        os.close(w)
        assert struct.unpack("<i", _read_exactly(r, 4)) == (-99,)
        # let 0 to 2 saves finish, then kill at a random moment of the next one
        early = [struct.unpack("<i", _read_exactly(r, 4))[0] for _ in range(rnd.randint(0, 2))]
        time.sleep(rnd.uniform(0.0, 1.3 * save_time))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        done = early + _read_all(r)
        os.close(r)
        litter = [p for p in tmp_path.iterdir() if p.name != path.name]
        interrupted += bool(litter)
        for p in litter:                  # a killed save leaves its temporary file behind
            assert p.name.startswith(".model.nns.") and p.name.endswith(".tmp")
            p.unlink()

        loaded = io.load(path)            # never ModelFileError
        assert loaded.to_spec() == net.to_spec()
        params = [p for _, p in loaded.parameters()]
        value = float(params[0].flat[0])
        assert all(p.min() == p.max() == value for p in params)   # one save's, not a mix
        # old: the last save reported finished (or the previous round's file if none was);
        # new: the save in progress, which may have been renamed before it was reported
        allowed = {done[-1], done[-1] + 1} if done else {previous, 0.0}
        assert value in allowed, (value, done[-3:], previous)
        previous = value
    assert interrupted >= 1, "no kill landed inside a save: the test tested nothing"
