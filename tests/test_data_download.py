"""Downloads, against fixture files served by a local HTTP server on 127.0.0.1 only.

The server is bounded: it answers only this module's requests, shuts down at the end of each
test, and a timer stops it after 30 s whatever happens. The real mirrors are never contacted.
"""
import gzip
import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from nncore import DataError
from nncore.data import (DownloadCancelled, DownloadSpec, download, download_file, load_dataset,
                         write_idx)
from nncore.data import downloads as download_module
from nncore.data.downloads import DOWNLOADS

from .data_helpers import tiny_images

FILES = {}


@pytest.fixture(scope="module")
def fixture_files(tmp_path_factory):
    """Four gzipped IDX files of a tiny 10-class, 28x28 'fashion-mnist'."""
    d = tmp_path_factory.mktemp("served")
    for split, n in (("train", 20), ("t10k", 10)):
        x, y = tiny_images(n, 28, 28, 10, seed=n)
        write_idx(d / f"{split}-images-idx3-ubyte.gz", x)
        write_idx(d / f"{split}-labels-idx1-ubyte.gz", y)
    out = {}
    for f in sorted(d.iterdir()):
        raw = f.read_bytes()
        out[f.name] = (raw, hashlib.sha256(gzip.decompress(raw)).hexdigest())
    return out


class Handler(BaseHTTPRequestHandler):
    """/ok/<name>: the file; /short/<name>: half of it, then the connection closes;
    /bad/<name>: a valid gzip file of other content; /corrupt/<name>: damaged gzip data;
    anything else: 404."""
    requests = []

    def do_GET(self):
        Handler.requests.append(self.path)
        _, mode, name = self.path.split("/", 2)
        if name not in FILES or mode not in ("ok", "short", "bad", "corrupt"):
            self.send_error(404, "Not Found")
            return
        body = FILES[name][0]
        if mode == "bad":
            content = bytearray(gzip.decompress(body))
            content[-1] ^= 1
            body = gzip.compress(bytes(content))
        elif mode == "corrupt":
            body = body[:-1] + bytes([body[-1] ^ 1])
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:len(body) // 2] if mode == "short" else body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server(fixture_files):
    FILES.clear()
    FILES.update(fixture_files)
    Handler.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    watchdog = threading.Timer(30.0, httpd.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        watchdog.cancel()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def _spec(base, *modes, name="fashion-mnist"):
    return DownloadSpec(name, tuple(f"{base}/{m}/" for m in modes),
                        {n: h for n, (_, h) in FILES.items()})


def test_download_fetches_verifies_and_then_loads(server, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSTUDIO_DATA", str(tmp_path))
    monkeypatch.setattr(download_module, "CHUNK", 1024)
    calls = []
    folder = download(_spec(server, "ok"), progress=lambda *a: calls.append(a))
    assert folder == tmp_path / "fashion-mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)   # no .part left behind
    for name, (raw, _) in FILES.items():
        assert (folder / name).read_bytes() == raw
        mine = [c for c in calls if c[0] == name]
        assert mine[0][1] == 0 and mine[-1][1] == mine[-1][2] == len(raw)
        assert [c[1] for c in mine] == sorted(c[1] for c in mine)
    assert max(len([c for c in calls if c[0] == n]) for n in FILES) > 3   # several chunks
    ds = load_dataset("fashion-mnist")
    assert ds.location == str(folder) and len(ds.x_train) == 20 and ds.class_names[0] == "T-shirt/top"
    n = len(Handler.requests)
    download(_spec(server, "ok"))                    # already there and right: nothing fetched
    assert len(Handler.requests) == n


def test_next_mirror_is_tried_after_a_404(server, tmp_path):
    download(_spec(server, "missing", "ok"), tmp_path)
    assert len(list(tmp_path.iterdir())) == 4
    assert sum(p.startswith("/missing/") for p in Handler.requests) == 4


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    with pytest.raises(DataError) as e:
        download(_spec(server, "bad"), tmp_path)
    assert "checksum mismatch" in str(e.value) and "/bad/" in str(e.value)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DataError, match="/corrupt/.*gzip data is damaged"):
        download(_spec(server, "corrupt"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_cut_off_transfer_keeps_nothing(server, tmp_path):
    name = sorted(FILES)[0]
    with pytest.raises(DataError, match="cut off|connection failed"):
        download_file(f"{server}/short/{name}", tmp_path / name, sha256=FILES[name][1])
    assert list(tmp_path.iterdir()) == []


def test_offline_gives_a_clear_error(tmp_path):
    with socket.socket() as s:          # a port on 127.0.0.1 that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = DownloadSpec("mnist", (f"http://127.0.0.1:{port}/",), {"a.gz": "0" * 64})
    with pytest.raises(DataError) as e:
        download(spec, tmp_path, timeout=5)
    msg = str(e.value)
    assert "could not download a.gz" in msg and "cannot connect" in msg and "offline" in msg
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DataError):
        download(spec, tmp_path / "new" / "folder", timeout=5)
    assert list(tmp_path.iterdir()) == [tmp_path / "new"]   # the folder it made is removed


def test_interrupting_leaves_the_old_file_whole(server, tmp_path, monkeypatch):
    monkeypatch.setattr(download_module, "CHUNK", 512)
    name = sorted(FILES)[0]
    (tmp_path / name).write_bytes(b"old content")

    def interrupt(file_name, done, total):
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download_file(f"{server}/ok/{name}", tmp_path / name, progress=interrupt)
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert (tmp_path / name).read_bytes() == b"old content"


def test_progress_returning_false_cancels(server, tmp_path):
    with pytest.raises(DownloadCancelled, match="cancelled"):
        download(_spec(server, "ok"), tmp_path, progress=lambda *a: False)
    assert list(tmp_path.iterdir()) == []


def test_known_downloads_match_the_builtin_files():
    """The MNIST checksums (of the IDX content) are those of the shipped files."""
    import resources
    from nncore.data.downloads import content_sha256
    for name, digest in DOWNLOADS["mnist"].files.items():
        assert content_sha256(resources.path("mnist", name).read_bytes()) == digest
    assert set(DOWNLOADS["fashion-mnist"].files) == set(DOWNLOADS["mnist"].files)
    with pytest.raises(DataError, match="only http and https"):
        download_file("file:///etc/passwd", "/tmp/x")
    with pytest.raises(DataError, match="cannot download 'cifar'"):
        download("cifar")
    assert np.all([u.startswith("http") for s in DOWNLOADS.values() for u in s.mirrors])
