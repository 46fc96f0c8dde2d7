"""The look: Fusion with a light palette, a readable font size, one small style sheet.

The palette is set for the Active and Inactive groups and, separately, for the Disabled one:
a disabled button, field or label is greyed, so what cannot be used now looks it."""
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
QLineEdit:disabled { color: #9aa1ab; background: #f0f2f5; border: 1px solid #dfe3e8; }
QLabel#fieldMessage { color: #b71c1c; }
QLabel#trainBlocked { color: #b71c1c; background: #fdecea; border: 1px solid #f3b7b2;
                      border-radius: 4px; padding: 5px; }
QLabel#propertiesLocked { color: #6b7280; font-style: italic; }
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
QPushButton { padding: 5px 6px; }
QPushButton[primary="true"] { font-weight: 700; background: #2f6db5; color: white;
                              border: 1px solid #255a96; border-radius: 4px; }
QPushButton[primary="true"]:hover { background: #3a7cc6; }
QPushButton[primary="true"]:disabled { background: #a9bcd6; border-color: #a9bcd6; }
QLabel#status_run[runState="running"] { color: #2e7d32; font-weight: 700; }
QLabel#status_run[runState="paused"] { color: #b76e00; font-weight: 700; }
QStatusBar QLabel { padding: 0 8px; border-left: 1px solid #dfe3e8; }
QListWidget#layerPalette, QListWidget#layerStack { background: #f7f8fa; border: none; }
"""


#: (role, enabled colour, disabled colour); tooltips are never disabled.
_COLORS = (
    (QPalette.Window, "#f7f8fa", "#f7f8fa"),
    (QPalette.Base, "#ffffff", "#f0f2f5"),
    (QPalette.AlternateBase, "#f3f5f8", "#f0f2f5"),
    (QPalette.Text, "#1f2933", "#9aa1ab"),
    (QPalette.WindowText, "#1f2933", "#9aa1ab"),
    (QPalette.ButtonText, "#1f2933", "#a3a9b2"),
    (QPalette.Button, "#fdfdfe", "#f1f3f6"),
    (QPalette.Highlight, "#2f6db5", "#c3ccd8"),
    (QPalette.HighlightedText, "#ffffff", "#f7f8fa"),
    (QPalette.PlaceholderText, "#8a929c", "#b4bac2"),
    (QPalette.Light, "#ffffff", "#ffffff"),
)


def palette() -> QPalette:
    """The light palette: every role for the active and inactive states and, greyed, for the
    disabled one (a palette colour set without a group would be used for disabled too)."""
    pal = QPalette()
    for role, normal, disabled in _COLORS:
        for group in (QPalette.Active, QPalette.Inactive):
            pal.setColor(group, role, QColor(normal))
        pal.setColor(QPalette.Disabled, role, QColor(disabled))
    for group in (QPalette.Active, QPalette.Inactive, QPalette.Disabled):
        pal.setColor(group, QPalette.ToolTipBase, QColor("#ffffff"))
        pal.setColor(group, QPalette.ToolTipText, QColor("#1f2933"))
    return pal


def apply(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setPalette(palette())
    font = QFont(app.font())
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
    pg.setConfigOptions(background="w", foreground="#374151", antialias=False)
