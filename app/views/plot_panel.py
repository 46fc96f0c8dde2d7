"""A plot with export buttons: PNG (pyqtgraph's ImageExporter) and CSV (one table, a row per
step: ``curves_csv``). Both files are written atomically; the status bar says where they went,
and a file that cannot be written gets a message that says why."""
from __future__ import annotations

import csv
import io
import math
import os

import pyqtgraph as pg
import pyqtgraph.exporters as pg_exporters
import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice, QObject, QSize
from PySide6.QtWidgets import QGraphicsItem
from superqt.utils import qthrottled
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMainWindow,
                               QToolButton, QVBoxLayout, QWidget)

from nncore.errors import NNCoreError
from nncore.io import atomic_write_bytes

from .pacing import gate
from .seen import WhenSeen

# Colours shared by all plots (colour-blind friendly: blue / orange / green / grey).
BLUE = "#2f6db5"
LIGHT_BLUE = "#9dbbe3"
ORANGE = "#e0701a"
GREEN = "#2e8b57"
LIGHT_GREEN = "#a9d8b8"
#: A view redraws at most this often (ms) while training runs; hidden views wait until shown.
REDRAW_MS = 200

LAYER_COLORS = ["#2f6db5", "#e0701a", "#2e8b57", "#8e44ad", "#c0392b", "#16a085", "#b7950b",
                "#5d6d7e"]


NICE = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8)

#: Steps an x range grows by (SteadyAxes): each change redraws the whole plot.
GROWTH = (1, 2, 5)


def run_span(progress) -> tuple[int, int]:
    """(one epoch's batches, the batch the run ends at) of ``progress`` (a state.Progress):
    the least x range and the end of a live plot of steps (SteadyAxes.update's ``span``)."""
    per_epoch = max(int(progress.batches_per_epoch), 0)
    return per_epoch, per_epoch * max(int(progress.target_epoch), 0)


def nice_ceiling(v: float, steps: tuple = NICE) -> float:
    """The smallest of ``steps`` (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 unless given) times a power
    of ten that is >= v."""
    if not math.isfinite(v) or v <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(v))
    for m in tuple(steps) + (10,):
        if m * scale >= v * (1 - 1e-12):
            return m * scale
    return 10 * scale


class SteadyAxes:
    """Keeps a live plot's axes still while its curves grow.

    The axes draw the grid, so whenever a range changes the whole plot is redrawn, labels and
    all, and every curve is thinned and drawn again: the most expensive part of a live plot
    (10-12 ms for the loss or the accuracy plot, measured; the unchanged plot redraws new points
    in 1-2 ms). So the x range changes seldom: it starts at least ``span``'s first value wide
    (one epoch's batches: the first epoch never changes it), grows in steps of 1, 2, 5, 10, ...
    (each change leaves the data at least a third of the range), and goes to the end of the
    run (``span``'s second value, rounded up a little) once that is near — 4 changes in the
    default 10-epoch run, not 13. The y range only takes nice bounds (whole decades on a log axis, ``log_y``), and
    the axes are cached as pixmaps, so most updates redraw only the curves. Zooming or panning
    by hand stops this until the plot's "A" (auto-range) button is pressed.
    """

    def __init__(self, item: pg.PlotItem, y_range: tuple | None = None, log_y: bool = False):
        self.item = item
        self.y_range = y_range
        self.log_y = log_y
        self.follow = True
        self.x_max = None
        self.y_bounds = None
        item.disableAutoRange()
        for name in ("left", "bottom"):
            item.getAxis(name).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        item.getViewBox().sigRangeChangedManually.connect(self._on_view_range_changed_manually)
        item.autoBtn.clicked.connect(self._on_auto_button_clicked)

    def update(self, x_max: float, y_lo: float | None = None, y_hi: float | None = None,
               span: tuple = (0, 0)):
        """Fit the ranges to data reaching ``x_max`` on x and from ``y_lo`` to ``y_hi``;
        ``span``: (the least x range, where the run ends), see ``run_span``."""
        if not self.follow:
            return
        # (after growing, the data fills at least a third of the range: less means a rewind)
        if self.x_max is None or x_max > self.x_max or x_max < 0.25 * self.x_max:
            least, end = span
            new = nice_ceiling(max(x_max * 1.1, least, 10), GROWTH)
            if end >= x_max:                    # the run's end (and a little room) if near
                last = nice_ceiling(max(end * 1.02, 10))
                new = last if last <= 1.5 * new else new
            if new != self.x_max:
                self.x_max = new
                self.item.setXRange(0, self.x_max, padding=0)
        bounds = self.y_range
        if self.log_y:
            if y_lo is not None and y_hi is not None and 0 < y_lo <= y_hi < math.inf:
                bounds = (math.floor(math.log10(y_lo)), math.ceil(math.log10(y_hi)))
                if bounds[0] == bounds[1]:
                    bounds = (bounds[0] - 1, bounds[1])
        elif bounds is None and y_hi is not None and math.isfinite(y_hi):
            lo = 0.0 if y_lo is None or y_lo >= 0 else -nice_ceiling(-y_lo)
            bounds = (lo, nice_ceiling(y_hi))
        if bounds is not None and bounds != self.y_bounds:
            self.y_bounds = bounds
            self.item.setYRange(*bounds, padding=0.02)

    def reset(self):
        self.follow = True
        self.x_max = None
        self.y_bounds = None

    def _on_view_range_changed_manually(self, *args):
        self.follow = False

    def _on_auto_button_clicked(self):
        self.reset()
        self.item.disableAutoRange()


