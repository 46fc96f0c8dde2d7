"""Autosave and recovery: after a crash the next launch offers the session and restores it
exactly; a clean exit leaves nothing; a damaged recovery file is reported and kept."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PySide6.QtWidgets import QPushButton

from app.recovery import RecoveryWriter, read_summary

from .conftest import _launch
from .helpers import button, click, has_message_box, message_boxes, type_into


def recovery_file():
    from pathlib import Path
    return Path(os.environ["NN_STUDIO_RECOVERY"])


def saved_step(path) -> int | None:
    try:
        return read_summary(path)["step"]
    except Exception:  # noqa: BLE001 - not written yet
        return None


def test_after_a_crash_the_next_launch_offers_and_restores_the_session(qtbot, window):
    path = recovery_file()
    type_into(qtbot, window.training_panel.epochs_field, "2")
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "finished", timeout=30_000)
    qtbot.waitUntil(lambda: saved_step(path) == 20, timeout=10_000)   # saved as it finished
    for _ in range(3):
        click(qtbot, button(window, "stepBatchButton"))
    qtbot.waitUntil(lambda: saved_step(path) == 23, timeout=10_000)   # saved on each pause
    type_into(qtbot, window.training_panel.opt_fields["lr"], "0.03")
    click(qtbot, button(window, "stepBatchButton"))       # the lr edit goes with the step
    qtbot.waitUntil(lambda: saved_step(path) == 24, timeout=10_000)
    s = window.state
    kept = (s.spec, s.config.to_dict(), {k: v.copy() for k, v in s.snapshot.weights.items()},
            {n: c.to_array() for n, c in s.history.curves.items()},
            {i: c.to_array() for i, c in s.history.grad_norms.items()})
    crash = path.read_bytes()                             # what a kill now would leave
    click(qtbot, button(window, "stepBatchButton"))
    qtbot.waitUntil(lambda: s.history.steps == 25, timeout=10_000)
    next_loss = s.history["loss"].y[-1]
    window.close()
    assert not path.exists()                              # a clean exit leaves nothing
    path.write_bytes(crash)

    other = _launch(qtbot)
    qtbot.addWidget(other)
    try:
        qtbot.waitUntil(lambda: has_message_box("recoveryDialog"), timeout=5_000)
        box = message_boxes("recoveryDialog")[0]
        info = box.informativeText()
        assert "Saved today at" in info and "Project: untitled" in info
        assert "Flatten → Dense 128 → ReLU → Dense 10 → Softmax (101,770 weights)" in info
        assert "2 epochs and 4 batches (24 batches in all) on mnist" in info
        with qtbot.waitSignal(other.controller.projectOpened, timeout=10_000):
            click(qtbot, box.findChild(QPushButton, "restoreButton"))
        o = other.state
        qtbot.waitUntil(lambda: o.snapshot is not None and o.snapshot.step == 24,
                        timeout=10_000)
        spec, config, weights, curves, norms = kept
        assert o.spec == spec and o.config.to_dict() == config
        assert o.config.optimizer["config"]["lr"] == 0.03
        for k, w in weights.items():
            np.testing.assert_array_equal(o.snapshot.weights[k], w)
        for name, arr in curves.items():
            np.testing.assert_array_equal(o.history[name].to_array(), arr, err_msg=name)
        for i, arr in norms.items():
            np.testing.assert_array_equal(o.history.grad_norms[i].to_array(), arr)
        assert o.run_state == "paused" and o.project_path == ""
        assert other.windowTitle().startswith("untitled") and other.files.recent() == []
        # it continues exactly where the crashed session was: the same next batch
        click(qtbot, button(other, "stepBatchButton"))
        qtbot.waitUntil(lambda: o.history.steps == 25, timeout=10_000)
        assert o.history["loss"].y[-1] == next_loss
    finally:
        other.close()
    assert not path.exists()


def test_discard_removes_the_recovery_file(qtbot, tiny_mnist):
    path = recovery_file()
    _write_some_session(path)
    w = _launch(qtbot)
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: has_message_box("recoveryDialog"), timeout=5_000)
        box = message_boxes("recoveryDialog")[0]
        click(qtbot, box.findChild(QPushButton, "discardButton"))
        assert not path.exists() and w.state.project_path == ""
    finally:
        w.close()


def test_a_damaged_recovery_file_is_reported_and_kept_aside(qtbot, tiny_mnist):
    path = recovery_file()
    path.write_bytes(b"NNSTUDIO" + b"\x01\x00\x00\x00" + b"\x00" * 30)
    w = _launch(qtbot)
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: has_message_box("errorDialog"), timeout=5_000)
        box = message_boxes("errorDialog")[0]
        assert "cannot be read" in box.text() and str(path.with_suffix(".damaged")) in box.text()
        box.close()
        assert path.with_suffix(".damaged").exists() and not path.exists()
    finally:
        w.close()


def _write_some_session(path, steps: int = 3) -> None:
    """A recovery file as the window writes it, of a trainer that took ``steps`` batches."""
    from nncore.data import Dataset
    from nncore.session import TrainingConfig, build_trainer, prepare_data

    from app.defaults import default_spec
    from app.history import RunHistory
    from app.project import checkpoint_for
    from .conftest import bar_digits
    x, y = bar_digits(100, seed=5)
    config = TrainingConfig(batch_size=20)
    data = prepare_data(config, Dataset("mnist", x, y, x[:20], y[:20]))
    trainer = build_trainer(default_spec(), config, data)
    history = RunHistory()
    for _ in range(steps):
        history.add_batch(trainer.step_batch())
    writer = RecoveryWriter(path)
    writer.submit(checkpoint_for(trainer, config, default_spec(), history, data.class_names,
                                 data.preprocessing, 10))
    writer.close()


def test_the_writer_keeps_only_the_newest_checkpoint_and_reports_failures(tmp_path,
                                                                          monkeypatch):
    from nncore import io

    import app.recovery
    source = tmp_path / "session.nnproj"
    _write_some_session(source, steps=2)
    checkpoints = []
    for step in range(5):
        ck = io.load(source)
        ck.training["step"] = step
        checkpoints.append(ck)
    real_save = io.save

    def slow_save(*args, **kwargs):
        time.sleep(0.2)
        real_save(*args, **kwargs)
    monkeypatch.setattr(app.recovery.io, "save", slow_save)
    writer = RecoveryWriter(tmp_path / "r.nnproj")
    for ck in checkpoints:                # while the first is written, the others queue up
        writer.submit(ck)
    writer.close()
    assert read_summary(tmp_path / "r.nnproj")["step"] == 4 and writer.writes <= 2

    errors = []
    (tmp_path / "a file").write_bytes(b"")
    blocked = RecoveryWriter(tmp_path / "a file" / "r.nnproj", on_error=errors.append)
    blocked.submit(checkpoints[0])
    assert blocked.wait_idle(10)
    blocked.close()
    assert len(errors) == 1 and "a file" in errors[0]


def test_a_second_window_does_not_autosave_over_the_first_ones_file(qtbot, window):
    other = _launch(qtbot)
    qtbot.addWidget(other)
    try:
        assert window.recovery.active and not other.recovery.active
        assert other.recovery.writer is None and other.recovery.offer() is None
    finally:
        other.close()
    assert window.recovery.lock.isLocked()      # the first window keeps its lock
