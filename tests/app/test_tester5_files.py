"""Tester 5's file points: exporting a plot says where it went (or why it could not), its CSV
names the columns as the legend does and writes steps as integers; a recent file that is gone
is said so at once and leaves the list; an empty project file's details agree with its
headline; the loss and optimizer choices explain themselves."""
from __future__ import annotations

import csv

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QToolButton

from app.training.panel import LOSS_HELP, OPTIMIZER_HELP

from .helpers import button, click, find, has_message_box, message_boxes, type_into


def train_one_epoch(qtbot, window):
    type_into(qtbot, find(window, type(window.training_panel.epochs_field), "epochsField"), "1")
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: window.state.run_state == "finished", timeout=30_000)


def export_with_the_button(qtbot, monkeypatch, view, kind: str, path) -> None:
    """Click the plot's PNG or CSV button; the file dialog answers ``path``."""
    asked = []

    def answer(*args, **kwargs):
        asked.append(args)
        return str(path), ""
    monkeypatch.setattr("app.views.plot_panel.QFileDialog.getSaveFileName", answer)
    click(qtbot, find(view, QToolButton, f"export{kind.upper()}Button"))
    assert len(asked) == 1


def read_csv(path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_the_loss_plot_exports_say_where_they_went_and_name_columns_as_the_legend(
        qtbot, window, tmp_path, monkeypatch):
    train_one_epoch(qtbot, window)
    h = window.state.history
    assert window.state.data.name == "test" and h.steps == 10
    view = window.loss_view

    export_with_the_button(qtbot, monkeypatch, view, "csv", tmp_path / "loss.csv")
    assert window.statusBar().currentMessage() == \
        f"Exported the loss plot to {tmp_path / 'loss.csv'}"
    rows = read_csv(tmp_path / "loss.csv")
    assert rows[0] == ["step", "batch", "smoothed", "train, per epoch", "test, per epoch"]
    assert "test, per epoch" in view.legend.text()
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(1, 11)]     # "1", not "1."
    assert float(rows[1][1]) == h["loss"].y[0]
    assert [r[3] for r in rows[1:10]] == [""] * 9 and [r[4] for r in rows[1:10]] == [""] * 9
    assert float(rows[10][3]) == h["train_loss"].y[0]              # the epoch ended at step 10
    assert float(rows[10][4]) == h["val_loss"].y[0]
    # the plot's own curves carry the same names (pyqtgraph's right-click export uses them)
    assert [c.name() for c in view.plot.getPlotItem().listDataItems()] == rows[0][1:]

    export_with_the_button(qtbot, monkeypatch, view, "png", tmp_path / "loss")   # no suffix
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert window.statusBar().currentMessage() == \
        f"Exported the loss plot to {tmp_path / 'loss.png'}"

    # a plot without its own exporter: the same table, one column per curve, by its name
    grads = window.grad_norm_view
    window.layout_.docks["gradnorms"].raise_()         # its tab in front
    qtbot.waitUntil(lambda: len(grads.plot.getPlotItem().listDataItems()) >= 2, timeout=5_000)
    export_with_the_button(qtbot, monkeypatch, grads, "csv", tmp_path / "grads.csv")
    assert window.statusBar().currentMessage() == \
        f"Exported the gradients plot to {tmp_path / 'grads.csv'}"
    rows = read_csv(tmp_path / "grads.csv")
    curves = grads.plot.getPlotItem().listDataItems()
    assert rows[0] == ["step"] + [c.name() for c in curves] and len(curves) >= 2
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(1, 11)]


def test_with_a_validation_split_the_accuracy_columns_say_validation(
        qtbot, window, tmp_path, monkeypatch):
    field = find(window, type(window.training_panel.val_field), "valSplitField")
    type_into(qtbot, field, "0.2")
    qtbot.keyClick(field.edit, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.state.config.val_split == 0.2, timeout=5_000)
    train_one_epoch(qtbot, window)
    assert window.state.data.name == "validation"
    view = window.accuracy_view
    export_with_the_button(qtbot, monkeypatch, view, "csv", tmp_path / "acc.csv")
    assert window.statusBar().currentMessage() == \
        f"Exported the accuracy plot to {tmp_path / 'acc.csv'}"
    rows = read_csv(tmp_path / "acc.csv")
    assert rows[0] == ["step", "train, smoothed", "train, per epoch", "validation, per epoch"]
    assert "validation, per epoch" in view.legend.text()
    steps = window.state.history.steps
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(1, steps + 1)]
    val = window.state.history["val_accuracy"].y[0]
    assert float(rows[-1][3]) == val * 100                      # in percent, as plotted


