"""Tester 3's file points: the title's unsaved marker follows training, edits and settings and
is cleared by save and open; an open says "Opened <name>: step N"; a file that cannot be opened
has details that say more than its message."""
from __future__ import annotations

from PySide6.QtCore import Qt

from .helpers import button, click, has_message_box, message_boxes, type_into


def test_the_unsaved_marker_follows_training_edits_and_settings(qtbot, window, tmp_path):
    assert "[*]" in window.windowTitle() and not window.isWindowModified()
    click(qtbot, button(window, "stepBatchButton"))
    qtbot.waitUntil(lambda: window.state.history.steps == 1, timeout=10_000)
    qtbot.waitUntil(window.isWindowModified, timeout=5_000)

    path = tmp_path / "one.nnproj"
    with qtbot.waitSignal(window.controller.projectSaved, timeout=10_000):
        window.files.save_to(str(path))
    assert not window.isWindowModified()
    assert window.windowTitle().startswith("one.nnproj[*]")

    window.editor.add_layer("Tanh", 1)                      # a network edit
    assert window.isWindowModified()
    window.editor.undo()                                   # back to what the file holds
    assert not window.isWindowModified()

    type_into(qtbot, window.training_panel.opt_fields["lr"], "0.02")   # a setting
    qtbot.keyClick(window.training_panel.opt_fields["lr"].edit, Qt.Key_Return)
    qtbot.waitUntil(window.isWindowModified, timeout=5_000)

    # opening the saved file: marker cleared, and the status bar says what came back
    with qtbot.waitSignal(window.controller.projectOpened, timeout=10_000):
        window.files.open(str(path))
    assert not window.isWindowModified()
    assert window.statusBar().currentMessage() == "Opened one.nnproj: step 1."


def test_a_broken_file_has_details_that_say_more_than_the_message(qtbot, window, tmp_path):
    bad = tmp_path / "notes.nnproj"
    bad.write_bytes(b"just some notes, not a project\n" * 3)
    window.files.open(str(bad))
    qtbot.waitUntil(lambda: has_message_box("failureDialog"), timeout=10_000)
    box = message_boxes("failureDialog")[0]
    assert "NNSTUDIO signature" in box.text()
    details = box.detailedText()
    assert f"Size: {bad.stat().st_size:,} bytes." in details
    assert "Begins with: 6a 75 73 74" in details               # "just"
    assert "Expected:" in details and "no NN Studio signature" in details
    assert "nncore:" not in details
    box.close()
    assert not window.isWindowModified() and window.state.project_path == ""
