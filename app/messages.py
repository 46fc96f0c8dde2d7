"""Messages to the learner: non-blocking message boxes with a "details" section.

They open window-modal but do not block the event loop (``open()``, not ``exec()``), so
training views keep updating and tests can read and close them.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox


def show_error(parent, title: str, message: str, details: str = "",
               icon=QMessageBox.Warning) -> QMessageBox:
    box = QMessageBox(icon, title, message, QMessageBox.Ok, parent)
    box.setObjectName("errorDialog")
    box.setAttribute(Qt.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextSelectableByMouse)
    if details:
        box.setDetailedText(details)
    box.setWindowModality(Qt.WindowModal)
    box.open()
    return box


def _repeats(details: str, message: str) -> bool:
    """Details that only say the message again ("nncore: <the message>"): no Show Details."""
    text = details.strip()
    if ":" in text[:12] and text.split(":", 1)[0].isidentifier():
        text = text.split(":", 1)[1].strip()       # "nncore: ...", "Error: ..."
    return text == message.strip()


def show_failure(parent, failure, on_rewind=None) -> QMessageBox:
    """A worker Failure; for divergence, a "Rewind to last good state" button."""
    box = QMessageBox(QMessageBox.Warning, failure.title, failure.message, QMessageBox.NoButton,
                      parent)
    box.setObjectName("failureDialog")
    box.setAttribute(Qt.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextSelectableByMouse)
    if failure.advice:
        box.setInformativeText(failure.advice)
    if failure.details and not _repeats(failure.details, failure.message):
        box.setDetailedText(failure.details)
    if failure.can_rewind and on_rewind is not None:
        rewind = box.addButton("Rewind to last good state", QMessageBox.AcceptRole)
        rewind.setObjectName("rewindGoodButton")
        rewind.clicked.connect(on_rewind)
        box.addButton(QMessageBox.Close)
    else:
        box.addButton(QMessageBox.Ok)
    box.setWindowModality(Qt.WindowModal)
    box.open()
    return box
