"""A learner's first hour, from the keyboard and the mouse: Space, fields, unsaved work, Rewind,
progress texts, the schedule, spec files, small screens, the look of what is disabled.

Keys go through the window's handle, as a keyboard's would: to the widget with the focus, with
the window's shortcuts (Space is Train/Pause) taking them first unless that widget claims them.
"""
from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QListWidget, QMessageBox, QWidget

from .conftest import _launch
from .helpers import (button, click, click_stack_row, double_click_palette, find,
                      has_message_box, message_boxes)


# ---- acting as a user -----------------------------------------------------------------------
def key(window, k, modifier=Qt.NoModifier):
    if QApplication.activeWindow() is not window:       # (a dialog just closed)
        window.activateWindow()
    QTest.keyClick(window.windowHandle(), k, modifier)


def keys(window, text: str):
    for ch in text:
        QTest.keyClick(window.windowHandle(), ch)


def type_in(qtbot, window, field, text: str):
    """Click into ``field``, select its text and type ``text`` over it, key by key."""
    qtbot.mouseClick(field.edit, Qt.LeftButton)
    key(window, Qt.Key_A, Qt.ControlModifier)
    keys(window, text)


def focused_line_edit():
    w = QApplication.focusWidget()
    return w if isinstance(w, QLineEdit) else None


def box(name: str) -> QMessageBox:
    boxes = message_boxes(name)
    assert boxes, f"no {name} on screen"
    return boxes[0]


def answer(qtbot, name: str, button_name: str):
    qtbot.waitUntil(lambda: has_message_box(name))
    click(qtbot, box(name).findChild(QWidget, button_name))
    qtbot.waitUntil(lambda: not has_message_box(name))


def active(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)


class UserClose(QCloseEvent):
    """The close event of the window's close button (spontaneous: from the window system)."""

    def spontaneous(self):
        return True


