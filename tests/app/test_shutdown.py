"""The worker and its threads are always joined: on close, on quitting the application, and
when a batch outlasts the wait (then as soon as it ends, at exit at the latest)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from nncore.layers.activations import Activation
from nncore.registry import LAYERS, register

from app.training import worker as worker_module

from .conftest import PLATFORM_NOISE
from .helpers import button, click


class Slow(Activation):
    """Passes values through, slowly (a quarter of a second per training batch)."""

    def f(self, x):
        return x

    def df(self, x, y):
        return np.ones_like(x)

    in_batch = threading.Event()        # set while a training batch is in its slow part

    def forward(self, x, training=False):
        if training:
            Slow.in_batch.set()
            time.sleep(0.25)
            Slow.in_batch.clear()
        return super().forward(x, training)


@pytest.fixture
def slow_layer():
    register("layer")(Slow)
    yield Slow
    LAYERS.pop("Slow", None)


@pytest.mark.qt_log_level_fail("WARNING")
@pytest.mark.qt_log_ignore(PLATFORM_NOISE)
def test_a_batch_longer_than_the_wait_is_joined_as_soon_as_it_ends(qtbot, window, slow_layer):
    spec = dict(window.state.spec)
    spec["layers"] = spec["layers"][:1] + [{"type": "Slow"}] + spec["layers"][1:]
    window.editor.reset(spec)
    qtbot.waitUntil(lambda: window.state.spec_check.ok)
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: window.state.history.steps >= 1, timeout=10_000)
    worker = window.controller.worker
    # between two batches the worker may be waiting for the window to draw (pacing.gate): a
    # quit then ends it at once; wait until a batch is in its slow part
    assert Slow.in_batch.wait(5)
    assert worker.shutdown(timeout_ms=20) is False          # in the middle of a slow batch
    assert worker in worker_module._UNJOINED and worker.is_alive()
    qtbot.waitUntil(lambda: not worker.is_alive(), timeout=5_000)
    qtbot.waitUntil(lambda: worker not in worker_module._UNJOINED, timeout=1_000)
    assert worker._thread.isFinished()
    window.close()                                          # nothing left to wait for


def test_quitting_the_application_closes_the_window_and_ends_its_threads(qtbot, window):
    from PySide6.QtCore import SIGNAL
    from PySide6.QtWidgets import QApplication
    assert QApplication.instance().receivers(SIGNAL("aboutToQuit()")) >= 1
    click(qtbot, button(window, "stepBatchButton"))
    writer = window.recovery.writer
    qtbot.waitUntil(lambda: writer.writes >= 1, timeout=10_000)     # it has worked
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: window.state.history.steps >= 3, timeout=10_000)
    # (not emitted here: pyqtgraph also tears its views down on aboutToQuit)
    window._on_app_about_to_quit()
    assert window._closed and window.controller.worker._thread.isFinished()
    assert not writer._thread.is_alive()