def test_an_export_that_cannot_be_written_says_why(qtbot, window, tmp_path, monkeypatch):
    click(qtbot, button(window, "stepBatchButton"))
    qtbot.waitUntil(lambda: window.state.history.steps == 1, timeout=10_000)
    window.statusBar().clearMessage()
    for kind in ("csv", "png"):
        target = tmp_path / "no-such-folder" / f"loss.{kind}"
        export_with_the_button(qtbot, monkeypatch, window.loss_view, kind, target)
        qtbot.waitUntil(lambda: has_message_box("errorDialog"), timeout=5_000)
        box = message_boxes("errorDialog")[0]
        assert box.windowTitle() == "The loss plot cannot be exported"
        assert box.text() == (f"The loss plot cannot be exported: {target} cannot be "
                              f"written (No such file or directory).")
        box.close()
        assert not target.parent.exists()
        assert not window.statusBar().currentMessage().startswith("Exported")


def test_a_recent_file_that_is_gone_is_said_so_at_once_and_leaves_the_list(
        qtbot, window, tmp_path):
    kept, gone = tmp_path / "kept.nnproj", tmp_path / "gone.nnproj"
    for path in (kept, gone):
        with qtbot.waitSignal(window.controller.projectSaved, timeout=10_000):
            window.files.save_to(str(path))
    click(qtbot, button(window, "stepBatchButton"))               # unsaved work
    qtbot.waitUntil(lambda: window.state.history.steps == 1, timeout=10_000)
    qtbot.waitUntil(window.isWindowModified, timeout=5_000)
    gone.unlink()
    menu = window.menus.recent_menu
    assert [a.text() for a in menu.actions()][:2] == ["gone.nnproj", "kept.nnproj"]

    menu.actions()[0].trigger()
    assert not has_message_box("unsavedDialog")                   # nothing to ask about
    boxes = message_boxes("errorDialog")
    assert len(boxes) == 1
    assert boxes[0].text() == (f"gone.nnproj no longer exists at {gone}; removed from the "
                               f"recent files.")
    boxes[0].close()
    assert window.files.recent() == [str(kept)]
    qtbot.waitUntil(lambda: menu.actions()[0].text() == "kept.nnproj", timeout=5_000)
    assert "gone.nnproj" not in [a.text() for a in menu.actions()]
    # nothing else changed: the same project, its training, still unsaved
    assert window.state.project_path == str(gone) and window.state.history.steps == 1
    assert window.isWindowModified()

    # a file that is there still asks first about the unsaved work
    menu.actions()[0].trigger()
    qtbot.waitUntil(lambda: has_message_box("unsavedDialog"), timeout=5_000)
    click(qtbot, message_boxes("unsavedDialog")[0].button(QMessageBox.Cancel))
    assert window.state.history.steps == 1


def test_an_empty_project_file_has_details_that_agree_with_its_headline(
        qtbot, window, tmp_path):
    empty = tmp_path / "empty.nnproj"
    empty.write_bytes(b"")
    window.files.open(str(empty))
    qtbot.waitUntil(lambda: has_message_box("failureDialog"), timeout=10_000)
    box = message_boxes("failureDialog")[0]
    assert "the file is empty" in box.text()
    details = box.detailedText()
    assert "Size: 0 bytes." in details and "Found: nothing: the file is empty" in details
    assert "another kind of file" not in details
    box.close()


def test_the_loss_and_optimizer_combos_say_what_they_are_and_what_the_choice_does(
        qtbot, window):
    panel = window.training_panel
    loss, opt = panel.loss_combo, panel.optimizer_combo
    assert loss.toolTip().startswith(LOSS_HELP)
    assert "Now: CrossEntropyLoss — Cross-entropy" in loss.toolTip()
    assert opt.toolTip().startswith(OPTIMIZER_HELP)
    assert f"Now: {opt.currentText()} — " in opt.toolTip()
    assert panel.opt_form.labelForField(loss).toolTip() == LOSS_HELP
    # choosing another optimizer (by keyboard, as a user can) changes what the tooltip says
    before = opt.currentText()
    opt.setFocus()
    qtbot.keyClick(opt, Qt.Key_Down if opt.currentIndex() < opt.count() - 1 else Qt.Key_Up)
    qtbot.waitUntil(lambda: window.state.config.optimizer["type"] != before, timeout=5_000)
    now = window.state.config.optimizer["type"]
    assert f"Now: {now} — " in opt.toolTip() and before not in opt.toolTip().split("\n")[1]
