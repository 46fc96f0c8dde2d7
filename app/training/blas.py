"""How many threads NumPy's BLAS (OpenBLAS) may use while the window trains.

OpenBLAS splits every matrix product over its threads and waits for the slowest. A BLAS
thread that loses its core — to another program, or to the window's own GUI thread, which
draws between batches — makes every product wait for it, and a training step becomes many
times slower (on this project's 2-core machine, with other jobs running, the default network
trained at ~3,000 samples/s with two BLAS threads against ~75,000 with one). The window always
has a second busy thread, its own; so training gets one BLAS thread per core but one, the last
core being left to drawing.

``limit_for_training()`` applies that at run time (threadpoolctl), so it holds however the app
was started (``nn-studio``, ``python -m app``, a script, the tests) — unless the user chose a
number in the environment (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ...): theirs wins.
"""
from __future__ import annotations

import os

from nncore.threads import every_core_but_one, user_chose_threads


def training_threads(cores: int | None = None) -> int:
    """BLAS threads for the training worker: every core but one (at least one), as
    ``nn-train`` also trains by default."""
    return every_core_but_one(cores)


def limit_for_training(environ=os.environ) -> int | None:
    """Set BLAS's threads for training (process-wide: BLAS has one pool). Returns the number
    set, or None if the user's environment decides or threadpoolctl is missing."""
    if user_chose_threads(environ):
        return None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:          # then BLAS keeps its default
        return None
    n = training_threads()
    threadpool_limits(limits=n, user_api="blas")
    return n
