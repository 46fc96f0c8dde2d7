"""Before training starts, a run too big for the machine is explained, with what to reduce."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QPushButton

import app.memory_guard as guard

from .helpers import button, click, has_message_box, message_boxes


def test_too_little_memory_warns_before_training_and_train_anyway_goes_on(
        qtbot, window, monkeypatch):
    monkeypatch.setattr(guard, "machine_memory", lambda: (8_000_000, 1_000_000))
    monkeypatch.setattr(guard, "resident_bytes", lambda: 0)
    click(qtbot, button(window, "trainButton"))
    qtbot.waitUntil(lambda: has_message_box("memoryWarning"), timeout=5_000)
    box = message_boxes("memoryWarning")[0]
    assert "needs about" in box.text() and "this computer has 8.0 MB in all" in box.text()
    assert "training data" in box.informativeText() or "weights" in box.informativeText()
    assert "Images per class" in box.informativeText() or "batch size" in box.informativeText()
    click(qtbot, box.button(QMessageBox.Cancel))             # Cancel: nothing starts
    qtbot.wait(300)
    assert window.state.run_state == "idle" and window.state.history.steps == 0

    click(qtbot, button(window, "stepBatchButton"))         # asked again, then accepted
    qtbot.waitUntil(lambda: has_message_box("memoryWarning"), timeout=5_000)
    box = message_boxes("memoryWarning")[0]
    click(qtbot, box.findChild(QPushButton, "trainAnywayButton"))
    qtbot.waitUntil(lambda: window.state.history.steps == 1, timeout=10_000)
    click(qtbot, button(window, "stepBatchButton"))         # accepted: not asked again
    qtbot.waitUntil(lambda: window.state.history.steps == 2, timeout=10_000)
    assert not has_message_box("memoryWarning")


def test_memory_problem_names_the_limit_that_is_exceeded():
    gb = 1_000_000_000
    assert guard.memory_problem(1 * gb, 16 * gb, 8 * gb) is None
    assert guard.memory_problem(9 * gb, 16 * gb, 12 * gb) == "this computer has 16.0 GB in all"
    assert guard.memory_problem(3 * gb, 16 * gb, 2 * gb, resident=1 * gb) == \
        "2.0 GB are free now"
    assert guard.memory_problem(3 * gb, None, None) is None