class SteadyRange:
    """One axis's range that changes seldom: it is set with a margin, to round numbers, and
    changes only when the data leaves it or comes to fill less than ``fill`` of it (a change
    redraws the axis, its labels and the grid: the dearest part of a plot's redraw)."""

    def __init__(self, fill: float = 0.4, margin: float = 0.1):
        self.fill, self.margin = fill, margin
        self.lo = self.hi = None

    def fit(self, lo: float, hi: float) -> tuple[float, float] | None:
        """The new range if [lo, hi] no longer fits this one, else None."""
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return None
        if (self.lo is not None and self.lo <= lo and hi <= self.hi
                and hi - lo >= self.fill * (self.hi - self.lo)):
            return None
        span = (hi - lo) or abs(hi) or 1.0
        step = nice_ceiling(span * self.margin, (1, 2, 5))
        # (a range from 0, like counts, stays at 0)
        new_lo = 0.0 if lo == 0 else math.floor((lo - span * self.margin) / step) * step
        new_hi = math.ceil((hi + span * self.margin) / step) * step
        self.lo, self.hi = new_lo, new_hi
        return new_lo, new_hi

    def reset(self) -> None:
        self.lo = self.hi = None


class DecadeAxis(pg.AxisItem):
    """A log-scale axis labelled at powers of ten only (minor ticks at 2 and 5, unlabelled)."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        lo, hi = math.floor(minVal), math.ceil(maxVal)
        decades = [float(v) for v in range(lo, hi + 1) if minVal <= v <= maxVal]
        minor = [v + math.log10(m) for v in range(lo, hi) for m in (2, 5)
                 if minVal <= v + math.log10(m) <= maxVal]
        if len(decades) < 2:            # less than a decade shown: label the minor ticks too
            return [(1.0, decades + minor)]
        return [(1.0, decades), (None, minor)]

    def tickStrings(self, values, scale, spacing):
        if spacing is None:
            return [""] * len(values)
        return [f"{10 ** v:g}" for v in values]


def make_plot(name: str, left: str, bottom: str = "batch", log_y: bool = False) -> pg.PlotWidget:
    """A PlotWidget set up for long live curves: downsampling, clip to view, a grid. (Legends
    are drawn in the panel's header, outside the plot: cheaper to redraw, never over a curve.)"""
    plot = pg.PlotWidget(axisItems={"left": DecadeAxis("left")} if log_y else None)
    plot.setObjectName(name)
    item = plot.getPlotItem()
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setLabel("left", left)
    item.setLabel("bottom", bottom)
    item.setMenuEnabled(True)
    plot.setMinimumSize(QSize(200, 140))
    return plot


def csv_number(v) -> str:
    """A value as a CSV cell: whole numbers without a point ("1", not "1." or "1.0"), others
    in the fewest digits that read back as the same number, "nan" / "inf" as they are."""
    v = float(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def curves_csv(x_name: str, columns) -> bytes:
    """One table of several curves: ``columns`` is [(name, x, y)]; a row for every x that any
    curve has (in order), each curve's y in its own column and blank where it has no point
    (per-epoch values sit on the row of the step that ended their epoch)."""
    columns = [(name, np.asarray(x, dtype=float), np.asarray(y, dtype=float))
               for name, x, y in columns]
    xs = np.unique(np.concatenate([x for _, x, _ in columns])) if columns else np.empty(0)
    rows = [[csv_number(x)] + [""] * len(columns) for x in xs]
    for j, (_, x, y) in enumerate(columns):
        for i, v in zip(np.searchsorted(xs, x), y):
            rows[i][j + 1] = csv_number(v)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([x_name] + [name for name, _, _ in columns])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def png_bytes(image) -> bytes:
    """A QImage encoded as PNG."""
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    if not image.save(buf, "PNG"):
        raise NNCoreError("the image could not be encoded as PNG")
    buf.close()
    return bytes(data)


def _joined(paths) -> str:
    return paths[0] if len(paths) == 1 else ", ".join(paths[:-1]) + " and " + paths[-1]


def hold_training_while_painting(widget) -> QObject:
    """Training waits between batches while ``widget`` paints (a view whose paint runs
    Python: a delegate's, pyqtgraph's), instead of taking turns with it on the interpreter
    lock in the middle of the paint. The returned filter belongs to ``widget``."""
    hold = _HoldWhilePainting(widget)
    widget.installEventFilter(hold)
    return hold


class _HoldWhilePainting(QObject):
    """Event filter of a plot's viewport: training waits while it paints (pacing.gate). The
    paint comes in an event of its own, after the redraw that asked for it (Qt paints a few
    milliseconds later), and it is where a plot's Python runs: pyqtgraph paints its items."""

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            gate.hold()
        return False


class PlotPanel(QWidget):
    """``plot_widget`` (a PlotWidget or GraphicsLayoutWidget) under a row of export buttons.

    Subclasses draw in ``redraw()`` and ask for it with ``request_redraw()``: redraws are
    throttled to one per ``REDRAW_MS``, always a little later in an event of their own (so
    handling an update never includes drawing: no long stall of the event loop), and skipped
    while the panel cannot be seen (closed, or a tab behind another), then done once when it
    comes into view (app.views.seen)."""

    def __init__(self, plot_widget, icons, title: str = "", extra_widgets=(), parent=None,
                 redraw_ms: int = REDRAW_MS):
        super().__init__(parent)
        self.plot_widget = plot_widget
        self._dirty = False
        self._redraw_ms = redraw_ms
        self._next_timeout = redraw_ms
        self.when_seen = WhenSeen(self)
        self._throttled_redraw = qthrottled(self._redraw_if_visible, timeout=redraw_ms,
                                            leading=False)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.setSpacing(4)
        self.caption = QLabel(title)
        self.caption.setObjectName("plotCaption")
        self.caption.setVisible(bool(title))
        bar.addWidget(self.caption)
        self.legend = QLabel()
        self.legend.setObjectName("plotLegend")
        # a narrow panel wraps its legend (the legend's one line had set the plots column's
        # least width: at 1024x768 the Layers palette was left 74 px)
        self.legend.setWordWrap(True)
        bar.addWidget(self.legend, 1)
        for w in extra_widgets:
            bar.addWidget(w)
        for kind, icon, tip in (("png", "export", "Export this plot as a PNG image"),
                                ("csv", "csv", "Export the plotted data as CSV")):
            b = QToolButton(self)
            b.setObjectName(f"export{kind.upper()}Button")
            b.setIcon(icons(icon))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.clicked.connect(lambda checked=False, k=kind: self._on_export_clicked(k))
            bar.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        lay.addWidget(plot_widget, 1)
        self._paint_hold = hold_training_while_painting(plot_widget.viewport())

    def set_legend(self, entries) -> None:
        """[(colour, text, mark)] with mark "line", "dot" or "square", shown in the header."""
        marks = {"line": "━", "dot": "●", "square": "■"}
        text = "&nbsp;&nbsp;".join(
            f'<span style="color:{c}">{marks.get(m, m)}</span>&nbsp;{t}' for c, t, m in entries)
        if text != self.legend.text():
            self.legend.setText(text)

    # ---- redrawing ---------------------------------------------------------------------------
    def redraw(self) -> None:
        """Draw the current state (subclasses)."""

    def set_slowdown(self, factor: float) -> None:
        """Redraw ``factor`` times less often than normal (app.views.pacing). A redraw already
        waiting keeps its time; the new interval counts from the next one. (QTimer.setInterval
        restarts a running timer: the pacer, which changes the factor every half second when
        training starts, kept the accuracy plot from its first redraw for 5 s.)"""
        self._next_timeout = int(self._redraw_ms * factor)
        if not self._dirty:
            self._throttled_redraw.setTimeout(self._next_timeout)

    def request_redraw(self) -> None:
        self._dirty = True
        self._throttled_redraw()

    def redraw_now(self) -> None:
        self._dirty = False
        self.redraw()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.when_seen.catch_up_soon()

    def redraw_when_training_stops(self, state) -> None:
        """When training stops or pauses, redraw at once (no throttle, no turn): the learner
        sees where it ended without waiting, and the plots agree with each other."""
        state.runStateChanged.connect(self._on_state_run_state_changed)

    def _on_state_run_state_changed(self, run_state: str) -> None:
        if run_state != "running" and self._dirty and self.when_seen.seen():
            self.redraw_now()

    def _redraw_if_visible(self) -> None:
        if self._throttled_redraw.timeout() != self._next_timeout:
            self._throttled_redraw.setTimeout(self._next_timeout)   # (its timer stopped: fired)
        if self._dirty:
            self.when_seen.request(self._redraw_if_dirty)

    def _redraw_if_dirty(self) -> None:
        if self._dirty:
            self.redraw_now()

    def plot_items(self) -> list:
        w = self.plot_widget
        if isinstance(w, pg.PlotWidget):
            return [w.getPlotItem()]
        return [it for it in w.ci.items if isinstance(it, pg.PlotItem)]

    # ---- exporting -----------------------------------------------------------------------------
    def export_title(self) -> str:
        """What the status bar and messages call this view: "the loss plot" (its panel's
        title)."""
        w = self.parentWidget()
        while w is not None and not isinstance(w, QDockWidget):
            w = w.parentWidget()
        title = w.windowTitle() if w is not None else (self.caption.text() or "")
        return f"the {title.lower()} plot" if title else "the plot"

    def export_png(self, path: str) -> list[str]:
        """Write the plot as it is drawn (at least 800 pixels wide) to ``path``; [path]."""
        exporter = pg_exporters.ImageExporter(self.plot_widget.scene())
        exporter.parameters()["width"] = max(int(self.plot_widget.width() * 2), 800)
        atomic_write_bytes(path, png_bytes(exporter.export(toBytes=True)))
        return [str(path)]

    def export_csv(self, path: str) -> list[str]:
        """The plotted data (curves_csv: a row per step, a column per curve, named as its
        legend); one file per plot, ``<name>-1.csv``, ``-2``, ... when there are several.
        The files written."""
        items = self.plot_items()
        if not items:
            raise NNCoreError("this view has no curves to export")
        if len(items) == 1:
            atomic_write_bytes(path, self._plot_item_csv(items[0]))
            return [str(path)]
        base = str(path)[:-4] if str(path).lower().endswith(".csv") else str(path)
        written = []
        for i, item in enumerate(items):
            written.append(f"{base}-{i + 1}.csv")
            atomic_write_bytes(written[-1], self._plot_item_csv(item))
        return written

    def _plot_item_csv(self, item: pg.PlotItem) -> bytes:
        columns = []
        for curve in item.listDataItems():
            x, y = curve.getOriginalDataset()
            if x is not None and y is not None:
                columns.append((curve.name() or f"curve {len(columns) + 1}", x, y))
        if not columns:
            raise NNCoreError("nothing is plotted yet")
        x_name = item.getAxis("bottom").labelText or "x"
        return curves_csv("step" if x_name == "batch" else x_name, columns)

    def export(self, kind: str, path: str) -> list[str]:
        """Export as "png" or "csv" to ``path``: the files written (every exporter says)."""
        return [str(p) for p in (self.export_png if kind == "png" else self.export_csv)(path)]

    def _status_bar(self):
        w = self.parentWidget()
        while w is not None and not isinstance(w, QMainWindow):
            w = w.parentWidget()
        return w.statusBar() if w is not None else None

    def _on_export_clicked(self, kind: str) -> None:
        name = self.plot_widget.objectName() or "plot"
        filters = "PNG images (*.png)" if kind == "png" else "CSV files (*.csv)"
        path, _ = QFileDialog.getSaveFileName(self, f"Export {kind.upper()}", f"{name}.{kind}",
                                              filters)
        if not path:
            return
        if not os.path.splitext(path)[1]:
            path += f".{kind}"
        what = self.export_title()
        headline = f"{what[0].upper()}{what[1:]} cannot be exported"
        from ..messages import show_error
        try:
            written = self.export(kind, path)
        except OSError as e:
            show_error(self, headline, f"{headline}: {path} cannot be written "
                                       f"({e.strerror or e}).")
            return
        except (NNCoreError, ValueError) as e:
            show_error(self, headline, f"{headline}: {str(e).rstrip('.')}.")
            return
        bar = self._status_bar()
        if bar is not None:
            bar.showMessage(f"Exported {what} to {_joined(written)}", 6000)
