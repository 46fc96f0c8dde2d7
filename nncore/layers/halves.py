"""Element-wise work on the two halves of a batch at once, on two cores.

Matrix products run on every core already (the BLAS library has its own threads), but every
other NumPy operation — ReLU, pooling, the im2col copies — runs on one core. NumPy releases
Python's GIL while it computes, so two Python threads, each on its own half of the batch, do
use two cores::

    y = np.empty_like(x)
    over_batch(len(x), lambda s: np.maximum(x[s], 0, out=y[s]), x.size)

``work(s)`` must only touch the samples ``s`` (a slice of the batch axis; Conv2D splits its
copies over the channels instead, the outermost axis of its memory): then the halves never
write the same memory and the result is exactly the serial one. Small jobs run serially (handing
work to a thread costs tens of microseconds).

It is **off by default** (one thread): turn it on with ``set_threads(2)`` or the environment
variable ``NNCORE_THREADS=2``. On the 2-core machine this was written on, shared with other
jobs, it never clearly helped and sometimes hurt badly: after each matrix product OpenBLAS's
worker thread keeps spinning for a while on the second core, and the helper thread here has to
fight it for that core. On a quiet machine with cores to spare it may pay off: measure with
``python -m nncore.bench`` both ways before turning it on.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

#: Below this many array elements a job runs in one piece.
MIN_ELEMENTS = 400_000


def _default_threads() -> int:
    value = os.environ.get("NNCORE_THREADS", "").strip()
    if value.isdigit() and int(value) >= 2 and (os.cpu_count() or 1) >= 2:
        return 2
    return 1


_threads = _default_threads()
_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def set_threads(n: int) -> None:
    """Use ``n`` threads (1 or 2) for element-wise layer work; 1 turns the splitting off."""
    global _threads
    _threads = 2 if n >= 2 else 1


def get_threads() -> int:
    return _threads


def _helper() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(1, thread_name_prefix="nncore-half")
        return _pool


def _forget_helper_in_child() -> None:
    """A forked child has no helper thread (only its parent's record of it): start afresh."""
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helper_in_child)


def over_batch(n: int, work, size: int) -> None:
    """Call ``work(slice)`` on the batch's two halves in parallel, or on ``slice(0, n)`` when
    ``size`` (the number of elements the job touches) is small or splitting is off."""
    if _threads < 2 or n < 2 or size < MIN_ELEMENTS or \
            threading.current_thread().name.startswith("nncore-half"):
        work(slice(0, n))
        return
    half = n // 2
    second = _helper().submit(work, slice(half, n))
    try:
        work(slice(0, half))
    finally:
        second.result()


def over_halves(a, work, size: int) -> None:
    """``over_batch`` for work that treats every sample and every channel of a batch ``a``
    (N, C, ...) on its own, such as ReLU and pooling: it splits whichever of the two axes is
    outermost in ``a``'s memory (the channels when a Conv2D made it, see conv.py), so that
    each half is one block of memory. ``work(index)`` gets the index of its half, for
    ``a[index]``: ``(slice,)`` or ``(slice(None), slice)``."""
    if a.ndim > 1 and a.strides[1] > a.strides[0]:
        over_batch(a.shape[1], lambda s: work((slice(None), s)), size)
    else:
        over_batch(len(a), lambda s: work((s,)), size)
