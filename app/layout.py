"""The window's docks and their default arrangement (also what "Reset layout" restores).

Default, at 1400x900:

    | Layers  | Network     | Loss | Confusion matrix | Draw a digit | ... | Training |
    |         |             |   (the tall row: room for the matrix, the pad, |          |
    |         |-------------|    the backward pass)                          |          |
    |         |             | Accuracy                                       |          |
    |         | Properties  | Weights | ... | Misclassified images         |          |

The confusion matrix and the images of the cell clicked in it are in two rows, so both are
in view at once: the gallery is a tab of the lower group, which clicking a cell brings to
the front. A window less tall than COMPACT_HEIGHT has the accuracy plot as a tab of the top
group instead of a row of its own. On a smaller screen the window is smaller
(``fitted_size``) and the columns shrink in proportion, never the Training panel below what
its buttons need.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabBar, QWidget

#: Room left around the window for its frame and title bar, in pixels.
FRAME_ROOM = (16, 40)
#: Column widths and row heights of the default layout at 1400x900.
_COLUMNS = (200, 285, 590, 325)
_LEFT_ROWS = (430, 370)
_RIGHT_ROWS = (400, 150, 250)
#: A window less tall than this has two rows there, not three: the accuracy plot is a tab
#: next to the loss plot (three rows left the matrix and the pad less than 200 px at 768).
COMPACT_HEIGHT = 800
_COMPACT_ROWS = (62, 38)                # per cent
#: The Training panel is never narrower than this (its buttons and fields fit).
TRAINING_MIN_WIDTH = 250


def fitted_size(size, available) -> tuple[int, int]:
    """``size`` (width, height), made small enough for the screen area ``available`` (a QRect,
    or None: unknown), with room for the window's frame."""
    w, h = int(size[0]), int(size[1])
    if available is None or available.isEmpty():
        return w, h
    return (max(min(w, available.width() - FRAME_ROOM[0]), 400),
            max(min(h, available.height() - FRAME_ROOM[1]), 300))


def use_offscreen_screen(width: int = 1920, height: int = 1080) -> None:
    """For tests and scripts: Qt's offscreen platform has an 800x800 screen unless told
    otherwise, smaller than the window, which then shrinks to fit it. A plain
    ``QT_QPA_PLATFORM=offscreen`` (or none) becomes one ``width`` x ``height`` screen. Call it
    before the QApplication is made."""
    if os.environ.get("QT_QPA_PLATFORM", "offscreen") != "offscreen":
        return
    path = Path(tempfile.gettempdir()) / f"nn-studio-offscreen-{width}x{height}.json"
    config = {"synchronousWindowSystemEvents": False, "windowFrameMargins": False,
              "screens": [{"name": f"offscreen{width}x{height}", "x": 0, "y": 0,
                           "width": width, "height": height, "logicalDpi": 96,
                           "logicalBaseDpi": 96, "dpr": 1}]}
    text = json.dumps(config)
    try:
        if not path.is_file() or path.read_text() != text:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, path)
    except OSError:
        return                      # an 800x800 screen, then
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={path}"


#: Where each inspection panel (app.inspect, by object name) goes: "loss", tabbed with the
#: loss plot in the tall row; "bottom", tabbed with the weights under the accuracy plot.
_INSPECTION_GROUPS = {"galleryPanel": "bottom"}


def inspection_group(name: str) -> str:
    """The tab group of the inspection panel named ``name`` (its object name)."""
    return _INSPECTION_GROUPS.get(name, "loss")


class DockLayout:
    def __init__(self, window: QMainWindow):
        self.window = window
        self.docks: dict[str, QDockWidget] = {}
        self.order: list[str] = []
        self.groups: dict[str, list[str]] = {"loss": [], "bottom": []}   # tabified docks
        window.setDockNestingEnabled(True)
        window.setCorner(Qt.BottomLeftCorner, Qt.LeftDockWidgetArea)
        window.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)
        central = QWidget(window)
        central.setMaximumSize(0, 0)
        central.hide()
        window.setCentralWidget(central)

    def add(self, key: str, title: str, widget: QWidget, group: str | None = None) -> QDockWidget:
        """A dock for ``widget``; ``group`` "loss" tabs it with the loss plot, "bottom" puts it
        in the tab group under the accuracy plot."""
        dock = QDockWidget(title, self.window)
        dock.setObjectName(f"{key}Dock")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                         | QDockWidget.DockWidgetClosable)
        self.docks[key] = dock
        self.order.append(key)
        if group is not None:
            self.groups[group].append(key)
        return dock

    def apply_default(self) -> None:
        """Put every dock where it starts."""
        w, d = self.window, self.docks
        for dock in d.values():
            w.removeDockWidget(dock)
        for dock in d.values():
            dock.setFloating(False)
        w.addDockWidget(Qt.LeftDockWidgetArea, d["palette"])
        w.splitDockWidget(d["palette"], d["network"], Qt.Horizontal)
        w.splitDockWidget(d["network"], d["properties"], Qt.Vertical)
        w.addDockWidget(Qt.RightDockWidgetArea, d["loss"])
        w.splitDockWidget(d["loss"], d["training"], Qt.Horizontal)
        first = self.groups["bottom"][0]
        compact = w.height() < COMPACT_HEIGHT
        if compact:
            w.splitDockWidget(d["loss"], d[first], Qt.Vertical)
            w.tabifyDockWidget(d["loss"], d["accuracy"])
        else:
            w.splitDockWidget(d["loss"], d["accuracy"], Qt.Vertical)
            w.splitDockWidget(d["accuracy"], d[first], Qt.Vertical)
        for key in self.groups["bottom"][1:]:
            w.tabifyDockWidget(d[first], d[key])
        for key in self.groups["loss"]:
            w.tabifyDockWidget(d["loss"], d[key])
        for dock in d.values():
            dock.show()
        d[first].raise_()
        d["loss"].raise_()
        d["training"].widget().setMinimumWidth(TRAINING_MIN_WIDTH)
        # the sizes at 1400x900, in proportion to the window's size
        sx, sy = w.width() / 1400, w.height() / 900
        cols = [round(c * sx) for c in _COLUMNS]
        cols[3] = max(cols[3], TRAINING_MIN_WIDTH + 10)
        w.resizeDocks([d["palette"], d["network"], d["loss"], d["training"]], cols,
                      Qt.Horizontal)
        w.resizeDocks([d["network"], d["properties"]], [round(r * sy) for r in _LEFT_ROWS],
                      Qt.Vertical)
        if compact:
            w.resizeDocks([d["loss"], d[first]],
                          [round(r * w.height() / 100) for r in _COMPACT_ROWS], Qt.Vertical)
        else:
            w.resizeDocks([d["loss"], d["accuracy"], d[first]],
                          [round(r * sy) for r in _RIGHT_ROWS], Qt.Vertical)
        self.polish_tabs()

    def place(self, dock: QDockWidget) -> None:
        """Add a dock made after the default layout to its tab group, behind the others."""
        key = next(k for k, v in self.docks.items() if v is dock)
        group = next((g for g, keys in self.groups.items() if key in keys), None)
        anchor = self.docks["loss"] if group == "loss" else self.docks[self.groups["bottom"][0]]
        self.window.tabifyDockWidget(anchor, dock)
        anchor.raise_()

    def polish_tabs(self) -> None:
        """Whole titles on the tabs of tabbed docks; arrows when they do not fit."""
        for bar in self.window.findChildren(QTabBar):
            bar.setElideMode(Qt.ElideNone)
            bar.setUsesScrollButtons(True)