# ---- Space, fields, invalid text --------------------------------------------------------------
def test_space_trains_unless_typing_and_invalid_text_changes_nothing(qtbot, window):
    w, panel = window, window.training_panel
    active(qtbot, w)
    for b in ("trainButton", "stepBatchButton", "stepEpochButton", "stopButton", "rewindButton",
              "resetButton"):
        assert button(w, b).focusPolicy() == Qt.NoFocus, b
    # type into Epochs, Tab to Seed, Space: training starts, Seed is untouched
    type_in(qtbot, w, panel.epochs_field, "500")
    assert w.state.config.epochs == 500
    key(w, Qt.Key_Tab)
    assert focused_line_edit() is panel.seed_field.edit
    key(w, Qt.Key_Space)
    qtbot.waitUntil(lambda: w.state.run_state == "running")
    assert panel.seed_field.edit.text() == "0" and panel.seed_field.error() is None
    spec = w.state.spec                                     # no edit while training: it says so
    double_click_palette(qtbot, w.palette, "Dropout")
    assert w.state.spec == spec and "Pause or stop training" in w.statusBar().currentMessage()
    key(w, Qt.Key_Space)                                    # and Space pauses
    qtbot.waitUntil(lambda: w.state.run_state == "paused")
    # clicking Stop hands the focus to no field: the next Space trains again
    click(qtbot, button(w, "stopButton"))
    qtbot.waitUntil(lambda: w.state.run_state == "finished")
    assert focused_line_edit() is None
    key(w, Qt.Key_Space)
    qtbot.waitUntil(lambda: w.state.run_state == "running")
    click(qtbot, button(w, "trainButton"))                  # Pause by mouse
    qtbot.waitUntil(lambda: w.state.run_state == "paused")
    assert focused_line_edit() is None
    # Return accepts and leaves the field; the next Space resumes
    type_in(qtbot, w, panel.epochs_field, "400")
    key(w, Qt.Key_Return)
    assert focused_line_edit() is None and w.state.config.epochs == 400
    key(w, Qt.Key_Space)
    qtbot.waitUntil(lambda: w.state.run_state == "running")
    key(w, Qt.Key_Space)
    qtbot.waitUntil(lambda: w.state.run_state == "paused")
    # Escape puts back the value from before the edit
    lr = panel.opt_fields["lr"]
    type_in(qtbot, w, lr, "0.5")
    assert w.state.config.optimizer["config"]["lr"] == 0.5
    key(w, Qt.Key_Escape)
    assert w.state.config.optimizer["config"]["lr"] == 0.05 and lr.edit.text() == "0.05"
    assert focused_line_edit() is None
    # once typing has begun, Space is a character (numbers ignore it): nothing starts
    type_in(qtbot, w, panel.epochs_field, "4")
    key(w, Qt.Key_Space)
    assert panel.epochs_field.edit.text() == "4 " and w.state.config.epochs == 4
    qtbot.wait(100)
    assert w.state.run_state == "paused"
    key(w, Qt.Key_Return)

    # invalid text: red, the model keeps its value from before the edit, Train says why
    steps = w.state.history.steps
    for field, text in ((panel.batch_field, "5000"), (lr, "1e9")):
        type_in(qtbot, w, field, text)
        assert field.error() is not None, text
    assert w.state.config.batch_size == 64                 # not 500 of "5000"
    assert w.state.config.optimizer["config"]["lr"] == 0.05  # not 1.0 of "1e9"
    qtbot.wait(250)                                        # the worker got the settings
    assert not find(w, QLabel, "runNotice").isVisible()    # nothing changed for it either
    train = button(w, "trainButton")
    assert not train.isEnabled() and "Batch size" in train.toolTip()
    blocked = find(w, QLabel, "trainBlocked")
    assert blocked.isVisible() and "Batch size: a batch of 5,000" in blocked.text()
    assert not w.menus.actions["step_batch"].isEnabled()
    click_stack_row(qtbot, w, 0)                            # focus out of the fields
    key(w, Qt.Key_Space)
    key(w, Qt.Key_F10)
    qtbot.wait(150)
    assert w.state.run_state == "paused" and w.state.history.steps == steps
    # in the property form too: "1e3" in a new Conv2D's filters never applies 1
    w.editor.set_current(-1)
    double_click_palette(qtbot, w.palette, "Conv2D")
    conv = w.editor.current                                 # the new layer is selected
    assert w.state.spec["layers"][conv] == {"type": "Conv2D", "filters": 8}
    filters = find(find(w, QWidget, "layerProperties"), QWidget, "field_filters")
    type_in(qtbot, w, filters, "1e3")
    assert filters.error() is not None
    assert w.state.spec["layers"][conv]["filters"] == 8
    assert w.editor.undo_stack.undoText() == "Add Conv2D"  # the "1" typed on the way: gone
    assert "Conv2D filters" in train.toolTip()
    key(w, Qt.Key_Escape)
    w.editor.undo()
    for field in (panel.batch_field, lr):
        qtbot.mouseClick(field.edit, Qt.LeftButton)
        key(w, Qt.Key_Escape)
    assert train.isEnabled() and not blocked.isVisible()


