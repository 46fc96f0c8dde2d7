"""Download MNIST and Fashion-MNIST where the machine is online.

    folder = download("fashion-mnist", progress=lambda name, done, total: print(name, done, total))
    ds = load_dataset("fashion-mnist")          # now found in data_home()/fashion-mnist

Safe to interrupt: each file is written to a hidden temporary file beside its target and renamed
only once it is complete and its checksum is right, so a file of the final name is always whole.
Files already present with the right checksum are not fetched again.

The checksums are SHA-256 of the decompressed IDX content, not of the .gz files: mirrors and
distributions recompress the files (the built-in copy and Debian's package both did), while the
numbers inside are the same everywhere.

``progress(file_name, done_bytes, total_bytes_or_None)`` is called as bytes arrive; it may return
False to cancel (DownloadCancelled, nothing is kept).
"""
from __future__ import annotations

import hashlib
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import DataError
from .catalog import data_home
from .idx import GZIP_MAGIC, gunzip


class DownloadCancelled(DataError):
    """The progress callback asked to stop; no partial file was kept."""


@dataclass(frozen=True)
class DownloadSpec:
    """Where a data set's files can be fetched and what their content must hash to."""
    name: str
    mirrors: tuple[str, ...]               # base URLs, tried in order
    files: dict                            # file name -> SHA-256 (hex) of the IDX content


MNIST = DownloadSpec("mnist", (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
), {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
})

FASHION_MNIST = DownloadSpec("fashion-mnist", (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
), {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
})

DOWNLOADS = {"mnist": MNIST, "fashion-mnist": FASHION_MNIST}
CHUNK = 1 << 16


def content_sha256(data: bytes, name="the data") -> str:
    """SHA-256 of the content: of the gunzipped bytes if ``data`` is gzip."""
    if data[:2] == GZIP_MAGIC:
        data = gunzip(data, name)
    return hashlib.sha256(data).hexdigest()


def _file_ok(path: Path, digest: str) -> bool:
    try:
        return content_sha256(path.read_bytes(), path) == digest
    except (OSError, DataError):
        return False


def download(name, folder=None, *, progress=None, timeout: float = 30.0,
             force: bool = False) -> Path:
    """Fetch the files of ``name`` ("mnist", "fashion-mnist" or a DownloadSpec) into ``folder``
    (default data_home()/name) and return the folder. Raises DataError if a file cannot be had
    from any mirror, with what each mirror answered."""
    spec = DOWNLOADS.get(name) if isinstance(name, str) else name
    if not isinstance(spec, DownloadSpec):
        raise DataError(f"cannot download {name!r}: expected one of {', '.join(DOWNLOADS)}")
    folder = Path(folder).expanduser() if folder is not None else data_home() / spec.name
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{folder}: cannot create the folder ({e.strerror or e})") from None
    try:
        _download_files(spec, folder, progress, timeout, force)
    except BaseException:
        if created:
            try:
                folder.rmdir()          # only if still empty: nothing else is touched
            except OSError:
                pass
        raise
    return folder


def _download_files(spec, folder, progress, timeout, force):
    for file_name, digest in spec.files.items():
        dest = folder / file_name
        if not force and dest.exists() and _file_ok(dest, digest):
            if progress is not None:
                size = dest.stat().st_size
                progress(file_name, size, size)
            continue
        failures = []
        for base in spec.mirrors:
            url = base.rstrip("/") + "/" + file_name
            try:
                download_file(url, dest, sha256=digest, progress=progress, timeout=timeout)
                break
            except DownloadCancelled:
                raise
            except DataError as e:
                failures.append(str(e))
        else:
            offline = all("cannot connect" in f or "no answer" in f for f in failures)
            hint = (" This computer seems to be offline: connect it, or copy the files by hand "
                    f"into {folder}." if offline else "")
            raise DataError(f"could not download {file_name}: " + "; ".join(failures) + "."
                            + hint)


def download_file(url: str, dest, *, sha256: str | None = None, progress=None,
                  timeout: float = 30.0) -> Path:
    """Fetch ``url`` into ``dest`` through a temporary file; check the content's SHA-256."""
    dest = Path(dest)
    if urlsplit(url).scheme not in ("http", "https"):
        raise DataError(f"{url}: only http and https addresses can be downloaded")
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            done, total = _fetch(url, out, dest.name, progress, timeout)
            out.flush()
            os.fsync(out.fileno())
        if total is not None and done != total:
            raise DataError(f"{url}: the download was cut off after {done:,} of {total:,} bytes")
        if sha256 is not None:
            got = content_sha256(Path(tmp).read_bytes(), url)
            if got != sha256.lower():
                raise DataError(f"{url}: checksum mismatch (SHA-256 of the content is {got}, "
                                f"expected {sha256}): the file is damaged or not the expected "
                                f"one, and was not kept")
        os.replace(tmp, dest)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return dest


def _fetch(url, out, file_name, progress, timeout):
    import urllib.error
    import urllib.request
    from http.client import HTTPException
    request = urllib.request.Request(url, headers={"User-Agent": "nn-studio"})
    done, total = 0, None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = response.length
            if progress is not None and progress(file_name, 0, total) is False:
                raise DownloadCancelled(f"download of {file_name} cancelled")
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if progress is not None and progress(file_name, done, total) is False:
                    raise DownloadCancelled(f"download of {file_name} cancelled")
    except urllib.error.HTTPError as e:
        raise DataError(f"{url}: the server answered {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise DataError(f"{url}: no answer within {timeout:g} s") from None
        raise DataError(f"{url}: cannot connect ({reason})") from None
    except (socket.timeout, TimeoutError):
        raise DataError(f"{url}: no answer within {timeout:g} s") from None
    except (HTTPException, ConnectionError) as e:
        raise DataError(f"{url}: the connection failed ({type(e).__name__}: {e})") from None
    return done, total
