"""The Qt binding must not leak references to None/True/False (PySide6 6.12 on Python 3.11 did,
and the interpreter aborted with "none_dealloc" after some thousands of calls)."""
import sys

from PySide6.QtWidgets import QWidget


def test_qt_calls_keep_none_and_bool_references(qtbot):
    w = QWidget()
    qtbot.addWidget(w)
    before = [sys.getrefcount(o) for o in (None, True, False)]
    for _ in range(2000):
        w.setToolTip("x")          # returns None
        w.isVisible()              # returns False
        w.isEnabled()              # returns True
    after = [sys.getrefcount(o) for o in (None, True, False)]
    assert all(a - b > -50 for a, b in zip(after, before))