# ---- unsaved work, Rewind -----------------------------------------------------------------------
def test_unsaved_work_is_asked_about_and_rewind_says_where_it_goes(qtbot, window, tmp_path):
    w = window
    active(qtbot, w)
    step = button(w, "stepBatchButton")
    for n in (1, 2):
        click(qtbot, step)
        qtbot.waitUntil(lambda: w.state.history.steps == n)
    # Rewind says where it goes
    rewind = button(w, "rewindButton")
    qtbot.waitUntil(rewind.isEnabled)
    assert rewind.text() == "Rewind to 0" and "batch 0" in rewind.toolTip()
    assert w.menus.actions["rewind"].text().replace("&", "") == "Rewind to batch 0"
    # New project with training not saved: asked; Cancel keeps everything
    w.menus.actions["new"].trigger()
    answer(qtbot, "unsavedDialog", "cancelButton")
    assert w.state.history.steps == 2
    # Reset weights: asked; Discard resets
    click(qtbot, button(w, "resetButton"))
    qtbot.waitUntil(lambda: has_message_box("unsavedDialog"))
    assert "2 batches" in box("unsavedDialog").text()
    answer(qtbot, "unsavedDialog", "discardButton")
    qtbot.waitUntil(lambda: w.state.history.steps == 0)
    # two epochs stepped (10 batches each): Rewind asks before dropping more than one
    for n in (10, 20):
        click(qtbot, button(w, "stepEpochButton"))
        qtbot.waitUntil(lambda: w.state.run_state == "paused" and w.state.history.steps == n,
                        timeout=10_000)
    qtbot.waitUntil(lambda: rewind.text() == "Rewind to 0")
    click(qtbot, rewind)
    qtbot.waitUntil(lambda: has_message_box("rewindDialog"))
    assert "drops the 20 batches" in box("rewindDialog").text()
    click(qtbot, box("rewindDialog").button(QMessageBox.Cancel))
    qtbot.waitUntil(lambda: not has_message_box("rewindDialog"))
    assert w.state.history.steps == 20
    key(w, Qt.Key_Backspace, Qt.ControlModifier)           # the menu's shortcut asks too
    answer(qtbot, "rewindDialog", "confirmRewindButton")
    qtbot.waitUntil(lambda: w.state.history.steps == 0)
    # saved: nothing to ask; trained after the save: asked again
    click(qtbot, step)
    qtbot.waitUntil(lambda: w.state.history.steps == 1)
    path = tmp_path / "run.nnproj"
    with qtbot.waitSignal(w.controller.projectSaved, timeout=10_000):
        w.files.save_to(str(path))
    assert w.files.unsaved("close") == []
    click(qtbot, step)
    qtbot.waitUntil(lambda: w.state.history.steps == 2)
    # a preset from the menu: asked; Discard applies it
    w.network_panel._on_presets_menu_about_to_show()
    deeper = next(a for a in w.network_panel.presets_menu.actions() if a.text() == "Deeper MLP")
    deeper.trigger()
    answer(qtbot, "unsavedDialog", "discardButton")
    assert len(w.state.spec["layers"]) == 7
    w.editor.undo()
    # the window's close button: asked; Cancel keeps the window
    event = UserClose()
    QApplication.sendEvent(w, event)
    assert not event.isAccepted()
    answer(qtbot, "unsavedDialog", "cancelButton")
    assert w.isVisible() and w.controller.worker.is_alive()
    # Ctrl+Q: asked; Save writes the project, then the window closes
    key(w, Qt.Key_Q, Qt.ControlModifier)
    answer(qtbot, "unsavedDialog", "saveFirstButton")
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=10_000)
    assert not w.controller.worker.is_alive()
    from nncore import io
    assert io.load(path).training["step"] == 2


# ---- progress and status, the schedule, presets ------------------------------------------------
def test_progress_and_status_follow_settings_and_the_schedule_is_shown(qtbot, window):
    w, panel = window, window.training_panel
    active(qtbot, w)
    epoch_label = w.statusBar().findChild(QLabel, "status_epoch")
    assert epoch_label.text() == "Epoch 1 of 10"
    type_in(qtbot, w, panel.epochs_field, "2")
    key(w, Qt.Key_Return)
    assert epoch_label.text() == "Epoch 1 of 2"
    type_in(qtbot, w, panel.subset_field, "30")            # 300 images: 5 batches an epoch
    key(w, Qt.Key_Return)
    key(w, Qt.Key_F11)                                      # Step epoch
    qtbot.waitUntil(lambda: w.state.run_state == "paused" and w.state.progress.epoch == 1,
                    timeout=10_000)
    qtbot.waitUntil(lambda: panel.progress.format() == "Epoch 1/2 · batch %v/%m")
    assert panel.progress.value() == panel.progress.maximum() == 5
    qtbot.waitUntil(lambda: epoch_label.text() == "Epoch 1 of 2")
    key(w, Qt.Key_Space)
    qtbot.waitUntil(lambda: w.state.run_state == "finished", timeout=10_000)
    qtbot.waitUntil(lambda: panel.progress.format() == "Done: 2 of 2 epochs")
    assert panel.progress.value() == 5
    run = w.statusBar().findChild(QLabel, "status_run")
    assert run.text() == "Done"
    qtbot.waitUntil(lambda: w.statusBar().findChild(QLabel, "status_batch").text()
                    == "Batch 5/5")
    # the LeNet preset: its cosine schedule is shown and editable; the subset stays
    w.network_panel._on_presets_menu_about_to_show()
    lenet = next(a for a in w.network_panel.presets_menu.actions() if "LeNet" in a.text())
    lenet.trigger()
    answer(qtbot, "unsavedDialog", "discardButton")
    assert w.state.config.schedule["type"] == "CosineDecay"
    assert w.state.config.subset_per_class == 30
    assert "CosineDecay" in w.statusBar().currentMessage()
    combo = find(w, QWidget, "scheduleCombo")
    assert combo.currentText() == "CosineDecay"
    t_max = find(w, QWidget, "schedule_t_max")
    assert t_max.edit.text() == "10"
    type_in(qtbot, w, t_max, "4")
    key(w, Qt.Key_Return)
    assert w.state.config.schedule == {"type": "CosineDecay",
                                       "config": {"t_max": 4, "min_lr": 0.0}}
    combo.activated.emit(combo.findData("Constant"))         # pick "Constant" in the combo
    assert w.state.config.schedule is None
    assert w.findChild(QWidget, "schedule_t_max") is None


