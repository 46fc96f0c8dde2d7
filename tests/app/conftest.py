"""Fixtures for the window tests: a tiny synthetic "mnist" instead of the real one, settings in a
temporary file, and the real main window, shown offscreen."""
from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from app.layout import use_offscreen_screen  # noqa: E402

use_offscreen_screen()      # a 1920x1080 screen (Qt's offscreen default, 800x800, is smaller
                            # than the window, which would shrink to fit it)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

#: Messages the offscreen platform itself prints; they say nothing about the app.
PLATFORM_NOISE = r"This plugin does not support|propagateSizeHints"


def bar_digits(n: int, seed: int):
    """``n`` 28x28 uint8 images of 10 classes: class k is a bright horizontal bar at a height
    of its own, plus noise and a small vertical jitter. An MLP learns it in a few batches."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    rows = 3 + 2 * y + rng.integers(0, 2, n)
    x = rng.normal(0.1, 0.1, (n, 28, 28))
    for i, r in enumerate(rows):
        x[i, r:r + 2, 4:24] += 0.8
    return (np.clip(x, 0, 1) * 255).astype(np.uint8)[:, None], y.astype(np.int64)


@pytest.fixture(autouse=True)
def _settings_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("NN_STUDIO_SETTINGS", str(tmp_path / "nn-studio.ini"))
    monkeypatch.setenv("NN_STUDIO_RECOVERY", str(tmp_path / "recovery.nnproj"))
    monkeypatch.setenv("NN_STUDIO_PLUGINS", str(tmp_path / "plugins"))


def _tiny_loader():
    from nncore import data
    from nncore.data import Dataset
    real = data.load_dataset
    x_tr, y_tr = bar_digits(600, seed=1)
    x_te, y_te = bar_digits(200, seed=2)

    def load(name="mnist", **options):
        if str(name).lower() == "mnist":
            return Dataset("mnist", x_tr, y_tr, x_te, y_te, [str(i) for i in range(10)])
        return real(name, **options)
    return load


@pytest.fixture
def tiny_mnist(monkeypatch):
    """The worker loads this (600 training, 200 test images) whenever "mnist" is asked for;
    returns the training images and labels."""
    monkeypatch.setattr("app.training.worker.nn_data.load_dataset", _tiny_loader())
    return bar_digits(600, seed=1)


@pytest.fixture
def gc_in_gui_thread():
    """Garbage collected in the GUI thread only, as the main window does it (pyqtgraph's
    GarbageCollector), for tests of panels on their own.

    Python's cyclic collector runs in whichever thread happens to allocate. The inspection
    panels run their jobs in superqt's thread pool, so a widget left in a reference cycle by
    an earlier test could be destroyed there, off the GUI thread (Qt says "QBasicTimer::stop:
    Failed. Possibly trying to stop from a different thread", and it can crash) — more likely
    under load, when the jobs run longer. So: the pool idle and garbage collected here before
    the test, no automatic collection during it, and the same after it."""
    from PySide6.QtCore import QThreadPool
    pool = QThreadPool.globalInstance()
    pool.waitForDone(30_000)
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        pool.waitForDone(30_000)
        gc.enable()
        gc.collect()


def _launch(qtbot):
    from PySide6.QtWidgets import QApplication

    from app import style
    from app.main_window import MainWindow
    style.apply(QApplication.instance())
    w = MainWindow()
    w.show()
    qtbot.waitUntil(lambda: w.state.data is not None and w.state.snapshot is not None,
                    timeout=15_000)
    return w


@pytest.fixture
def window(qtbot, tiny_mnist):
    """The main window as launched (default network, data loaded), closed after the test."""
    w = _launch(qtbot)
    qtbot.addWidget(w)
    yield w
    w.close()
    assert not w.controller.worker.is_alive()
    gc.collect()            # the window's garbage goes now, in this (the GUI) thread


@pytest.fixture(scope="module")
def _shared_window(qapp, tmp_path_factory):
    """One window for tests that only edit the network (launching takes a second or two)."""
    from pytestqt.qtbot import QtBot

    mp = pytest.MonkeyPatch()
    shared = tmp_path_factory.mktemp("shared")
    mp.setenv("NN_STUDIO_SETTINGS", str(shared / "s.ini"))
    mp.setenv("NN_STUDIO_RECOVERY", str(shared / "recovery.nnproj"))
    mp.setenv("NN_STUDIO_PLUGINS", str(shared / "plugins"))
    mp.setattr("app.training.worker.nn_data.load_dataset", _tiny_loader())
    w = _launch(QtBot(qapp))
    yield w
    w.close()
    w.deleteLater()
    mp.undo()


@pytest.fixture
def builder_window(_shared_window, qtbot):
    """The shared window, back to the seed network with an empty undo history."""
    from app.defaults import default_spec
    w = _shared_window
    w.editor.reset(default_spec())
    qtbot.waitUntil(lambda: w.state.spec_check.ok)
    return w
