"""The window's docks and their default arrangement (also what "Reset layout" restores).

Default, at 1400x900:

    | Layers  | Network     | Loss | Confusion | ... (inspection panels) | Training |
    |         |-------------| Accuracy                                     |          |
    |         | Properties  | Weights | Histograms | Gradient norms | ...  |          |
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabBar, QWidget


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
        w.splitDockWidget(d["loss"], d["accuracy"], Qt.Vertical)
        first = self.groups["bottom"][0]
        w.splitDockWidget(d["accuracy"], d[first], Qt.Vertical)
        for key in self.groups["bottom"][1:]:
            w.tabifyDockWidget(d[first], d[key])
        for key in self.groups["loss"]:
            w.tabifyDockWidget(d["loss"], d[key])
        for dock in d.values():
            dock.show()
        d[first].raise_()
        d["loss"].raise_()
        w.resizeDocks([d["palette"], d["network"], d["loss"], d["training"]],
                      [200, 285, 590, 325], Qt.Horizontal)
        w.resizeDocks([d["network"], d["properties"]], [430, 370], Qt.Vertical)
        w.resizeDocks([d["loss"], d["accuracy"], d[first]], [250, 190, 360], Qt.Vertical)
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