# ---- files: the spec as JSON ------------------------------------------------------------------
def test_export_and_import_the_network_spec(qtbot, builder_window, tmp_path):
    w = builder_window
    path = tmp_path / "mlp.json"
    old = os.umask(0o022)
    try:
        assert w.files.export_spec(str(path))
    finally:
        os.umask(old)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["spec"] == w.state.spec and doc["training"] == w.state.config.to_dict()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    from nncore import cli
    spec, training, name = cli.read_spec_file(str(path))    # what nn-train reads
    assert spec == w.state.spec and training == w.state.config.to_dict() and name == "mlp"
    # import a smaller network: one undoable edit
    other = {"input_shape": [1, 28, 28], "layers": [{"type": "Flatten"},
                                                    {"type": "Dense", "units": 10},
                                                    {"type": "Softmax"}]}
    (tmp_path / "small.json").write_text(json.dumps(other), encoding="utf-8")
    before = w.state.spec
    assert w.files.import_spec(str(tmp_path / "small.json"))
    assert w.state.spec == other and w.state.spec_check.ok
    w.editor.undo()
    assert w.state.spec == before
    # a project file, or broken JSON: a clear message, no traceback, nothing changed
    (tmp_path / "run.nnproj").write_bytes(b"NNSTUDIO\x01\x00\x00\x00" + b"\x00" * 40)
    (tmp_path / "broken.json").write_text('{"input_shape": [1, 28', encoding="utf-8")
    for name, expected in (("run.nnproj", "File > Open"), ("broken.json", "not valid JSON")):
        assert not w.files.import_spec(str(tmp_path / name))
        qtbot.waitUntil(lambda: has_message_box("errorDialog"))
        b = box("errorDialog")
        assert expected in b.text() and "Traceback" not in b.detailedText()
        b.close()
        qtbot.waitUntil(lambda: not has_message_box("errorDialog"))
    assert w.state.spec == before


# ---- the look: disabled is greyed; long texts elide with a tooltip -----------------------------
def _darkest(widget) -> int:
    """The value (HSV) of the darkest pixel of ``widget`` as drawn: its text's, on a button."""
    img = widget.grab().toImage()
    return min(max((p >> 16) & 255, (p >> 8) & 255, p & 255)
               for p in (img.pixel(x, y) for x in range(0, img.width(), 2)
                         for y in range(0, img.height(), 2)))


def test_disabled_controls_look_disabled_and_long_texts_elide(qtbot, builder_window):
    w = builder_window
    pal = QApplication.instance().palette()
    for role in (QPalette.ButtonText, QPalette.WindowText, QPalette.Text, QPalette.Base):
        assert pal.color(QPalette.Disabled, role) != pal.color(QPalette.Active, role), role
    stop, reset = button(w, "stopButton"), button(w, "resetButton")
    assert not stop.isEnabled() and reset.isEnabled()
    assert _darkest(stop) > _darkest(reset) + 60           # its text is grey, not black
    combo = find(w, QWidget, "datasetCombo")
    width = combo.width()
    try:
        combo.setFixedWidth(120)
        qtbot.waitUntil(combo.is_elided)
        assert combo.currentText() in combo.toolTip()
    finally:
        combo.setMinimumWidth(0)
        combo.setMaximumWidth(16_777_215)
        combo.resize(width, combo.height())


