"""The window's docks and their default arrangement (also what "Reset layout" restores).

Default (the widths at 1400x900):

    | Layers | Network    | Loss | Confusion matrix | Draw a digit | ... | Training |
    | 175    | 240        |   (the tall row: room for the matrix, the pad,  | 300      |
    |        |            |    the backward pass)   ~675                    |          |
    |        |------------|------------------------------------------------ |          |
    |        | Properties | Accuracy                                        |          |
    |        |            | Weights | ... | Misclassified images            |          |

The columns on the left are as wide as their cards need and no wider (``column_widths``): the
room goes to the plots and the inspection panels in the middle, whose tab titles fit whole on a
1366x768 laptop. The Network list is tall enough for LeNet's eleven cards; the properties of
the selected layer get the rest.

The confusion matrix and the images of the cell clicked in it are in two rows, so both are
in view at once: the gallery is a tab of the lower group, which clicking a cell brings to
the front. A window less tall than COMPACT_HEIGHT has the accuracy plot as a tab of the top
group instead of a row of its own. On a smaller screen the window is smaller
(``fitted_size``) and the columns shrink in proportion, never the Training panel below what
its buttons need.

The arrangement follows the window's height, not only at launch and on Reset layout: a window
made less tall than COMPACT_HEIGHT (moved from a large screen to a laptop, or resized) puts
the accuracy plot into the top group, once, when it crosses the line, and only if the plot is
still in its own row; the rest of what the learner arranged stays as it is. Made tall again,
it goes back to the arrangement it had before, if nothing was rearranged in between (or to
the default, if it started compact and nothing was rearranged). A learner who rearranges the
docks after such a switch keeps their arrangement: nothing changes again until the next
crossing, and then only where the docks are still where the switch left them.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabBar, QWidget

#: Room left around the window for its frame and title bar, in pixels.
FRAME_ROOM = (16, 40)
#: Column widths and row heights of the default layout at 1400x900, in proportion to the
#: window's size (the left columns: see ``column_widths``).
_COLUMNS = (200, 285, 590, 325)
_RIGHT_ROWS = (480, 140, 230)
#: The Network list's share of the left column's height at first (the rest: Layer
#: properties); then ``fit_left_rows`` shares it by what the two show.
_NETWORK_SHARE = 0.64
#: Widths of the left columns and the Training panel: (share of the window, least, most).
_PALETTE_W = (0.125, 165, 230)
_NETWORK_W = (0.17, 235, 290)
_TRAINING_W = (0.21, 290, 340)
#: A window less tall than this has two rows there, not three: the accuracy plot is a tab
#: next to the loss plot (three rows left the matrix and the pad less than 200 px at 768).
COMPACT_HEIGHT = 800
_COMPACT_ROWS = (66, 34)                # per cent
#: A resize is acted on once the window has kept its height this long (ms): one switch after
#: a drag, not one per step of it.
SETTLE_MS = 150
#: The least height of the window with the compact arrangement, until it has been seen (then
#: the one seen is used): while the accuracy plot has a row of its own, the window may be made
#: this short (see ``_allow_compact_height``).
COMPACT_LEAST_HEIGHT = 540
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


def column_widths(width: int, training_hint: int = 0) -> list[int]:
    """Widths of the four columns (Layers, Network, the plots, Training) of a window ``width``
    wide. The palette and the network list get what their cards need (they hold no more on a
    large screen), the Training panel what its fields need, the plots the rest; a narrow window
    (a 1024 px screen) shares its width in the proportions of ``_COLUMNS`` instead, when that
    leaves the plots more room."""
    def clamp(share, least, most):
        return max(least, min(most, round(share * width)))
    training = max(TRAINING_MIN_WIDTH + 10, min(_TRAINING_W[2],
                                                 max(training_hint, clamp(*_TRAINING_W))))
    fitted = [clamp(*_PALETTE_W), clamp(*_NETWORK_W), 0, training]
    fitted[2] = width - sum(fitted) - 12
    scaled = [round(c * width / 1400) for c in _COLUMNS]
    scaled[3] = max(scaled[3], TRAINING_MIN_WIDTH + 10)
    scaled[2] = width - scaled[0] - scaled[1] - scaled[3] - 12
    return fitted if fitted[2] >= scaled[2] else scaled


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


class DockLayout(QObject):
    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self.docks: dict[str, QDockWidget] = {}
        self.order: list[str] = []
        self.groups: dict[str, list[str]] = {"loss": [], "bottom": []}   # tabified docks
        # following the height (see the module's docstring)
        self._short = window.height() < COMPACT_HEIGHT      # as last acted on
        self._before_switch = None      # the dock state before the last switch to compact
        self._switched_to = None        # the docks' places right after the last switch
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._on_settle_timeout)
        self._left_rows = None          # the left column's heights as last set by us
        self._fitted_width = window.width()     # the width the columns were last fitted to
        self._compact_least = COMPACT_LEAST_HEIGHT  # the compact window's least height seen
        self._fitted_height = window.height()   # the height the rows were last fitted to
        window.installEventFilter(self)
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
        for name, tip in (("qt_dockwidget_floatbutton",
                           f"Show {title} in a window of its own (again, or a double-click on "
                           f"its title: back in place)"),
                          ("qt_dockwidget_closebutton",
                           f"Close {title} (View ▸ {title} brings it back)")):
            button = dock.findChild(QWidget, name)
            if button is not None:
                button.setToolTip(tip)
        self.docks[key] = dock
        self.order.append(key)
        if group is not None:
            self.groups[group].append(key)
        return dock

    def apply_default(self) -> None:
        """Put every dock where it starts."""
        w, d = self.window, self.docks
        for dock in d.values():             # docked first: a floating dock removed and added
            dock.setFloating(False)         # again stayed floating
        for dock in d.values():
            w.removeDockWidget(dock)
        w.addDockWidget(Qt.LeftDockWidgetArea, d["palette"])
        w.splitDockWidget(d["palette"], d["network"], Qt.Horizontal)
        w.splitDockWidget(d["network"], d["properties"], Qt.Vertical)
        w.addDockWidget(Qt.RightDockWidgetArea, d["loss"])
        w.splitDockWidget(d["loss"], d["training"], Qt.Horizontal)
        first = self.groups["bottom"][0]
        compact = w.height() < COMPACT_HEIGHT
        self._short = compact
        self._settle.stop()
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
        self.fit_columns()
        w.resizeDocks([d["network"], d["properties"]],
                      [round(_NETWORK_SHARE * 1000), round((1 - _NETWORK_SHARE) * 1000)],
                      Qt.Vertical)
        self._left_rows = None
        QTimer.singleShot(0, self.fit_left_rows)     # once the docks have their sizes
        self.fit_rows(compact)
        self.polish_tabs()
        self._allow_compact_height(compact)
        # going tall from here is the default's business, as long as nothing is rearranged
        self._before_switch = None
        self._switched_to = self.places() if compact else None

    def _training_hint(self) -> int:
        panel = self.docks["training"].widget()
        return panel.widget().minimumSizeHint().width() + 6                     # the dock's frame

    def fit_columns(self) -> None:
        """The default column widths for the window's width (``column_widths``)."""
        w, d = self.window, self.docks
        w.resizeDocks([d["palette"], d["network"], d["loss"], d["training"]],
                      column_widths(w.width(), self._training_hint()), Qt.Horizontal)
        self._fitted_width = w.width()

    def _laid_out(self) -> None:
        """The docks at the places and sizes the window's layout gives them now. Qt applies a
        change of the docks (added, removed, ``resizeDocks``) when the event loop next gets to
        it; read before that, their sizes are stale (after ``make_tall`` rebuilt the default,
        ``keep_columns_sane`` read the Layers column as 1,029 px wide and the Network column as
        180 px, and "kept" those)."""
        layout = self.window.layout()
        if layout is not None:
            layout.activate()

    def _allow_compact_height(self, compact: bool) -> None:
        """The window's least height: the layout's own, but while the accuracy plot has a row of
        its own, the compact arrangement's. Three rows need 718 px, so a window made 700 px tall
        at once (a 1920x1080 window moved to a small screen) stayed 718 px tall, though the
        switch to two rows that follows the resize fits in 700 px."""
        if compact:
            if self.window.minimumHeight() != 0:    # the layout's least size again (0, 0
                self.window.setMinimumSize(0, 0)    # tells Qt that it is not ours)
                if self.window.layout() is not None:
                    self.window.layout().invalidate()
        else:
            self.window.setMinimumHeight(self._compact_least)

    def keep_columns_sane(self) -> None:
        """After the window changed size: made much wider or narrower (another screen, a
        maximised window), the columns as the default has them for that width; a smaller
        change keeps the learner's widths, but the Training panel never narrower than it
        starts and the left columns never much wider (a window made narrow and wide again
        gave the extra room to the network list and squeezed the Training panel)."""
        w, d = self.window, self.docks
        keys = ("palette", "network", "loss", "training")
        if any(d[k].isFloating() or d[k].isHidden() for k in keys):
            return
        self._laid_out()
        if len({w.dockWidgetArea(d[k]) for k in ("palette", "network")}) != 1 \
                or w.dockWidgetArea(d["loss"]) != w.dockWidgetArea(d["training"]):
            return
        if abs(w.width() - self._fitted_width) > 100:
            self.fit_columns()
            return
        want = column_widths(w.width(), self._training_hint())
        have = [d[k].width() for k in keys]
        new = list(have)
        new[3] = max(have[3], want[3])
        for i in (0, 1):                     # the left columns: no more than 40 px extra
            new[i] = min(have[i], want[i] + 40)
        if new != have:
            new[2] = have[2] + sum(have) - sum(new)
            w.resizeDocks([d[k] for k in keys], new, Qt.Horizontal)

    def fit_left_rows(self) -> None:
        """The Network list and Layer properties share the left column by what they show:
        with no layer selected the properties need a few lines and the list (LeNet's eleven
        cards) gets the rest; a selected layer's settings get what they need, up to 45% of
        the column. Left alone once the learner has moved the line between them."""
        w, d = self.window, self.docks
        net, props = d["network"], d["properties"]
        self._laid_out()
        if net.isFloating() or props.isFloating() or net.isHidden() or props.isHidden() \
                or w.dockWidgetArea(net) != w.dockWidgetArea(props) \
                or net.geometry().left() != props.geometry().left():
            return
        have = (net.height(), props.height())
        if self._left_rows is not None and max(abs(a - b) for a, b in
                                               zip(have, self._left_rows)) > 2:
            return                          # the learner's choice
        total = sum(have)
        form = props.widget()
        inner = form.widget() if hasattr(form, "widget") and form.widget() else form
        title = props.height() - form.height() if form.height() else 24
        need = inner.sizeHint().height() + title + 4
        want_props = max(110, min(need, round(0.45 * total)))
        rows = (total - want_props, want_props)
        w.resizeDocks([net, props], list(rows), Qt.Vertical)
        self._laid_out()        # (read now, the heights were the old ones: a later fit took
        self._left_rows = (net.height(), props.height())   # them for the learner's choice)

    def _resize_compact_rows(self) -> None:
        w, d = self.window, self.docks
        w.resizeDocks([d["loss"], d[self.groups["bottom"][0]]],
                      [round(r * w.height() / 100) for r in _COMPACT_ROWS], Qt.Vertical)
        self._fitted_height = w.height()

    def fit_rows(self, compact: bool) -> None:
        """The default row heights of the plots' column for the window's height: two rows
        (``_COMPACT_ROWS``) or three (``_RIGHT_ROWS``)."""
        w, d = self.window, self.docks
        if compact:
            self._resize_compact_rows()
            return
        sy = w.height() / 900
        w.resizeDocks([d["loss"], d["accuracy"], d[self.groups["bottom"][0]]],
                      [round(r * sy) for r in _RIGHT_ROWS], Qt.Vertical)
        self._fitted_height = w.height()

    def keep_rows_sane(self) -> None:
        """After the window was made much taller or shorter (more than 100 px: maximised, moved
        to another screen), the rows of the plots' column as the default has them for that
        height, if the docks there are still as the default has them: a window launched at
        1400x900 and maximised to 1920x1080 had other rows (461/233/238 px) than Reset layout
        gives there (511/190/231), as the columns had before they were refitted too. A smaller
        change keeps the learner's heights."""
        w = self.window
        if abs(w.height() - self._fitted_height) <= 100:
            return
        self._laid_out()
        arrangement = self.arrangement()
        bottom = self.docks[self.groups["bottom"][0]]
        if arrangement is None or bottom.isFloating() or bottom.isHidden() \
                or w.dockWidgetArea(bottom) != w.dockWidgetArea(self.docks["loss"]):
            return
        self.fit_rows(arrangement == "compact")

    # ---- following the window's height -------------------------------------------------------
    def places(self, skip: str | None = None) -> tuple:
        """Where every dock is (floating, hidden, area, the docks tabbed with it): what a
        learner changes by rearranging; which tab is in front and the sizes are left out
        (and the dock ``skip``)."""
        w = self.window
        out = []
        for key, dock in self.docks.items():
            if key == skip:
                continue
            tabbed = frozenset(k for k, other in self.docks.items()
                               if other in w.tabifiedDockWidgets(dock) and k != skip)
            out.append((key, dock.isFloating(), dock.isHidden(), w.dockWidgetArea(dock),
                        tabbed))
        return tuple(out)

    def arrangement(self) -> str | None:
        """"compact" (the accuracy plot is a tab beside the loss plot), "tall" (it has a row
        of its own below it) or None (the learner put it elsewhere, floated or closed it)."""
        w, d = self.window, self.docks
        if "accuracy" not in d or "loss" not in d:
            return None
        acc, loss = d["accuracy"], d["loss"]
        if acc.isFloating() or acc.isHidden() or loss.isFloating() or loss.isHidden():
            return None
        if acc in w.tabifiedDockWidgets(loss):
            return "compact"
        if not w.tabifiedDockWidgets(acc) and w.dockWidgetArea(acc) == w.dockWidgetArea(loss) \
                and acc.geometry().top() >= loss.geometry().bottom():
            return "tall"
        return None

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window:
            kind = event.type()
            if kind == QEvent.Type.Resize:
                if self.window.isVisible():
                    self._settle.start()
                else:                       # sized before it is shown: that is its start
                    self._short = self.window.height() < COMPACT_HEIGHT
            elif kind == QEvent.Type.Show:
                self._settle.stop()
                self._short = self.window.height() < COMPACT_HEIGHT
        return False

    def _on_settle_timeout(self) -> None:
        w = self.window
        if not w.isVisible() or w.isMinimized():
            return
        short = w.height() < COMPACT_HEIGHT
        if short != self._short:            # no crossing: whatever the learner did stays
            self._short = short
            if short:
                self.make_compact()
            else:
                self.make_tall()
        self.keep_columns_sane()
        self._laid_out()
        self.keep_rows_sane()
        self._laid_out()
        arrangement = self.arrangement()
        if arrangement == "compact":
            self._compact_least = max(300, w.minimumSizeHint().height())
        self._allow_compact_height(arrangement != "tall")
        self._left_rows = None              # the heights changed with the window
        self.fit_left_rows()

    def _fronts(self) -> list[QDockWidget]:
        """The docks shown in front of their tab groups."""
        return [d for d in self.docks.values()
                if not d.isHidden() and not d.visibleRegion().isEmpty()]

    def make_compact(self) -> bool:
        """The accuracy plot from its own row into the top group (only if it is in that row);
        the tabs in front stay in front. True if it moved."""
        if self.arrangement() != "tall":
            return False
        w, d = self.window, self.docks
        fronts = self._fronts()
        self._before_switch = w.saveState()
        w.tabifyDockWidget(d["loss"], d["accuracy"])
        for dock in fronts:
            dock.raise_()
        bottom = d[self.groups["bottom"][0]]
        if not bottom.isFloating() and w.dockWidgetArea(bottom) == w.dockWidgetArea(d["loss"]):
            self._resize_compact_rows()
        self._allow_compact_height(True)
        self.polish_tabs()
        self._switched_to = self.places()
        return True

    def make_tall(self) -> bool:
        """Back to the arrangement before the switch to compact (or the default one, if it
        started compact), but only if the docks are still where the switch (or the default)
        put them. True if it changed."""
        if self.arrangement() != "compact" or self._switched_to is None \
                or self.places() != self._switched_to:
            return False
        w = self.window
        if self._before_switch is not None:
            before = self._before_switch
            self._before_switch = self._switched_to = None
            w.restoreState(before)
            self._fitted_height = w.height()        # the rows it had at this height
            self.polish_tabs()
            return True
        fronts = [dock for dock in self._fronts() if dock is not self.docks["accuracy"]]
        self.apply_default()
        for dock in fronts:
            dock.raise_()
        return True

    def place(self, dock: QDockWidget) -> None:
        """Add a dock made after the default layout to its tab group, behind the others."""
        key = next(k for k, v in self.docks.items() if v is dock)
        group = next((g for g, keys in self.groups.items() if key in keys), None)
        anchor = self.docks["loss"] if group == "loss" else self.docks[self.groups["bottom"][0]]
        ours = self._switched_to is not None and self._switched_to == self.places(skip=key)
        self.window.tabifyDockWidget(anchor, dock)
        anchor.raise_()
        if ours:                            # the arrangement is still the one we made
            self._switched_to = self.places()

    def polish_tabs(self) -> None:
        """Every tab of the tabbed docks in view: whole titles where they fit (the default
        layout leaves room for them at 1366x768); in a narrower group the titles are
        shortened evenly ("Confusi…") rather than some tabs pushed out of sight behind
        scroll arrows. Each tab's tooltip has its whole title. (A panel's own tabs are the
        panel's business: the confusion panel elides its three, for one.)"""
        for bar in self.window.findChildren(QTabBar):
            if not isinstance(bar.parentWidget(), QMainWindow):
                continue
            bar.setElideMode(Qt.ElideRight)
            bar.setUsesScrollButtons(False)
            for i in range(bar.count()):
                bar.setTabToolTip(i, bar.tabText(i))
