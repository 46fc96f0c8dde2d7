"""The look: Fusion with a light palette, a readable font size, one small style sheet."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

STYLE_SHEET = """
QMainWindow::separator { background: #dfe3e8; width: 4px; height: 4px; }
QDockWidget { font-weight: 600; }
QDockWidget::title { background: #eef1f5; padding: 5px 8px; border-bottom: 1px solid #dfe3e8; }
QGroupBox { font-weight: 600; border: 1px solid #dfe3e8; border-radius: 6px; margin-top: 10px;
            padding-top: 6px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #374151; }
QLineEdit[invalid="true"] { border: 1px solid #c62828; background: #fff5f5; }
QLabel#fieldMessage { color: #b71c1c; }
QLabel#propertiesTitle { font-size: 11pt; font-weight: 600; }
QLabel#propertiesDescription, QLabel#weightsCaption, QLabel#inputShapeLabel { color: #4b5563; }
QLabel#propertiesShapes { color: #374151; background: #f3f6fa; border-radius: 4px;
                          padding: 5px; }
QLabel#propertiesProblem { color: #b71c1c; background: #fdecea; border: 1px solid #f3b7b2;
                           border-radius: 4px; padding: 6px; }
QLabel#totalParams { background: #eef3fb; border-radius: 4px; padding: 6px; }
QLabel#totalParams[invalid="true"] { background: #fdecea; color: #b71c1c; }
QLabel#runNotice { background: #fff6e0; border: 1px solid #f0c36d; border-radius: 4px;
                   padding: 6px; }
QLabel#plotCaption { font-weight: 600; color: #374151; padding-left: 4px; }
QPushButton { padding: 5px 10px; }
QPushButton[primary="true"] { font-weight: 700; background: #2f6db5; color: white;
                              border: 1px solid #255a96; border-radius: 4px; }
QPushButton[primary="true"]:hover { background: #3a7cc6; }
QPushButton[primary="true"]:disabled { background: #a9bcd6; border-color: #a9bcd6; }
QLabel#status_run[runState="running"] { color: #2e7d32; font-weight: 700; }
QLabel#status_run[runState="paused"] { color: #b76e00; font-weight: 700; }
QStatusBar QLabel { padding: 0 8px; border-left: 1px solid #dfe3e8; }
QListWidget#layerPalette, QListWidget#layerStack { background: #f7f8fa; border: none; }
"""


def apply(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.Window, QColor("#f7f8fa"))
    pal.setColor(QPalette.Base, QColor("#ffffff"))
    pal.setColor(QPalette.AlternateBase, QColor("#f3f5f8"))
    pal.setColor(QPalette.Text, QColor("#1f2933"))
    pal.setColor(QPalette.WindowText, QColor("#1f2933"))
    pal.setColor(QPalette.ButtonText, QColor("#1f2933"))
    pal.setColor(QPalette.Button, QColor("#fdfdfe"))
    pal.setColor(QPalette.Highlight, QColor("#2f6db5"))
    pal.setColor(QPalette.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.ToolTipBase, QColor("#ffffff"))
    pal.setColor(QPalette.ToolTipText, QColor("#1f2933"))
    app.setPalette(pal)
    font = QFont(app.font())
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
    pg.setConfigOptions(background="w", foreground="#374151", antialias=False)
