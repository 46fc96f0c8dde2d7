"""Projects: save and reopen with identical weights, history and settings; bad files."""
from __future__ import annotations

import numpy as np

from .conftest import _launch
from .helpers import button, click, has_message_box, message_boxes, type_into


def trained_a_little(qtbot, window):
    type_into(qtbot, window.findChild(type(window.training_panel.epochs_field), "epochsField"),
              "2")
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "finished", timeout=30_000)
    for _ in range(3):                                   # and part of a third epoch
        click(qtbot, button(window, "stepBatchButton"))
    qtbot.waitUntil(lambda: window.state.snapshot.step == 23, timeout=10_000)


def test_save_and_reopen_a_project_with_identical_weights_history_and_settings(
        qtbot, window, tmp_path):
    trained_a_little(qtbot, window)
    type_into(qtbot, window.training_panel.opt_fields["lr"], "0.03")
    path = tmp_path / "run.nnproj"
    with qtbot.waitSignal(window.controller.projectSaved, timeout=10_000):
        window.files.save_to(str(path))
    assert path.is_file() and window.windowTitle().startswith("run.nnproj")
    saved = window.state

    other = _launch(qtbot)
    qtbot.addWidget(other)
    try:
        with qtbot.waitSignal(other.controller.projectOpened, timeout=10_000):
            other.files.open(str(path))
        qtbot.waitUntil(lambda: other.state.snapshot is not None
                        and other.state.snapshot.step == 23, timeout=10_000)
        assert other.state.spec == saved.spec
        assert other.state.config.to_dict() == saved.config.to_dict()
        assert other.state.config.optimizer["config"]["lr"] == 0.03
        for k, w in saved.snapshot.weights.items():
            np.testing.assert_array_equal(other.state.snapshot.weights[k], w)
        for name, series in saved.history.curves.items():
            np.testing.assert_array_equal(other.state.history[name].to_array(),
                                          series.to_array(), err_msg=name)
        assert other.state.run_state == "paused"
        assert str(path) in other.files.recent()
        # both continue identically: one more batch each gives the same loss
        for w in (window, other):
            click(qtbot, button(w, "stepBatchButton"))
        qtbot.waitUntil(lambda: window.state.history.steps == 24
                        and other.state.history.steps == 24, timeout=10_000)
        assert other.state.history["loss"].y[-1] == window.state.history["loss"].y[-1]
    finally:
        other.close()


def test_a_broken_file_is_reported_and_the_current_work_stays(qtbot, window, tmp_path):
    spec, config = window.state.spec, window.state.config.to_dict()
    weights = {k: v.copy() for k, v in window.state.snapshot.weights.items()}
    bad = tmp_path / "broken.nnproj"
    bad.write_bytes(b"NNSTUDIO" + b"\x01\x00\x00\x00" + b"\xff" * 40)
    window.files.open(str(bad))
    qtbot.waitUntil(lambda: has_message_box("failureDialog"), timeout=10_000)
    box = message_boxes("failureDialog")[0]
    assert "broken.nnproj" in box.text()
    assert "broken.nnproj" in box.detailedText() and "Traceback" not in box.detailedText()
    box.close()
    assert window.state.spec == spec and window.state.config.to_dict() == config
    for k, v in weights.items():
        np.testing.assert_array_equal(window.state.snapshot.weights[k], v)
    assert window.state.project_path == ""
    assert button(window, "trainButton").isEnabled()


def test_a_model_written_by_nn_train_opens_and_training_continues(qtbot, window, tmp_path,
                                                                   tiny_mnist):
    from nncore.data import Dataset
    from nncore.io import checkpoint_from_trainer, save
    from nncore.session import TrainingConfig, build_trainer, prepare_data

    from app.defaults import default_spec
    x, y = tiny_mnist
    config = TrainingConfig(epochs=1, batch_size=50, optimizer={"type": "Adam",
                                                                 "config": {"lr": 0.002}})
    data = prepare_data(config, Dataset("mnist", x, y, x[:100], y[:100]))
    trainer = build_trainer(default_spec(), config, data)
    trainer.fit(1)
    ck = checkpoint_from_trainer(trainer, class_names=list(data.class_names),
                                 preprocessing=data.preprocessing.to_dict(),
                                 extra={"name": "tiny", "config": config.to_dict()})
    path = tmp_path / "model.nns"               # what nn-train writes
    save(ck, path)
    with qtbot.waitSignal(window.controller.projectOpened, timeout=10_000):
        window.files.open(str(path))
    qtbot.waitUntil(lambda: window.state.snapshot.step == 12, timeout=10_000)
    assert window.state.config.optimizer == {"type": "Adam", "config": {"lr": 0.002}}
    assert window.state.config.batch_size == 50
    for k, v in trainer.net.get_weights().items():
        np.testing.assert_array_equal(window.state.snapshot.weights[k], v)
    assert window.state.history.steps == 12 and len(window.state.history["val_loss"]) == 1
    click(qtbot, button(window, "stepBatchButton"))
    qtbot.waitUntil(lambda: window.state.history.steps == 13, timeout=10_000)


def test_a_run_saved_when_done_opens_done(qtbot, window, tmp_path):
    """Tester 7: saved after "Done: 1 of 1 epochs", it opened paused, with Resume and Stop."""
    from PySide6.QtWidgets import QProgressBar
    type_into(qtbot, window.findChild(type(window.training_panel.epochs_field), "epochsField"),
              "1")
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "finished", timeout=20_000)
    path = tmp_path / "done.nnproj"
    with qtbot.waitSignal(window.controller.projectSaved, timeout=10_000):
        window.files.save_to(str(path))
    other = _launch(qtbot)
    qtbot.addWidget(other)
    try:
        with qtbot.waitSignal(other.controller.projectOpened, timeout=10_000):
            other.files.open(str(path))
        qtbot.waitUntil(lambda: other.state.run_state == "finished", timeout=10_000)
        assert button(other, "trainButton").text() == "Train"
        assert not button(other, "stopButton").isEnabled()
        progress = other.findChild(QProgressBar, "epochProgress")
        qtbot.waitUntil(lambda: progress.text().startswith("Done: 1 of 1 epoch"))
    finally:
        other.close()
