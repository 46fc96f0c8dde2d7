"""Training from the real window: Train, Pause, Step, Rewind, Stop, live settings, faults, close."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressBar, QWidget

from nncore.layers.activations import Activation
from nncore.registry import LAYERS, register

from .conftest import PLATFORM_NOISE
from .helpers import button, click, find, has_message_box, message_boxes, type_into


def settings_field(window, name):
    return find(window, QWidget, name)


def loss_points(window) -> int:
    x = window.loss_view.raw.xData
    return 0 if x is None else len(x)


def set_small_run(qtbot, window, epochs: int, per_class: int | None = None):
    type_into(qtbot, settings_field(window, "epochsField"), str(epochs))
    if per_class is not None:
        type_into(qtbot, settings_field(window, "subsetField"), str(per_class))
    assert window.state.config.epochs == epochs


def test_train_on_a_small_subset_until_the_loss_falls(qtbot, window, tmp_path):
    set_small_run(qtbot, window, epochs=4, per_class=30)       # 300 images: 5 batches/epoch
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "finished", timeout=30_000)
    h = window.state.history
    assert h.steps == 20 and len(h["loss"]) == 20
    qtbot.waitUntil(lambda: loss_points(window) == 20)           # drawn a moment later
    first, last = h["loss"].y[:3].mean(), h["loss"].y[-3:].mean()
    assert last < 0.5 * first, (first, last)
    assert len(h["val_accuracy"]) == 4 and h["val_accuracy"].y[-1] > 0.8
    qtbot.waitUntil(lambda: len(window.accuracy_view.val.xData) == 4)
    assert len(window.state.epochs) == 4 and window.state.epochs[-1].evaluation is not None
    progress = find(window, QProgressBar, "epochProgress")
    assert progress.maximum() == progress.value() == 5
    assert progress.format() == "Done: 4 of 4 epochs"
    assert window.state.views.tiles is not None and window.state.views.tiles.tiles == 128
    assert "samples/s" in window.statusBar().findChild(QWidget, "status_speed").text()
    assert button(window, "trainButton").text() == "Train"
    # the plots export as PNG and CSV (pyqtgraph's exporters)
    window.loss_view.export_png(tmp_path / "loss.png")
    window.loss_view.export_csv(tmp_path / "loss.csv")
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    rows = (tmp_path / "loss.csv").read_text().splitlines()
    assert len(rows) == 21                                     # a header and 20 batches
    first = [float(v) for v in rows[1].split(",")[:2]]
    assert first == pytest.approx([1.0, h["loss"].y[0]], rel=1e-5)


def test_step_batch_trains_exactly_one_batch_and_adds_one_point(qtbot, window):
    step = button(window, "stepBatchButton")
    for n in (1, 2, 3):
        click(qtbot, step)
        qtbot.waitUntil(lambda: window.state.history.steps == n and loss_points(window) == n
                        and window.state.run_state == "paused")
        qtbot.wait(60)           # nothing else arrives: still exactly n
        assert window.state.history.steps == n and loss_points(window) == n
        assert window.state.progress.batch == n
    # the inspector's reports of the stepped batch: one per layer
    assert window.state.inspection is not None and len(window.state.inspection) == 5
    assert button(window, "trainButton").text() == "Resume"
    # a changed network cannot resume this run: the button says what pressing it does
    window.editor.move_layer(2, 3)                     # ReLU below the second Dense
    qtbot.waitUntil(lambda: button(window, "trainButton").text() == "Train")
    window.editor.undo()
    qtbot.waitUntil(lambda: button(window, "trainButton").text() == "Resume")


def test_pause_and_resume_with_space(qtbot, window):
    set_small_run(qtbot, window, epochs=200)
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: window.state.history.steps > 5, timeout=10_000)
    assert window.state.run_state == "running"
    assert not button(window, "stepBatchButton").isEnabled()
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key_Space)                   # Space: pause
    qtbot.waitUntil(lambda: window.state.run_state == "paused")
    paused_at = window.state.history.steps
    qtbot.wait(250)
    assert window.state.history.steps == paused_at
    assert window.state.progress.step == paused_at
    click(qtbot, button(window, "trainButton"))             # Resume
    qtbot.waitUntil(lambda: window.state.history.steps > paused_at + 5, timeout=10_000)
    click(qtbot, button(window, "stopButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "finished")


def test_rewind_returns_to_the_pause_and_replays_identically(qtbot, window):
    step = button(window, "stepBatchButton")
    for n in (1, 2, 3):
        click(qtbot, step)
        qtbot.waitUntil(lambda: window.state.history.steps == n)
    first = window.state.history["loss"].y.copy()
    weights = {k: v.copy() for k, v in window.state.snapshot.weights.items()}
    click(qtbot, button(window, "rewindButton"))
    qtbot.waitUntil(lambda: window.state.history.steps == 0 and loss_points(window) == 0)
    for n in (1, 2, 3):
        click(qtbot, step)
        qtbot.waitUntil(lambda: window.state.history.steps == n)
    qtbot.waitUntil(lambda: window.state.snapshot.step == 3)
    np.testing.assert_array_equal(window.state.history["loss"].y, first)
    for k, v in weights.items():
        np.testing.assert_array_equal(window.state.snapshot.weights[k], v)


def test_learning_rate_changes_while_training_runs(qtbot, window):
    set_small_run(qtbot, window, epochs=200)
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: window.state.history.steps > 3, timeout=10_000)
    lr = settings_field(window, "learningRateField")
    assert lr.isEnabled() and not settings_field(window, "batchSizeField").isEnabled()
    type_into(qtbot, lr, "0.0125")
    qtbot.waitUntil(lambda: window.state.progress.lr == 0.0125, timeout=10_000)
    assert window.state.run_state == "running"
    click(qtbot, button(window, "stopButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "finished")


class Faulty(Activation):
    """Passes values through; raises MemoryError in training while ``fail`` is set."""
    fail = True

    def f(self, x):
        return x

    def df(self, x, y):
        return np.ones_like(x)

    def forward(self, x, training=False):
        if training and Faulty.fail:
            raise MemoryError("cannot allocate 12.0 GiB for an array")
        return super().forward(x, training)


@pytest.fixture
def faulty_layer():
    register("layer")(Faulty)
    Faulty.fail = True
    yield Faulty
    LAYERS.pop("Faulty", None)


def test_a_worker_exception_shows_a_message_and_training_can_restart(qtbot, faulty_layer,
                                                                   window):
    from .helpers import double_click_palette
    palette = window.palette
    palette.refresh()
    window.editor.set_current(0)
    double_click_palette(qtbot, palette, "Faulty")          # after Flatten
    assert window.state.spec["layers"][1] == {"type": "Faulty"}
    qtbot.waitUntil(lambda: button(window, "trainButton").isEnabled())
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: has_message_box("failureDialog"), timeout=10_000)
    box = message_boxes("failureDialog")[0]
    assert box.windowTitle() == "Out of memory"
    assert "MemoryError" in box.detailedText() and "cannot allocate" in box.detailedText()
    qtbot.waitUntil(lambda: window.state.run_state in ("idle", "paused"))
    box.close()
    # the window still works: edit, then train again once the fault is gone
    assert button(window, "trainButton").isEnabled()
    Faulty.fail = False
    set_small_run(qtbot, window, epochs=1, per_class=20)
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "finished", timeout=20_000)
    assert window.state.history.steps > 0


def test_divergence_pauses_explains_and_rewinds_to_the_last_good_state(qtbot, window):
    set_small_run(qtbot, window, epochs=50)
    type_into(qtbot, settings_field(window, "learningRateField"), "1000")
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: has_message_box("failureDialog"), timeout=20_000)
    box = message_boxes("failureDialog")[0]
    assert box.windowTitle() == "Training diverged"
    assert "learning rate" in (box.text() + box.informativeText()).lower()
    # the details say what helps (reason, numbers), not the worker's internals
    details = box.detailedText()
    assert "Loss of that batch" in details and "Optimizer: SGD (lr 1000" in details
    assert "Traceback" not in details and "queue" not in details
    assert window.state.run_state == "paused"           # training stopped before the message
    assert window.state.history.steps > 0
    rewind = box.findChild(QWidget, "rewindGoodButton")
    click(qtbot, rewind)
    # back to the last good state: here the start, as no epoch had finished
    qtbot.waitUntil(lambda: window.state.history.steps == 0 and loss_points(window) == 0)
    assert window.state.snapshot.step == 0
    assert all(np.isfinite(v).all() for v in window.state.snapshot.weights.values())


def test_rewind_to_the_good_state_never_jumps_into_steps_rewound_away(qtbot, window):
    """Step a whole epoch (its end is a good state), rewind to where stepping began, then
    diverge: the last good state is that start, not the end of the epoch thrown away."""
    set_small_run(qtbot, window, epochs=50)
    step = button(window, "stepBatchButton")
    for n in (1, 2, 3):
        click(qtbot, step)
        qtbot.waitUntil(lambda: window.state.history.steps == n)
    click(qtbot, button(window, "stepEpochButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "paused"
                    and window.state.progress.epoch == 1, timeout=15_000)
    assert window.state.snapshot.step == 10                   # the first epoch's end
    click(qtbot, button(window, "rewindButton"))              # back to batch 0: one epoch
    qtbot.waitUntil(lambda: window.state.snapshot.step == 0)
    type_into(qtbot, settings_field(window, "learningRateField"), "1e6")
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: has_message_box("failureDialog"), timeout=20_000)
    box = message_boxes("failureDialog")[0]
    assert window.state.history.steps < 10                    # diverged within the epoch
    assert "Last good state: the initial weights" in box.detailedText()
    assert "goes back to the initial weights" in box.informativeText()
    assert "it is 1e+06: try 100000" in box.informativeText()
    click(qtbot, box.findChild(QWidget, "rewindGoodButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "paused"
                    and window.state.snapshot.step == 0 and loss_points(window) == 0,
                    timeout=10_000)
    # the learning rate in use is the one in the field (tester 4: the field said 50 and the
    # run went on at the state's 0.05)
    field = settings_field(window, "learningRateField")
    assert field.value() == window.state.progress.lr == 1e6
    assert window.statusBar().currentMessage().startswith("Rewound to the last good state")


def test_a_divergence_names_a_mid_epoch_good_state_by_its_batch():
    from app.training.worker import _where
    from nncore.train import TrainState
    def state(step, epoch, batch):
        return TrainState({}, {}, {}, {}, epoch, batch, np.arange(3), step, None, None,
                          (0.0, 0.0, 0, 0.0), 0.1)
    assert _where(state(2340, 4, 466)) == "batch 2,340 (epoch 5, its batch 466)"
    assert _where(state(2814, 3, 0)) == "batch 2,814, the end of epoch 3"
    assert _where(None) == _where(state(0, 0, 0)) == "the initial weights"


@pytest.mark.qt_log_level_fail("WARNING")
@pytest.mark.qt_log_ignore(PLATFORM_NOISE)
def test_closing_during_training_stops_and_joins_the_worker(qtbot, window):
    set_small_run(qtbot, window, epochs=10_000)
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: window.state.history.steps > 3, timeout=10_000)
    worker = window.controller.worker
    t0 = time.perf_counter()
    window.close()
    assert time.perf_counter() - t0 < 5.0
    assert not worker.is_alive()


def test_step_epoch_trains_to_the_end_of_the_epoch_then_pauses(qtbot, window):
    click(qtbot, button(window, "stepBatchButton"))
    qtbot.waitUntil(lambda: window.state.history.steps == 1)
    click(qtbot, button(window, "stepEpochButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "paused"
                    and window.state.progress.epoch == 1, timeout=15_000)
    batches = window.state.progress.batches_per_epoch
    assert window.state.history.steps == batches == 10           # 600 images, batch 64
    assert window.state.progress.batch == 0
    assert len(window.state.epochs) == 1 and len(window.state.history["val_loss"]) == 1


def test_settings_are_checked_as_typed_and_impossible_ones_explained(qtbot, window):
    before = window.state.config.to_dict()
    batch = settings_field(window, "batchSizeField")
    type_into(qtbot, batch, "1000")
    assert "larger than the training set (600 images)" in batch.error()
    epochs = settings_field(window, "epochsField")
    for text in ("0", "2.5", "many"):
        type_into(qtbot, epochs, text)
        assert "an integer" in epochs.error() or ">= 1" in epochs.error(), text
    split = settings_field(window, "valSplitField")
    type_into(qtbot, split, "1.5")
    assert "<= 0.9" in split.error()
    # while the fields are red the settings are those from before the edits: no valid
    # beginning typed on the way ("100" of "1000", "2" of "2.5", "1" of "1.5") was kept
    assert window.state.config.to_dict() == before
    assert not button(window, "trainButton").isEnabled()
    assert "Batch size" in button(window, "trainButton").toolTip()
    # a valid batch size, then a smaller subset makes it too large: the field says so at once
    type_into(qtbot, batch, "100")
    assert window.state.config.batch_size == 100
    type_into(qtbot, settings_field(window, "subsetField"), "5")
    assert "larger than the training set (50 images)" in batch.error()


@pytest.mark.qt_log_level_fail("WARNING")
@pytest.mark.qt_log_ignore(PLATFORM_NOISE)
def test_rapid_train_pause_step_stop_cycles_never_deadlock(qtbot, window):
    import threading
    set_small_run(qtbot, window, epochs=1000)
    type_into(qtbot, settings_field(window, "batchSizeField"), "1")   # long epochs
    threads_before = threading.active_count()
    c = window.controller
    for i in range(200):
        c.train()
        if i % 3 == 0:
            qtbot.wait(1)
        c.pause()
        c.step_batch()
        if i % 100 == 0:
            c.step_epoch()
        c.stop()
    seen = []

    def settled():              # finished, and nothing more arrives for half a second
        seen.append(window.state.history.steps)
        return window.state.run_state == "finished" and len(seen) > 50 and \
            len(set(seen[-50:])) == 1
    qtbot.waitUntil(settled, timeout=60_000)
    steps = window.state.history.steps
    assert steps >= 400              # each cycle: the batch of the pause and the stepped one
    click(qtbot, button(window, "stepBatchButton"))        # and it still answers
    qtbot.waitUntil(lambda: window.state.history.steps == steps + 1, timeout=10_000)
    assert threading.active_count() == threads_before


def test_after_a_finished_run_train_says_how_many_more_epochs_it_runs(qtbot, window):
    set_small_run(qtbot, window, 1)
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "finished", timeout=20_000)
    progress = find(window, QProgressBar, "epochProgress")
    assert progress.text().startswith("Done: 1 of 1 epoch")
    type_into(qtbot, settings_field(window, "epochsField"), "3")
    assert button(window, "trainButton").toolTip() == "Train 3 more epochs, to epoch 4 (Space)"
    assert "this many more" in settings_field(window, "epochsField").edit.toolTip()
    qtbot.keyClick(window, Qt.Key_Space)
    qtbot.waitUntil(lambda: window.state.run_state == "finished"
                    and window.state.progress.epoch == 4, timeout=30_000)
    assert progress.text().startswith("Done: 4 of 4 epochs")


def test_stepping_through_the_last_epoch_of_a_run_finishes_it(qtbot, window):
    set_small_run(qtbot, window, 2)
    progress = find(window, QProgressBar, "epochProgress")
    click(qtbot, button(window, "stepEpochButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "paused"
                    and window.state.progress.epoch == 1, timeout=15_000)
    assert button(window, "trainButton").text() == "Resume"
    click(qtbot, button(window, "stepEpochButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "finished"
                    and window.state.progress.epoch == 2, timeout=15_000)
    assert progress.text().startswith("Done: 2 of 2 epochs")
    assert button(window, "trainButton").text() == "Train"


def test_gradient_histograms_come_only_from_a_computed_gradient(qtbot, window):
    window.layout_.docks["histograms"].raise_()             # (made while it is in view)
    qtbot.waitUntil(lambda: window.state.views is not None
                    and window.state.views.weight_hists is not None)
    assert window.state.views.grad_hists == {}              # a new network: no gradient yet
    assert window.state.views.weight_hists
    click(qtbot, button(window, "stepBatchButton"))
    qtbot.waitUntil(lambda: window.state.history.steps == 1
                    and bool(window.state.views.grad_hists), timeout=15_000)
