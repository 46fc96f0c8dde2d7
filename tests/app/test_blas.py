"""The training worker's BLAS threads (app.training.blas)."""
from __future__ import annotations

import pytest

from app.training import blas

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> set:
    return {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}


def test_training_gets_every_core_but_one_unless_the_user_chose():
    assert [blas.training_threads(c) for c in (1, 2, 4, 16)] == [1, 1, 3, 15]
    if not _blas_threads():
        pytest.skip("NumPy's BLAS is not one threadpoolctl knows")
    with threadpoolctl.threadpool_limits(limits=None):      # put back afterwards
        n = blas.limit_for_training(environ={})
        assert n == blas.training_threads() and _blas_threads() == {n}
        threadpoolctl.threadpool_limits(limits=2, user_api="blas")
        chosen = _blas_threads()
        assert blas.limit_for_training(environ={"OPENBLAS_NUM_THREADS": "2"}) is None
        assert _blas_threads() == chosen                    # the user's number stays