# ---- small screens, Ctrl+Q -------------------------------------------------------------------
def test_the_window_fits_small_screens_and_ctrl_q_quits(qtbot, tiny_mnist, monkeypatch):
    from app.main_window import MainWindow
    first = _launch(qtbot)
    assert first.size().width() == 1400 and first.size().height() == 900
    assert QKeySequence("Ctrl+Q") in first.menus.actions["quit"].shortcuts()
    first.close()                                           # its layout is saved at 1400x900
    # the next launch on a 1024x768 screen: a window that fits, the Train button in it
    monkeypatch.setattr(MainWindow, "_available", lambda self: QRect(0, 0, 1024, 768))
    second = _launch(qtbot)
    qtbot.addWidget(second)
    try:
        qtbot.waitUntil(lambda: hasattr(second, "inspection_docks"))
        qtbot.wait(50)
        assert second.width() <= 1024 and second.height() <= 768
        train = button(second, "trainButton")
        seen = train.visibleRegion().boundingRect()
        assert seen.width() == train.width() and seen.height() == train.height()
        top_left = train.mapTo(second, train.rect().topLeft())
        assert QRect(top_left, train.size()).intersected(second.rect()) == \
            QRect(top_left, train.size())
        assert second.layout_.docks["training"].width() >= 250
        key(second, Qt.Key_Q, Qt.ControlModifier)           # nothing unsaved: just closes
        qtbot.waitUntil(lambda: not second.isVisible())
    finally:
        second.close()


def test_quit_has_ctrl_q_where_the_platform_has_no_quit_key(monkeypatch):
    from app import menus
    monkeypatch.setattr(menus.QKeySequence, "keyBindings", lambda which: [])
    assert menus.quit_shortcuts() == [QKeySequence("Ctrl+Q")]


# ---- words -------------------------------------------------------------------------------------
def test_recovery_offer_says_what_was_trained_naturally():
    from app.recovery import trained_text
    assert trained_text(0, 260, 260) == "Trained: 260 batches (part of the first epoch)"
    assert trained_text(3, 0, 2814) == "Trained: 3 epochs (2,814 batches)"
    assert trained_text(1, 1, 11) == "Trained: 1 epoch and 1 batch (11 batches in all)"


def test_a_docstring_starting_with_the_class_name_is_not_said_twice():
    from app.builder import catalog
    from nncore.layers.activations import Activation
    from nncore.registry import LAYERS, register

    class Wobble(Activation):
        """Wobble: x * 2, a made-up activation."""

        def f(self, x):
            return 2 * x

        def df(self, x, y):
            return np.full_like(x, 2.0)
    register("layer")(Wobble)
    try:
        lt = catalog.layer_type("Wobble")
        assert lt.description == "x * 2, a made-up activation."
        assert lt.tooltip().startswith("<b>Wobble</b>: x * 2")
    finally:
        LAYERS.pop("Wobble", None)


def test_a_preset_keeps_the_learners_data_choices():
    from app.builder.presets import Preset, changes
    from nncore.session import TrainingConfig
    base = TrainingConfig(subset_per_class=30, seed=7, val_split=0.1, epochs=3)
    preset = Preset("p", "", {}, {**TrainingConfig().to_dict(), "epochs": 10,
                                  "schedule": {"type": "CosineDecay", "config": {"t_max": 10}}})
    after = preset.config(base)
    assert (after.subset_per_class, after.seed, after.val_split) == (30, 7, 0.1)
    assert after.epochs == 10 and after.schedule["type"] == "CosineDecay"
    assert changes(base, after) == ["learning-rate schedule CosineDecay (t_max 10)",
                                    "epochs 10"]


def test_every_button_in_the_window_says_what_it_does(builder_window):
    """Tooltips on every button, the docks' float and close buttons included (tester 5);
    only Qt's own scroll, corner and overflow arrows are left as Qt makes them."""
    from PySide6.QtWidgets import QAbstractButton
    qt_own = ("ScrollLeftButton", "ScrollRightButton", "qt_tableview_cornerbutton",
              "qt_menubar_ext_button", "qt_toolbar_ext_button")
    silent = [(type(b).__name__, b.objectName(), b.text())
              for b in builder_window.findChildren(QAbstractButton)
              if not b.toolTip() and b.objectName() not in qt_own]
    assert silent == []
